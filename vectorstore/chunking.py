"""Splitting an article into passages that know their exact character and line spans.

One rule keeps citations right: every offset is found with a cursor that only moves
forward and is verified against the text, and offsets become lines by binary search
over the newline positions (see ``LineIndex``).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

__all__ = ["Chunk", "LineIndex", "chunk_text"]

# Blank lines (possibly holding spaces) separate paragraphs.
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
# Inside an over-long paragraph: lines, then sentence ends, then clauses, then words.
_SEPARATORS = ["\n", ". ", "! ", "? ", "… ", "; ", ": ", ", ", " ", ""]


@dataclass(frozen=True)
class Chunk:
    """A passage of a text: ``text[start:end]``, on 1-based lines ``line_start..line_end``."""

    start: int
    end: int
    line_start: int
    line_end: int


class LineIndex:
    """Maps character offsets of a text to 1-based line numbers."""

    def __init__(self, text: str) -> None:
        self._newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(self, offset: int) -> int:
        """Returns the 1-based line holding the character at ``offset``."""
        return bisect.bisect_left(self._newlines, offset) + 1


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """Returns the (start, end) spans of the non-blank paragraphs, whitespace trimmed."""
    spans = []
    start = 0
    for brk in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = brk.start() if brk else len(text)
        block = text[start:end]
        stripped = block.strip()
        if stripped:
            lead = len(block) - len(block.lstrip())
            spans.append((start + lead, start + lead + len(stripped)))
        if brk:
            start = brk.end()
    return spans


def _split_paragraph(
    text: str, start: int, end: int, splitter: RecursiveCharacterTextSplitter, overlap: int
) -> list[tuple[int, int]]:
    """Splits ``text[start:end]`` with the splitter and locates every piece exactly."""
    spans: list[tuple[int, int]] = []
    for piece in splitter.split_text(text[start:end]):
        # The splitter carries at most ``overlap`` characters of the previous piece into
        # the next, so the next piece starts no earlier than ``prev_end - overlap``, and
        # after the previous start: the cursor only moves forward.
        lower = max(spans[-1][0] + 1, spans[-1][1] - overlap) if spans else start
        pos = text.find(piece, lower, end)
        if pos < 0:
            raise AssertionError(f"splitter returned text not found after offset {lower}")
        spans.append((pos, pos + len(piece)))
    return spans


def chunk_text(text: str, chunk_size: int = 1000, chunk_overlap: int = 100) -> list[Chunk]:
    """Splits ``text`` into passages of at most ``chunk_size`` characters.

    Each paragraph (text between blank lines) that fits is one passage; a longer one is
    split by LangChain's recursive splitter at line, sentence, clause and word
    boundaries, with ``chunk_overlap`` characters of overlap between its pieces.

    Args:
        text: The whole article.
        chunk_size: Maximum passage length in characters.
        chunk_overlap: Overlap between pieces of one over-long paragraph.

    Returns:
        The passages in text order. ``text[c.start:c.end]`` is each passage's text.

    Raises:
        ValueError: If the sizes are out of range.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
    if not 0 <= chunk_overlap < chunk_size:
        raise ValueError(
            f"chunk_overlap must be at least 0 and below chunk_size ({chunk_size}), "
            f"not {chunk_overlap}"
        )
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        separators=_SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )
    lines = LineIndex(text)
    chunks = []
    for start, end in _paragraphs(text):
        if end - start <= chunk_size:
            spans = [(start, end)]
        else:
            spans = _split_paragraph(text, start, end, splitter, chunk_overlap)
        for s, e in spans:
            chunks.append(Chunk(s, e, lines.line_of(s), lines.line_of(e - 1)))
    return chunks
