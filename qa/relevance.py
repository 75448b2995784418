"""An absolute relevance: the estimated chance that a passage answers the question.

Search scores rank the candidates of one answer (hybrid scores are scaled over the
candidates), so they say nothing across questions. Relevance is a logistic model over
evidence that does not depend on the other candidates: the cosine between the question
and the passage, how far that cosine stands above the question's cosines to the whole
corpus (in standard deviations: some questions are close to everything), and how much of
the question's term weight (IDF) the passage holds.
It is fitted on one half of XQuAD-de (gold paragraphs against passages of an index that
lacks the question's article) and checked on the other half and on questions about the
seeds that no seed answers: ``benchmarks/relevance.py`` fits it, prints the coefficients
below and writes the trade-off curve of the threshold to benchmarks/RESULTS.md.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["FEATURES", "MIN_RELEVANCE", "NOT_ANSWERED", "coverage", "relevance"]

FEATURES = ("cosine", "coverage", "cosine_z")
# Fitted by benchmarks/relevance.py (see its section in benchmarks/RESULTS.md).
_BIAS = 7.323
_WEIGHTS = np.array([-21.208, 5.994, 1.855])
# The threshold below which an answer's best passage is taken as "no article answers":
# chosen there so that 95% of answerable calibration questions keep their best passage.
MIN_RELEVANCE = 0.07
# What qa says when an answer's best passage is below MIN_RELEVANCE.
NOT_ANSWERED = (
    "the indexed articles do not seem to answer this question; "
    "the passages below are only the closest candidates"
)


def coverage(
    idf: Mapping[str, float], weights: Mapping[str, float], terms: frozenset[str]
) -> float:
    """Returns the share of the question's term weight that a passage holds, 0 to 1.

    Args:
        idf: Each question term's IDF (a term the index lacks has the highest IDF).
        weights: Each question term's weight (terms carried over from earlier questions
            weigh less; at most 1 counts).
        terms: The passage's distinct terms.
    """
    total = sum(idf[t] * min(w, 1.0) for t, w in weights.items())
    if total <= 0:
        return 0.0
    return sum(idf[t] * min(w, 1.0) for t, w in weights.items() if t in terms) / total


def relevance(features: np.ndarray) -> np.ndarray:
    """Returns relevance in [0, 1] for rows of ``FEATURES``."""
    z = _BIAS + np.asarray(features, dtype=np.float64) @ _WEIGHTS
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))
