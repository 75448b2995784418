"""Choices several rooms of vectorstore share: article formats, passage and dense index kinds.

They live here, below ``sources`` and ``store``, so that the store can record and check them
without importing the code that reads articles.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["FLAT_MAX", "DenseKind", "Format", "PassageKind"]

# Exact search up to this many vectors (a few ms per question); approximate above it.
FLAT_MAX = 50_000


class Format(StrEnum):
    """A supported article format."""

    TXT = "txt"
    MARKDOWN = "md"
    HTML = "html"
    PDF = "pdf"


class PassageKind(IntEnum):
    """What a passage is, so that search can rank captions and bare headings below content.

    Attributes:
        TEXT: Content: sentences, perhaps with the heading folded in above them.
        CAPTION: A photo caption or credit, a byline, or other non-sentence boilerplate.
        HEADING: A heading that could not be folded into the paragraph under it.
    """

    TEXT = 0
    CAPTION = 1
    HEADING = 2


class DenseKind(StrEnum):
    """The dense index backends; AUTO picks one by the number of passages."""

    AUTO = "auto"
    FLAT = "flat"
    IVF = "ivf"

    def resolve(self, size: int) -> DenseKind:
        """Returns the concrete kind for an index of ``size`` vectors."""
        if self is not DenseKind.AUTO:
            return self
        return DenseKind.FLAT if size <= FLAT_MAX else DenseKind.IVF
