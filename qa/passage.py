"""The result type: a passage with its citation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Passage", "citation_ids"]


@dataclass(frozen=True)
class Passage:
    """A retrieved passage and where it stands in its article.

    Attributes:
        source: The article, as named when it was indexed (``seeds/003_….txt``).
        line_start: First line of the passage in the file (1-based).
        line_end: Last line of the passage in the file (1-based, inclusive).
        text: The passage text, exactly as it stands in those lines.
        score: Rank score; higher is better. Comparable within one answer only.
        relevance: Estimated chance, 0 to 1, that the passage answers the question;
            comparable across questions (see ``qa.MIN_RELEVANCE``).
        highlight_span: Character span in ``text`` of the sentence that best answers
            the question.
    """

    source: str
    line_start: int
    line_end: int
    text: str
    score: float
    relevance: float = 0.0
    highlight_span: tuple[int, int] = (0, 0)

    @property
    def citation(self) -> str:
        """``source:line_start-line_end``."""
        return f"{self.source}:{self.line_start}-{self.line_end}"

    @property
    def highlight(self) -> str:
        """The sentence of ``text`` that best answers the question."""
        start, end = self.highlight_span
        return self.text[start:end]

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-ready dict of the fields, with ``highlight`` for its span."""
        return {
            "source": self.source,
            "line_start": self.line_start,
            "line_end": self.line_end,
            "text": self.text,
            "score": round(float(self.score), 6),
            "relevance": round(float(self.relevance), 6),
            "highlight": self.highlight,
        }

    def metadata(self) -> dict[str, Any]:
        """Returns everything but the text: citation, lines, scores and highlight."""
        return {
            "source": self.source,
            "line_start": self.line_start,
            "line_end": self.line_end,
            "citation": self.citation,
            "score": self.score,
            "relevance": self.relevance,
            "highlight": self.highlight,
        }


def citation_ids(passages: Sequence[Passage]) -> list[str]:
    """Returns ids unique within one answer: each citation, with ``#2``, ``#3`` … on repeats.

    Pieces of one long paragraph on one line share a citation; frameworks that drop
    results with a repeated id (LlamaIndex does) would lose them.
    """
    seen: Counter[str] = Counter()
    ids = []
    for p in passages:
        seen[p.citation] += 1
        ids.append(p.citation if seen[p.citation] == 1 else f"{p.citation}#{seen[p.citation]}")
    return ids
