"""Finding the sentence of a passage that best answers a question."""

from __future__ import annotations

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


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Returns the (start, end) character spans of the sentences of ``text``."""
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
    return [(s, e) for s, e in spans if text[s:e].strip()]


def best_sentence(weights: Mapping[str, float], text: str) -> tuple[int, int]:
    """Returns the span of the sentence of ``text`` that best matches the question.

    A sentence scores the summed weight (IDF) of the question's index terms it contains;
    ties, and a passage that shares no term with the question, go to the earlier sentence.

    Args:
        weights: The question's index terms (``vectorstore.lexical.tokenize``) and weights.
        text: The passage text.
    """
    spans = sentence_spans(text) or [(0, len(text))]
    if len(spans) == 1 or not weights:
        return spans[0]
    return max(
        spans, key=lambda s: sum(weights.get(t, 0.0) for t in set(tokenize(text[s[0] : s[1]])))
    )
