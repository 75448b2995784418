"""The result type: a passage with its citation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qa.relevance import Fit, fit_of

__all__ = ["Passage", "SourceInfo", "SourceLine", "citation_ids"]


@dataclass(frozen=True)
class Passage:
    """A retrieved passage and where it stands in its article.

    Attributes:
        source: The article, as named when it was indexed (``seeds/003_….txt``).
        line_start: First line of the passage in the file, or in its page's text for a
            PDF (1-based).
        line_end: Last line of the passage (1-based, inclusive).
        text: The passage text: exactly as it stands in those lines for ``.txt``; for
            HTML, Markdown and PDF, the readable text of those lines, without markup.
        score: Rank score; higher is better. Comparable within one answer only.
        relevance: Estimated chance, 0 to 1, that the passage answers the question;
            comparable across questions (see ``qa.MIN_RELEVANCE``).
        highlight_span: Character span in ``text`` of the sentence that best answers
            the question.
        page: The PDF page (1-based), or None for other formats.
        title: The article's title, if it names one.
        date: The article's ISO date (``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``), or None.
    """

    source: str
    line_start: int
    line_end: int
    text: str
    score: float
    relevance: float = 0.0
    highlight_span: tuple[int, int] = (0, 0)
    page: int | None = None
    title: str | None = None
    date: str | None = None

    @property
    def citation(self) -> str:
        """``source:line_start-line_end``, or ``source:pPAGE:line_start-line_end``."""
        page = f"p{self.page}:" if self.page is not None else ""
        return f"{self.source}:{page}{self.line_start}-{self.line_end}"

    @property
    def fit(self) -> Fit:
        """The plain label of ``relevance``: good, maybe or poor (see ``qa.Fit``)."""
        return fit_of(self.relevance)

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
            "fit": self.fit.value,
            "highlight": self.highlight,
            "page": self.page,
            "title": self.title,
            "date": self.date,
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
            "fit": self.fit.value,
            "highlight": self.highlight,
            "page": self.page,
            "title": self.title,
            "date": self.date,
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


@dataclass(frozen=True)
class SourceLine:
    """One line of an article's readable text, and the lines of the file it stands on.

    Attributes:
        line_start: First line of the file (or of the PDF page's text).
        line_end: Last line (the same for ``.txt``; an HTML paragraph may span several).
        text: The readable text.
        page: The PDF page, or None.
    """

    line_start: int
    line_end: int
    text: str
    page: int | None = None


@dataclass(frozen=True)
class SourceInfo:
    """What the index knows of one article.

    Attributes:
        source: Its name as cited.
        format: ``txt``, ``md``, ``html`` or ``pdf``.
        title: Its title, if it names one.
        date: Its ISO date, if it has one.
        passages: Its number of passages.
    """

    source: str
    format: str
    title: str | None
    date: str | None
    passages: int
