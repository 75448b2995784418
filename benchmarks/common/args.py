"""Command-line pieces the benchmark scripts share."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from common.paths import DEFAULT_XQUAD

__all__ = ["arg_parser", "choices"]


def arg_parser(doc: str | None, xquad: bool = True) -> argparse.ArgumentParser:
    """Returns a script's parser, described by its docstring's first paragraph.

    Args:
        doc: The script's ``__doc__``.
        xquad: Add ``--xquad`` (the XQuAD-de file).
    """
    out = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    if xquad:
        out.add_argument("--xquad", type=Path, default=DEFAULT_XQUAD, help="xquad.de.json")
    return out


def choices(value: str, allowed: Sequence[str], what: str) -> list[str]:
    """Returns the comma-separated choices of an option, in the order of ``allowed``.

    Args:
        value: The option's value, e.g. ``latency,indexing``.
        allowed: The known choices.
        what: What they are, for the error, e.g. ``parts``.

    Raises:
        SystemExit: A choice is not one of ``allowed``.
    """
    chosen = {v.strip() for v in value.split(",") if v.strip()}
    unknown = chosen - set(allowed)
    if unknown:
        raise SystemExit(
            f"unknown {what}: {', '.join(sorted(unknown))}; choose from {', '.join(allowed)}"
        )
    return [a for a in allowed if a in chosen]
