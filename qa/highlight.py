"""Finding the sentence of a passage that best answers a question."""

from __future__ import annotations

import re

__all__ = ["best_sentence", "sentence_spans"]

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'»«“”„)]*\s+|\n+")
_WORD = re.compile(r"\w+")
_PREFIX = 5  # words sharing their first letters count as the same word (a crude stemmer)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Returns the (start, end) character spans of the sentences of ``text``."""
    spans, start = [], 0
    for m in [*_SENTENCE_END.finditer(text), None]:
        end = m.start() if m else len(text)
        if text[start:end].strip():
            spans.append((start, end))
        if m:
            start = m.end()
    return spans


def _terms(text: str) -> set[str]:
    return {w[:_PREFIX] for w in _WORD.findall(text.casefold()) if len(w) > 2}


def best_sentence(question: str, text: str) -> tuple[int, int]:
    """Returns the span of the sentence in ``text`` sharing most words with ``question``.

    Ties go to the earlier sentence; a passage of one sentence is its own answer.
    """
    spans = sentence_spans(text) or [(0, len(text))]
    query = _terms(question)
    return max(spans, key=lambda s: len(query & _terms(text[s[0] : s[1]])))
