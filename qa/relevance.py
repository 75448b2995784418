"""An absolute relevance: the estimated chance that a passage answers the question.

Search scores rank the candidates of one answer (hybrid scores are scaled over the
candidates), so they say nothing across questions. Relevance is a logistic model over
evidence that does not depend on the other candidates:

- coverage: how much of the question's term weight (IDF) the passage holds, a term
  counting as held when the passage holds its lemma, a synonym or a translation
  (``qa.expansion``) instead;
- whether the question and the passage are in different languages (an English question
  over a German article shares few of its words, so coverage says less);
- the share of the question's numbers (years, counts: terms with a digit) that no
  passage of the index holds at all: "Wer hat die Fußball-WM 2014 gewonnen?" over articles
  that never mention 2014 is about something else. The same for every passage of an answer.
- how far the passage's cosine stands above the question's cosines to the corpus, in
  standard deviations (some questions are close to everything). The corpus's spread is
  shrunk toward a fixed background's, the passages of the calibration articles, weighted
  as ``BACKGROUND_PASSAGES`` passages: in a small corpus on one subject every passage is
  close to an on-subject question, and the background keeps an answer standing out from
  passages that merely share the subject. The background ships for the default model
  (``qa/backgrounds/``); another model uses its corpus alone.

``benchmarks/relevance.py`` fits the model on every question set (XQuAD-de, its English
and paraphrased questions, the news pages and the seeds: gold passages against the other
candidates and against questions asked of articles that do not hold their answer), chooses
both thresholds by the rules it states, writes the background and prints the constants
below; the trade-off per set is in benchmarks/RESULTS.md ("Relevance").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from pathlib import Path

import numpy as np
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_GERMAN

from vectorstore import Moments

__all__ = [
    "BACKGROUNDS",
    "FEATURES",
    "GOOD_RELEVANCE",
    "MIN_RELEVANCE",
    "NOT_ANSWERED",
    "Fit",
    "absent_numbers",
    "background",
    "coverage",
    "cross_lingual",
    "fit_of",
    "language",
    "relevance",
]

FEATURES = ("coverage", "cosine_z", "cross_lingual", "absent_numbers")
BACKGROUND_PASSAGES = 3000  # the background counts as this many passages of the corpus
BACKGROUNDS = Path(__file__).resolve().parent / "backgrounds"
# Fitted by benchmarks/relevance.py (see its section in benchmarks/RESULTS.md).
_BIAS = -7.412
_WEIGHTS = np.array([5.480, 0.801, 0.992, -0.388])
# The threshold below which an answer's best passage is taken as "no article answers":
# chosen there as the highest that keeps 97% of right first passages above it on every
# question set (trust in right answers first; off-topic questions below it come second).
MIN_RELEVANCE = 0.017
# At or above this, a passage is labelled a good fit: chosen there as the lowest relevance
# at which, on every question set, at least 85% of the first passages are the right ones.
GOOD_RELEVANCE = 0.294
# What qa says when an answer's best passage is below MIN_RELEVANCE.
NOT_ANSWERED = (
    "the indexed articles do not seem to answer this question; "
    "the passages below are only the closest candidates"
)


class Fit(StrEnum):
    """A plain label for a passage's relevance, what a reader is shown instead of a number.

    The measured meaning of each label is in benchmarks/RESULTS.md ("Relevance").
    """

    GOOD = "good"  # relevance >= GOOD_RELEVANCE: very likely answers the question
    MAYBE = "maybe"  # MIN_RELEVANCE <= relevance < GOOD_RELEVANCE: may answer it
    POOR = "poor"  # below MIN_RELEVANCE: probably does not answer it


def fit_of(relevance: float) -> Fit:
    """Returns the label of a relevance (see ``Fit``); below MIN_RELEVANCE it is POOR."""
    if relevance < MIN_RELEVANCE:
        return Fit.POOR
    return Fit.GOOD if relevance >= GOOD_RELEVANCE else Fit.MAYBE


# Function words of each language that the other's lacks ("die", "was" and "in" are in
# both). bm25s's English list is short, so question words and auxiliaries are added.
ENGLISH_FUNCTION_WORDS = frozenset(STOPWORDS_EN) | {
    *("what", "which", "who", "whom", "whose", "when", "where", "why", "how", "many"),
    *("much", "did", "does", "do", "has", "have", "had", "been", "were", "are", "from"),
    *("about", "after", "before", "would", "could", "should", "can", "its", "his", "her"),
    *("their", "than"),
}
_FUNCTION_WORDS = {
    "de": frozenset(STOPWORDS_GERMAN) - ENGLISH_FUNCTION_WORDS,
    "en": ENGLISH_FUNCTION_WORDS - frozenset(STOPWORDS_GERMAN),
}
_WORD = re.compile(r"\w+")
_SAMPLE_CHARS = 600  # a passage's language is told from its beginning


# A chat asks about the same passages again: their languages are kept.
@functools.lru_cache(maxsize=4096)
def language(text: str) -> str | None:
    """Returns the language whose function words ``text`` uses most ("de" or "en").

    Only the first ``_SAMPLE_CHARS`` characters are read. None when they use none of
    either, or as many of each: a text in another language, or too short to tell.
    """
    words = _WORD.findall(text[:_SAMPLE_CHARS].lower())
    counts = {
        lang: sum(map(common.__contains__, words)) for lang, common in _FUNCTION_WORDS.items()
    }
    (first, most), (_, second) = sorted(counts.items(), key=lambda item: -item[1])
    return first if most > second else None


def cross_lingual(question: str, passage: str) -> float:
    """Returns 1.0 if the question and the passage are told apart as different languages."""
    asked, written = language(question), language(passage)
    return float(asked is not None and written is not None and asked != written)


@functools.cache
def background(model: str, dim: int) -> Moments | None:
    """Returns the background moments shipped for ``model``, or None if there are none."""
    path = BACKGROUNDS / f"{model}.npy"
    return Moments.load(path, dim) if path.is_file() else None


def coverage(
    idf: Mapping[str, float],
    weights: Mapping[str, float],
    terms: frozenset[str],
    alternatives: Mapping[str, frozenset[str]] | None = None,
) -> float:
    """Returns the share of the question's term weight that a passage holds, 0 to 1.

    Args:
        idf: Each question term's IDF (a term the index lacks has the highest IDF).
        weights: Each question term's weight (terms carried over from earlier questions
            weigh less; at most 1 counts).
        terms: The passage's distinct terms.
        alternatives: For a question term, the index terms that stand for it (its lemma,
            synonyms or translations, ``qa.expansion``): a passage holds the term when it
            holds any of them.
    """
    total = sum(idf[t] * min(w, 1.0) for t, w in weights.items())
    if total <= 0:
        return 0.0
    others = alternatives or {}
    held = sum(
        idf[t] * min(w, 1.0)
        for t, w in weights.items()
        if t in terms or not others.get(t, frozenset()).isdisjoint(terms)
    )
    return held / total


# No tokenizer makes this term: its IDF is the one an index gives a term it lacks.
_NO_TERM = " "


def absent_numbers(terms: Iterable[str], idf: Callable[[list[str]], Mapping[str, float]]) -> float:
    """Returns the share of the question's numbers that occur in no passage of the index.

    Args:
        terms: The question's index terms (with those it carries over from earlier
            questions); those with a digit are its numbers.
        idf: The index's IDF of a list of terms (a term it lacks has the highest).

    Returns:
        0 to 1; 0 when the question holds no number.
    """
    numbers = [t for t in dict.fromkeys(terms) if any(c.isdigit() for c in t)]
    if not numbers:
        return 0.0
    weights = idf([*numbers, _NO_TERM])
    return sum(weights[t] >= weights[_NO_TERM] for t in numbers) / len(numbers)


def relevance(features: np.ndarray) -> np.ndarray:
    """Returns relevance in [0, 1] for rows of ``FEATURES``."""
    z = _BIAS + np.asarray(features, dtype=np.float64) @ _WEIGHTS
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))
