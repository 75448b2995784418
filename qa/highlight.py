"""Finding the sentence of a passage that best answers a question."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from vectorstore.lexical import tokenize

__all__ = ["best_sentence", "sentence_spans"]

# A sentence ends after . ! ? (and any closing quotes or brackets) before whitespace and a
# capital letter or digit, or at a line break ...
_BOUNDARY = re.compile(
    r"(?<=[.!?…])(?P<close>[\"'“”»«)\]]*)\s+(?=[\"'“„»«(\[]?[A-ZÄÖÜ0-9])|\s*\n\s*"
)
# ... unless the dot ends an abbreviation, an initial or an ordinal ("z.", "Dr.", "3.").
_ABBREVIATION = re.compile(
    r"(?:\b(?:z|u|d|v|s|o|bzw|ca|vgl|usw|Nr|Dr|Prof|St|Mio|Mrd|Jh|Jhd|Chr|etc|ggf|inkl|evtl"
    r"|sog|bspw|Abb|Bd|Hrsg|Mr|Mrs|Ms|Jr|Sr|vs|No|Co|Inc|Ltd|[A-Z])|\b\d{1,2})\.$"
)


# Tuned on XQuAD-de (answer-in-highlight), and checked on both halves of its questions.
_MIN_PART = 5  # shortest question term matched as part of a word
_PART_WEIGHT = 0.5
_NUMBER_BONUS = 1.0
_DIGIT = re.compile(r"\d")
_NUMBER_QUESTION = re.compile(
    r"^\W*(?:wie\s*viele?|wann|in welchem jahr|seit wann|bis wann|um wie viel|wie hoch"
    r"|wie lange|wie alt|wie groß|wie weit|how many|how much|when|what year|in what year"
    r"|how long|how old)\b",
    re.IGNORECASE,
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Returns the (start, end) character spans of the sentences of ``text``."""
    return list(_spans(text))


# Passages that answer one question often answer the next: their sentences and terms are
# kept (a few MB at most).
@functools.lru_cache(maxsize=2048)
def _spans(text: str) -> tuple[tuple[int, int], ...]:
    spans, start = [], 0
    for m in _BOUNDARY.finditer(text):
        end = m.end("close") if m.group("close") is not None else m.start()
        if "\n" not in m.group() and _ABBREVIATION.search(
            text[max(start, m.start() - 12) : m.start()]
        ):
            continue
        spans.append((start, end))
        start = m.end()
    spans.append((start, len(text)))
    return tuple((s, e) for s, e in spans if text[s:e].strip())


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


def best_sentence(question: str, weights: Mapping[str, float], text: str) -> tuple[int, int]:
    """Returns the span of the sentence of ``text`` that best answers the question.

    A sentence scores the IDF of the question's terms it holds, half of it for a term that
    is part of one of its words or the other way round (German compounds:
    *Mobilmachung* in *Teilmobilmachung*), and a bonus for holding a number when the
    question asks how many, how much or when. Ties go to the earlier sentence.

    Args:
        question: The question.
        weights: The question's index terms (``vectorstore.lexical.tokenize``) and IDFs.
        text: The passage text.
    """
    spans = _spans(text) or ((0, len(text)),)
    if len(spans) == 1:
        return spans[0]
    numeric = _asks_for_number(question)
    return max(spans, key=lambda s: _sentence_score(weights, text[s[0] : s[1]], numeric))
