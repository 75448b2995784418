"""Results: the sections of ``benchmarks/RESULTS.md``, results files, unchanged files."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common.paths import RESULTS_MD

__all__ = ["publish", "replace_section", "write_if_changed", "write_json"]

_RESULTS_HEADER = (
    "# Benchmark results\n\n"
    "Measured figures for this project. Each section is written by the benchmark script it\n"
    "names and holds the exact command, the machine and the date.\n"
)


def write_if_changed(path: Path, text: str) -> bool:
    """Writes a text file unless it already holds exactly that text.

    Leaving unchanged files alone keeps their modification times, so incremental index
    builds over them cost nothing.

    Returns:
        Whether the file was written.
    """
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def write_json(
    path: Path, data: object, indent: int = 1, ascii_only: bool = False, **kw: Any
) -> None:
    """Writes a results file (its folder made if needed), ending in a newline.

    Args:
        path: The ``.json`` file.
        data: What to write.
        indent: JSON indentation.
        ascii_only: Escape non-ASCII characters.
        **kw: More ``json.dumps`` arguments, e.g. ``default``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=indent, ensure_ascii=ascii_only, **kw)
    path.write_text(text + "\n", encoding="utf-8")


def replace_section(title: str, body: str, path: Path = RESULTS_MD) -> None:
    """Adds or replaces one ``## title`` section of a markdown file, keeping the others.

    The section runs from its heading to the next ``## `` heading (or the end). The file
    is created with a short header if it does not exist.

    Args:
        title: The heading text, without ``## ``.
        body: The section content below the heading.
        path: The markdown file.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else _RESULTS_HEADER
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}[ \t]*\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def publish(section: str, body: str, written: Sequence[str], quick: bool = False) -> None:
    """Writes the script's RESULTS.md section (not for a quick run); says what was written.

    Args:
        section: The ``## `` heading of the script's section.
        body: The section's text.
        written: The results files the script has already written.
        quick: A quick run, whose figures stay out of RESULTS.md.
    """
    written = list(written)
    if not quick:
        replace_section(section, body)
        written.append("benchmarks/RESULTS.md")
    print("wrote " + ", ".join(written))
