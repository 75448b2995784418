"""Finding the sentence of a passage that best answers a question."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence

from vectorstore.sources.sentences import sentence_spans
from vectorstore.sources.terms import tokenize

__all__ = ["COSINE_WEIGHT", "best_sentence", "sentence_scores"]

# Tuned on XQuAD-de (answer-in-highlight), and checked on both halves of its questions.
_MIN_PART = 5  # shortest question term matched as part of a word
_PART_WEIGHT = 0.5
_NUMBER_BONUS = 1.0
# The weight of a sentence's cosine beside its lexical score over the question's IDFs, best
# on XQuAD-de (benchmarks/highlight.py, sentence vectors pooled from the passage). Chosen
# on one half of the questions instead (5 or 12), it gains on the other half too.
COSINE_WEIGHT = 8.0
_DIGIT = re.compile(r"\d")
_NUMBER_QUESTION = re.compile(
    r"^\W*(?:wie\s*viele?|wann|in welchem jahr|seit wann|bis wann|um wie viel|wie hoch"
    r"|wie lange|wie alt|wie groß|wie weit|how many|how much|when|what year|in what year"
    r"|how long|how old)\b",
    re.IGNORECASE,
)


# Passages that answer one question often answer the next: their sentences' terms are
# kept (a few MB at most).
@functools.lru_cache(maxsize=8192)
def _terms(sentence: str) -> tuple[frozenset[str], str]:
    """Returns a sentence's terms, and its terms long enough to match in part, one a line."""
    terms = frozenset(tokenize(sentence))
    return terms, "\n".join(t for t in terms if len(t) >= _MIN_PART - 1)


@functools.lru_cache(maxsize=8192)
def _parts(term: str) -> frozenset[str]:
    """Returns the substrings of ``term`` that could be a sentence's term matched in part."""
    n = len(term)
    return frozenset(term[i:j] for i in range(n) for j in range(i + _MIN_PART - 1, n + 1))


def _asks_for_number(question: str) -> bool:
    return bool(_NUMBER_QUESTION.search(question))


def _sentence_score(weights: Mapping[str, float], sentence: str, numeric: bool) -> float:
    terms, long_terms = _terms(sentence)
    score = 0.0
    for term, weight in weights.items():
        if term in terms:
            score += weight
        elif len(term) >= _MIN_PART and (term in long_terms or not terms.isdisjoint(_parts(term))):
            score += _PART_WEIGHT * weight  # one is part of the other: a compound
    if numeric and _DIGIT.search(sentence):
        score += _NUMBER_BONUS
    return score


def sentence_scores(
    question: str, weights: Mapping[str, float], text: str, spans: Sequence[tuple[int, int]]
) -> list[float]:
    """Returns how well each sentence of ``text`` answers the question, by shared terms.

    A sentence scores the IDF of the question's terms it holds, half of it for a term that
    is part of one of its words or the other way round (German compounds:
    *Mobilmachung* in *Teilmobilmachung*), and a bonus for holding a number when the
    question asks how many, how much or when.

    Args:
        question: The question.
        weights: The question's index terms (``vectorstore.sources.terms.tokenize``) and IDFs.
        text: The passage text.
        spans: The sentences' character spans (``vectorstore.sources.sentences.sentence_spans``).
    """
    numeric = _asks_for_number(question)
    return [_sentence_score(weights, text[s:e], numeric) for s, e in spans]


def best_sentence(
    question: str,
    weights: Mapping[str, float],
    text: str,
    cosines: Sequence[float] | None = None,
) -> tuple[int, int]:
    """Returns the span of the sentence of ``text`` that best answers the question.

    Without ``cosines``, the sentence with the highest ``sentence_scores``. With them, a
    sentence scores its ``sentence_scores`` divided by the sum of the question's IDFs plus
    ``COSINE_WEIGHT`` times its cosine: meaning decides where the words tie or do not
    match, as for a question in another language. Ties go to the earlier sentence.

    Args:
        question: The question.
        weights: The question's index terms (``vectorstore.sources.terms.tokenize``) and IDFs.
        text: The passage text.
        cosines: The question vector's cosine with each sentence's vector, sentences as
            ``vectorstore.sources.sentences.sentence_spans(text)`` gives them (e.g. from
            ``Embedder.encode_passages_with_spans``); None when there are none.
    """
    spans = sentence_spans(text) or [(0, len(text))]
    if len(spans) == 1:
        return spans[0]
    scores = sentence_scores(question, weights, text, spans)
    if cosines is not None:
        total = sum(weights.values()) or 1.0
        scores = [s / total + COSINE_WEIGHT * c for s, c in zip(scores, cosines, strict=True)]
    return spans[scores.index(max(scores))]
