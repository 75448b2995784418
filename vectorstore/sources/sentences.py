"""Splitting a passage into sentences, by character spans.

qa marks the sentence of a passage that best answers a question; the builder needs the
same sentences at index time, so the splitter lives here (``vectorstore`` imports nothing
from ``qa``).
"""

from __future__ import annotations

import functools
import re

__all__ = ["sentence_spans"]

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
    """Returns the (start, end) character spans of the sentences of ``text``.

    Spans are in text order and do not overlap; stretches of whitespace alone are no
    sentence, so an empty or blank text has no spans.
    """
    return list(_spans(text))


# Passages that answer one question often answer the next: their sentences are kept.
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
