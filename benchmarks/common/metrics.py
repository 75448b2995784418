"""Scoring: the gold passage's rank, hit@k, MRR@10, answer in highlight, recall."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from common.corpora import Hit, Question, normalise
from common.timing import percentiles_ms

__all__ = [
    "K",
    "answer_in_highlight",
    "gold_rank",
    "is_gold",
    "rank_figures",
    "rank_of",
    "recall",
    "score",
]

K = 10  # ranks are counted within the top 10 (MRR@10)


def is_gold(hit: Any, file: str, lines: Sequence[int]) -> bool:
    """Whether a passage is from the gold file and overlaps the gold paragraph.

    Args:
        hit: A passage (``source``, ``line_start``, ``line_end``).
        file: The gold file's name (no folder).
        lines: The gold paragraph's first and last line.
    """
    first, last = lines
    return Path(hit.source).name == file and hit.line_start <= last and hit.line_end >= first


def gold_rank(hits: Sequence[Any], file: str, lines: Sequence[int], k: int = K) -> int | None:
    """Returns the 1-based rank of the first passage of the gold file overlapping its lines.

    Args:
        hits: Passages (``source``, ``line_start``, ``line_end``), best first.
        file: The gold file's name (no folder).
        lines: The gold paragraph's first and last line.
        k: Only the top ``k`` count.

    Returns:
        The rank, or None if no passage of the top ``k`` is gold.
    """
    for rank, hit in enumerate(hits[:k], 1):
        if is_gold(hit, file, lines):
            return rank
    return None


def rank_of(hits: Sequence[Hit], question: Question) -> int | None:
    """Returns the 1-based rank of the first hit within the top ``K``, or None."""
    return gold_rank(hits, question.file, question.lines)


def rank_figures(ranks: Sequence[int | None]) -> dict[str, float]:
    """Returns hit@1, hit@5 and MRR@10 of gold ranks (None: not in the top 10; 0 if none)."""
    n = max(len(ranks), 1)
    found = [r for r in ranks if r is not None]
    return {
        "hit@1": sum(r == 1 for r in found) / n,
        "hit@5": sum(r <= 5 for r in found) / n,
        "mrr@10": sum(1 / r for r in found) / n,
    }


def answer_in_highlight(hits: Sequence[Hit], question: Question) -> bool | None:
    """Whether the top passage's highlight contains a gold answer (None: no highlight)."""
    if not hits:
        return False
    if hits[0].highlight is None:
        return None
    shown = normalise(hits[0].highlight)
    return any(normalise(answer) in shown for answer in question.answers)


def score(
    rankings: Sequence[Sequence[Hit]],
    questions: Sequence[Question],
    latencies: Sequence[float] = (),
) -> dict[str, object]:
    """Returns hit@1, hit@5, MRR@10, answer-in-highlight and latency figures.

    Args:
        rankings: The returned passages per question, best first.
        questions: The questions, in the same order.
        latencies: Single-query durations in seconds (may be empty).
    """
    ranks = [rank_of(hits, q) for hits, q in zip(rankings, questions, strict=True)]
    shown = [answer_in_highlight(hits, q) for hits, q in zip(rankings, questions, strict=True)]
    n = len(questions)
    p50, p95 = percentiles_ms(latencies)
    return {
        "n": n,
        **rank_figures(ranks),
        "answer_in_highlight": (
            None if any(s is None for s in shown) else sum(bool(s) for s in shown) / n
        ),
        "p50_ms": p50 if latencies else None,
        "p95_ms": p95 if latencies else None,
        "latency_n": len(latencies),
        "ranks": dict(zip([q.qid for q in questions], ranks, strict=True)),
    }


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    """Returns the mean share of each row of ``exact`` that ``found`` holds (-1: none)."""
    return float(
        np.mean([len(set(e) & set(f[f >= 0])) / len(e) for e, f in zip(exact, found, strict=True)])
    )
