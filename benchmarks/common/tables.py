"""Markdown tables and the numbers in them."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["fmt", "markdown_table", "table_head"]


def fmt(value: object, digits: int = 1, sep: str = ",") -> str:
    """Returns a table cell: a number with ``digits`` decimals, ``–`` for None.

    Args:
        value: The figure.
        digits: Decimals of a float.
        sep: Thousands separator of a number (``""``: none).
    """
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:{sep}.{digits}f}"
    if isinstance(value, int):
        return f"{value:{sep}}"
    return str(value)


def table_head(head: Sequence[str]) -> list[str]:
    """Returns a markdown table's heading line and its rule."""
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]


def markdown_table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Returns a markdown table; cells that are not text go through ``fmt``."""
    lines = table_head(head)
    lines += [
        "| " + " | ".join(c if isinstance(c, str) else fmt(c) for c in r) + " |" for r in rows
    ]
    return "\n".join(lines)
