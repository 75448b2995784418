"""Combining dense and lexical evidence into one ranking."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

__all__ = ["Fusion", "SearchMode", "fuse", "unit"]


class SearchMode(StrEnum):
    """Which evidence ranks the passages."""

    HYBRID = "hybrid"
    DENSE = "dense"
    LEXICAL = "lexical"


@dataclass(frozen=True)
class Fusion:
    """How hybrid search weighs its two signals (tuned on XQuAD-de, see benchmarks/).

    Attributes:
        lexical_weight: Weight of the BM25 score, each signal scaled to [0, 1] over the
            candidates; the dense cosine gets ``1 - lexical_weight``.
        candidates: How many candidates each signal contributes before fusion.
        caption_weight: Factor on the score of captions, bylines and bare headings, so
            that they rank below content that matches as well (measured on the seeds).
        sentence_weight: Weight of the passage's best sentence's cosine to the question,
            scaled to [0, 1] over the candidates and added to the fused score: a passage
            whose one sentence says what is asked beats one that is merely on the subject.
        answer_type_weight: Factor on the score of a passage that holds no number when
            the question asks how many, or no date when it asks when
            (``qa.answer_type``).
        source_weight: Added to the fused score of the passages of the article that
            answered the previous question, times how strongly the question depends on
            it (``qa.conversation.dependence``): a follow-up ("Und was passiert, wenn er
            gewinnt?") is most often about the article just cited. That article's
            passages join the candidates. 0 turns it off.
    """

    lexical_weight: float = 0.3
    candidates: int = 20
    caption_weight: float = 0.9
    sentence_weight: float = 0.3
    answer_type_weight: float = 1.0
    source_weight: float = 0.2


def unit(x: np.ndarray) -> np.ndarray:
    """Returns ``x`` scaled to [0, 1] (all zeros if it is constant)."""
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def fuse(dense: np.ndarray, lexical: np.ndarray, fusion: Fusion) -> np.ndarray:
    """Returns fused scores of candidates from their dense and lexical scores."""
    w = fusion.lexical_weight
    return (1 - w) * unit(dense) + w * unit(lexical)
