"""Timing: percentiles, cold searches, and alternatives measured in turn."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
from tqdm import tqdm

__all__ = [
    "cold_search",
    "interleaved",
    "percentiles_ms",
    "rotate",
    "spread",
    "timed",
]

T = TypeVar("T")


def percentiles_ms(seconds: Sequence[float]) -> tuple[float, float]:
    """Returns the p50 and p95 of durations, in milliseconds.

    Args:
        seconds: Durations in seconds.
    """
    if not seconds:
        return float("nan"), float("nan")
    ms = np.asarray(seconds, dtype=float) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def cold_search(index: Any, question: str, k: int, mode: Any = None, **options: Any) -> list[Any]:
    """Searches as for a new question, whose vector qa has not kept from a conversation.

    Latency figures must include embedding the question.

    Args:
        index: A ``qa.Index``.
        question: The question.
        k: How many passages.
        mode: The search mode (the index's default if None).
        **options: More ``search`` arguments, e.g. ``sources``.
    """
    from qa.index import clear_question_cache

    clear_question_cache()
    if mode is not None:
        options["mode"] = mode
    return index.search(question, k=k, **options)


def spread(items: Sequence[T], n: int) -> list[T]:
    """Returns ``n`` items spread evenly over the sequence (all of them if fewer)."""
    if n >= len(items):
        return list(items)
    return [items[i * len(items) // n] for i in range(n)]


def rotate(items: Sequence[T], i: int) -> list[T]:
    """Returns the items starting at the ``i``-th (cyclically): the order of turn ``i``."""
    i %= len(items)
    return [*items[i:], *items[:i]]


def interleaved(
    calls: Mapping[str, Callable[[T], object]],
    items: Sequence[T],
    desc: str | None = None,
    turn: int = 0,
) -> dict[str, list[float]]:
    """Times every call on every item, the calls taking turns in a rotating order.

    On a shared machine, alternatives timed in turn see the same load, so their ratio
    holds while the absolute figures move.

    Args:
        calls: The alternatives by name.
        items: What each call is given, one at a time.
        desc: A progress bar label (no bar if None).
        turn: Where the rotation starts (e.g. the round, so rounds start in turn too).

    Returns:
        Each call's durations in seconds, in the items' order.
    """
    names = list(calls)
    latencies: dict[str, list[float]] = {name: [] for name in names}
    steps = items if desc is None else tqdm(items, desc=desc, unit="q", disable=None)
    for i, item in enumerate(steps):
        for name in rotate(names, i + turn):
            start = time.perf_counter()
            calls[name](item)
            latencies[name].append(time.perf_counter() - start)
    return latencies


def timed(search: Callable[[str], object], questions: Sequence[str], label: str) -> list[float]:
    """Times single searches (after a short warm-up); returns durations in seconds."""
    for q in questions[:3]:
        search(q)
    durations = []
    for q in tqdm(questions, desc=f"latency {label}", unit="q", leave=False, disable=None):
        start = time.perf_counter()
        search(q)
        durations.append(time.perf_counter() - start)
    return durations
