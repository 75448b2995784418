"""Checking what callers pass to a search: questions, k, thresholds and source filters."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from functools import lru_cache

from vectorstore.sources.formats import Format

__all__ = [
    "MAX_K",
    "MAX_QUESTION_CHARS",
    "check_date",
    "check_formats",
    "check_k",
    "check_min_relevance",
    "check_question",
    "check_sources",
    "match_sources",
]

# Embedding models read about 512 tokens (some 2,000 characters); longer questions cost
# seconds to embed and would be cut anyway.
MAX_QUESTION_CHARS = 2000
MAX_K = 1000


def check_question(question: object) -> str:
    """Returns the question if it is a non-empty string of at most ``MAX_QUESTION_CHARS``.

    Raises:
        ValueError: Naming what is wrong with it.
    """
    if not isinstance(question, str):
        raise ValueError(f"the question must be a string, not {type(question).__name__}")
    if not question.strip():
        raise ValueError("the question is empty: ask something, e.g. 'Wer hat die Wahl gewonnen?'")
    if len(question) > MAX_QUESTION_CHARS:
        raise ValueError(
            f"the question is too long ({len(question):,} characters; "
            f"at most {MAX_QUESTION_CHARS:,}): ask about one thing"
        )
    return question


def check_k(k: object) -> int:
    """Returns ``k`` (capped at ``MAX_K``) if it is a whole number of at least 1.

    Raises:
        ValueError: If it is not.
    """
    if isinstance(k, bool) or not isinstance(k, int):
        raise ValueError(f"k must be a whole number, not {k!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    return min(k, MAX_K)


def check_min_relevance(value: object) -> float | None:
    """Returns the relevance threshold as a float, or None for no threshold.

    Raises:
        ValueError: If it is not a number from 0 to 1.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"min_relevance must be a number from 0 to 1, not {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"min_relevance must be from 0 to 1, not {value}")
    return float(value)


def check_sources(value: object) -> tuple[str, ...] | None:
    """Returns the source patterns as a tuple, or None for all sources.

    A single string is one pattern; None or an empty list means every source.

    Raises:
        ValueError: If it is not a list of non-empty strings.
    """
    if value is None:
        return None
    patterns = (value,) if isinstance(value, str) else value
    if not isinstance(patterns, Sequence | set | frozenset):
        raise ValueError(f"sources must be a list of glob patterns, not {value!r}")
    patterns = tuple(patterns)
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern.strip():
            raise ValueError(f"sources must be non-empty glob patterns, not {pattern!r}")
    return patterns or None


_GLOB_CHARS = re.compile(r"[*?\[]")


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    """Compiles a path glob: ``*`` and ``?`` stay within a folder, ``**`` crosses folders."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = re.escape(body[1:] if negate else body).replace(r"\-", "-")
            out.append(f"[{'^' if negate else ''}{body}]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def match_sources(patterns: Sequence[str], names: Sequence[str]) -> list[int]:
    """Returns the positions of the names that match any of the glob patterns, in order.

    Patterns match whole source names as cited (``seeds/003_*``, ``archive/2022/**``).

    Raises:
        ValueError: Naming a pattern that matches no source.
    """
    matched: set[int] = set()
    positions: dict[str, int] | None = None
    for pattern in patterns:
        if not _GLOB_CHARS.search(pattern):  # a name: looked up, not matched against all
            positions = positions or {name: i for i, name in enumerate(names)}
            hits = [positions[pattern]] if pattern in positions else []
        else:
            regex = _glob(pattern)
            hits = [i for i, name in enumerate(names) if regex.fullmatch(name)]
        if not hits:
            folder = pattern.rstrip("/")
            hint = "" if "*" in pattern else f"; for a folder's articles use '{folder}/**'"
            raise ValueError(f"the source pattern {pattern!r} matches no indexed source{hint}")
        matched.update(hits)
    return sorted(matched)


_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def check_date(value: object, name: str, *, end: bool = False) -> str | None:
    """Returns a date bound as ``YYYY-MM-DD``, or None for no bound.

    A year or month stands for its first day, or with ``end`` for its last day, so that
    ``until="2022"`` reaches through 31 December 2022.

    Args:
        value: None, a ``datetime.date``, or ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.
        name: The argument's name, for messages.
        end: Whether this is an upper bound.

    Raises:
        ValueError: If it is not a valid date in one of those forms.
    """
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()[:10]
    match = _DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{name} must be a date as YYYY-MM-DD, YYYY-MM or YYYY, not {value!r}")
    year, month, day = match.groups()
    try:
        first = dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise ValueError(f"{name} is not a valid date: {value!r}") from None
    if end and day is None:
        month_end = int(month or 12)
        last = calendar.monthrange(first.year, month_end)[1]
        return dt.date(first.year, month_end, last).isoformat()
    return first.isoformat()


def check_formats(value: object) -> tuple[Format, ...]:
    """Returns the formats to index (all for None), from names such as ``"md"``.

    Raises:
        ValueError: Naming an unknown format.
    """
    if value is None:
        return tuple(Format)
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, Sequence | set | frozenset) or not names:
        raise ValueError(f"formats must be a list of format names, not {value!r}")
    formats = []
    for name in names:
        try:
            formats.append(Format(str(name).strip().lower().lstrip(".")))
        except ValueError:
            known = ", ".join(f.value for f in Format)
            raise ValueError(f"unknown format {name!r}; the formats are {known}") from None
    return tuple(dict.fromkeys(formats))
