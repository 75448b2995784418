"""Splitting an article into passages that know their exact character and line spans.

One rule keeps citations right: every offset is found with a cursor that only moves
forward and is verified against the text, and offsets become lines by binary search
over the newline positions (see ``LineIndex``).

Each paragraph (text between blank lines) is a passage, classified by its shape alone
(line length, punctuation, position; never by particular words):

- A heading is a short single line that does not end like a sentence. It is folded into
  the passage of the paragraph under it (that passage starts on the heading's line), and
  it is the ``context`` embedded with the next passages of its section. An article's
  first paragraph, when it is heading-shaped, is its title: folded the same way, and
  context for every passage of the article. A heading that cannot be folded (the last
  paragraph, or followed by another heading or a caption) is a ``HEADING`` passage.
- A caption is a short paragraph that ends in a fragment of a few words without
  sentence punctuation after a sentence (a photo credit), or a single line without any
  sentence end that is no heading (too long, ending in a symbol, or a byline): a
  ``CAPTION`` passage, which search can rank below content. The limits are below.
- Anything else is ``TEXT``.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from vectorstore.kinds import PassageKind

__all__ = ["Chunk", "Chunker", "LineIndex", "PassageKind", "chunk_text", "embedding_text"]

# Blank lines (possibly holding spaces) separate paragraphs.
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
# A block of this many lines or more, each ending like a sentence, is a paragraph a line.
_LINE_PARAGRAPHS_MIN = 3
# Inside an over-long paragraph: lines, then sentence ends, then clauses, then words.
_SEPARATORS = ["\n", ". ", "! ", "? ", "… ", "; ", ": ", ", ", " ", ""]

# A paragraph ending in one of these (before closing quotes and brackets) ends like a
# sentence or clause; it is no heading and no caption.
_SENTENCE_PUNCTUATION = frozenset(".!?;,:…。！？")
_CLOSERS = "\"'»«“”‘’)]}"
# A sentence end inside a paragraph: "!", "?" or "…", or a full stop after a word of three
# characters or more (not after ordinals, "3. Oktober", or short abbreviations, "Dr.",
# "z. B."), then closing quotes or brackets, then white space.
_SENTENCE_END = re.compile(rf"(?:(?<=\w{{3}})\.|[!?…。！？])[{re.escape(_CLOSERS)}]*\s+")
# Headings (subheads, titles) are one short clause: those of the bundled articles have 2-8
# words and at most 51 characters, and newsrooms keep headlines to about one printed line
# (60-80 characters). A longer line without a sentence end is a caption or a list of names.
_HEADING_MAX_WORDS = 10
_HEADING_MAX_CHARS = 80
# A photo caption is one or two sentences and a credit (the longest in the bundled
# articles has 207 characters); a longer paragraph is content even if it lacks a full stop.
_CAPTION_MAX_CHARS = 300
# A credit after a caption names an agency or photographer, perhaps the people shown
# ("Name Name / AGENCY", "(Foto: AGENCY) Name Name und Name Name"): up to eight words.
_CREDIT_MAX_WORDS = 8


@dataclass(frozen=True)
class Chunk:
    """A passage of a text: ``text[start:end]``, on 1-based lines ``line_start..line_end``.

    Attributes:
        start: Offset of its first character.
        end: Offset after its last character.
        line_start: Line of its first character.
        line_end: Line of its last character.
        kind: What it is.
        context: Text embedded in front of it (see ``embedding_text``): the article's
            title and its section's heading, one a line, unless the passage holds them.
    """

    start: int
    end: int
    line_start: int
    line_end: int
    kind: PassageKind = PassageKind.TEXT
    context: str = ""


def embedding_text(text: str, context: str) -> tuple[str, int]:
    """Returns what is embedded for a passage, and where its text starts in that string.

    Args:
        text: The passage's text.
        context: The passage's ``Chunk.context``.

    Returns:
        ``context``, a newline and ``text`` (``text`` alone without a context), and the
        offset of ``text`` in it.
    """
    if not context:
        return text, 0
    return f"{context}\n{text}", len(context) + 1


class LineIndex:
    """Maps character offsets of a text to 1-based line numbers."""

    def __init__(self, text: str) -> None:
        self._newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(self, offset: int) -> int:
        """Returns the 1-based line holding the character at ``offset``."""
        return bisect.bisect_left(self._newlines, offset) + 1


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """Returns the (start, end) spans of the non-blank paragraphs, whitespace trimmed.

    Paragraphs are separated by blank lines; a block whose lines each end like a sentence
    is one paragraph a line (text saved with one paragraph per line and no blank lines).
    """
    spans = []
    start = 0
    for brk in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = brk.start() if brk else len(text)
        block = text[start:end]
        stripped = block.strip()
        if stripped:
            lead = len(block) - len(block.lstrip())
            spans.extend(_line_paragraphs(text, start + lead, start + lead + len(stripped)))
        if brk:
            start = brk.end()
    return spans


def _line_paragraphs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Returns ``[(start, end)]``, or one span a line if the block's lines are paragraphs.

    They are when there are at least ``_LINE_PARAGRAPHS_MIN`` lines and all but the last
    end in sentence punctuation: hard-wrapped prose breaks lines mid-sentence, lists and
    headings do not end in a full stop.
    """
    lines = text[start:end].split("\n")
    if len(lines) < _LINE_PARAGRAPHS_MIN or not all(
        _ends_sentence(line.rstrip()) for line in lines[:-1]
    ):
        return [(start, end)]
    spans, pos = [], start
    for line in lines:
        stripped = line.strip()
        if stripped:
            first = pos + len(line) - len(line.lstrip())
            spans.append((first, first + len(stripped)))
        pos += len(line) + 1
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


def _ends_sentence(paragraph: str) -> bool:
    """Whether ``paragraph`` ends in sentence punctuation, perhaps inside quotes or brackets."""
    return paragraph.rstrip(_CLOSERS)[-1:] in _SENTENCE_PUNCTUATION


def _is_byline(line: str) -> bool:
    """Whether ``line`` is "<label ending in a lowercase word>: <two or three names>".

    German capitalises nouns, so a name alone ("Nahost: Neue Waffenruhe") proves little;
    a label ending in a verb or preposition ("… kommentiert:", "… by:") before it does.
    """
    label, colon, names = line.partition(": ")
    words = names.split()
    return (
        bool(colon)
        and label.rsplit(" ", 1)[-1][:1].islower()
        and 2 <= len(words) <= 3
        and all(w[:1].isupper() for w in words)
    )


def _is_heading(line: str) -> bool:
    """Whether a single line without a sentence end is short and ends in a word."""
    return (
        len(line) <= _HEADING_MAX_CHARS
        and len(line.split()) <= _HEADING_MAX_WORDS
        and line.rstrip(_CLOSERS)[-1:].isalnum()
        and any(c.isalpha() for c in line)
        and not _is_byline(line)
    )


def _classify(paragraph: str) -> PassageKind:
    """Returns the kind of a paragraph by its own shape (``HEADING``: heading-shaped)."""
    if _ends_sentence(paragraph) or len(paragraph) > _CAPTION_MAX_CHARS:
        return PassageKind.TEXT
    ends = list(_SENTENCE_END.finditer(paragraph))
    if not ends:
        if "\n" in paragraph:  # lines without sentences: a list, an address, verse
            return PassageKind.TEXT
        return PassageKind.HEADING if _is_heading(paragraph) else PassageKind.CAPTION
    credit = paragraph[ends[-1].end() :]
    return PassageKind.CAPTION if len(credit.split()) <= _CREDIT_MAX_WORDS else PassageKind.TEXT


class Chunker:
    """Splits one article into passages, block after block, carrying its title and heading.

    Feed an article's consecutive blocks (each ending at a paragraph break) to ``chunk``;
    the title found in the first block and the current heading reach later blocks. A
    heading that ends a block cannot be folded and becomes a ``HEADING`` passage.
    """

    def __init__(self, chunk_size: int = 1000, chunk_overlap: int = 100) -> None:
        """Prepares the splitter.

        Args:
            chunk_size: Maximum passage length in characters.
            chunk_overlap: Overlap between pieces of one over-long paragraph.

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
        self._size, self._overlap = chunk_size, chunk_overlap
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            separators=_SEPARATORS,
            keep_separator="end",
            strip_whitespace=True,
        )
        self._started = False  # whether the article's first paragraph has been seen
        self._title = ""
        self._heading = ""

    def chunk(self, text: str) -> list[Chunk]:
        """Splits the next block of the article into passages.

        Args:
            text: The block; offsets and lines of the passages are relative to it.

        Returns:
            The passages in text order. ``text[c.start:c.end]`` is each passage's text.
        """
        lines = LineIndex(text)
        paragraphs = _paragraphs(text)
        kinds = [_classify(text[s:e]) for s, e in paragraphs]
        chunks: list[Chunk] = []
        folded: tuple[int, str] | None = None  # start and text of a heading folded below
        for i, (start, end) in enumerate(paragraphs):
            kind, inside = kinds[i], ""  # inside: the heading that the passage's text holds
            first, self._started = not self._started, True
            if folded is not None:
                (start, inside), folded = folded, None
            elif kind is PassageKind.HEADING:
                inside = text[start:end]
                if first:
                    self._title = inside
                else:
                    self._heading = inside
                if self._folds(i, paragraphs, kinds):
                    folded = (start, inside)
                    continue
            context = "\n".join(h for h in (self._title, self._heading) if h and h != inside)
            for s, e in self._spans(text, start, end):
                chunks.append(Chunk(s, e, lines.line_of(s), lines.line_of(e - 1), kind, context))
        return chunks

    def _folds(self, i: int, paragraphs: list[tuple[int, int]], kinds: list[PassageKind]) -> bool:
        """Whether heading ``i`` and the content paragraph under it fit in one passage."""
        return (
            i + 1 < len(paragraphs)
            and kinds[i + 1] is PassageKind.TEXT
            and paragraphs[i + 1][1] - paragraphs[i][0] <= self._size
        )

    def _spans(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Returns the span of a paragraph, or of its pieces if it is longer than a passage."""
        if end - start <= self._size:
            return [(start, end)]
        return _split_paragraph(text, start, end, self._splitter, self._overlap)


def chunk_text(text: str, chunk_size: int = 1000, chunk_overlap: int = 100) -> list[Chunk]:
    """Splits a whole article into passages of at most ``chunk_size`` characters.

    Each paragraph (text between blank lines) that fits is one passage, with a heading
    above it folded in (see the module's docstring); a longer one is split by LangChain's
    recursive splitter at line, sentence, clause and word boundaries, with
    ``chunk_overlap`` characters of overlap between its pieces.

    Args:
        text: The whole article.
        chunk_size: Maximum passage length in characters.
        chunk_overlap: Overlap between pieces of one over-long paragraph.

    Returns:
        The passages in text order. ``text[c.start:c.end]`` is each passage's text.

    Raises:
        ValueError: If the sizes are out of range.
    """
    return Chunker(chunk_size, chunk_overlap).chunk(text)
