"""Checking what callers pass to a search: questions, k and thresholds."""

from __future__ import annotations

__all__ = ["MAX_K", "MAX_QUESTION_CHARS", "check_k", "check_min_relevance", "check_question"]

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
