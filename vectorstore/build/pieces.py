"""The per-source work of a build, which both engines run: read, chunk and tokenise a file.

``read_source`` turns a new or changed file into ``Piece``s (passage rows, terms, and the
texts to embed with their sentence spans) and an ``Article``. The local engine
(``vectorstore.build.builder``) runs it in this process; the Ray engine
(``vectorstore.build.ray``) runs it in Ray tasks, so that both give the same passages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vectorstore.kinds import DenseKind, Format
from vectorstore.model.embedding import DEFAULT_MODEL
from vectorstore.sources.chunking import Chunk, Chunker, embedding_text
from vectorstore.sources.files import SkippedFile, SourceFile, read_text, scan
from vectorstore.sources.formats import Block, Document, UnreadableFile, parse, txt_metadata
from vectorstore.sources.sentences import sentence_spans
from vectorstore.sources.terms import tokenize
from vectorstore.store.base import LINE_DTYPE, PASSAGE_DTYPE

__all__ = ["Article", "BuildSettings", "Piece", "check_source", "read_source"]

_BLOCK_CHARS = 1 << 20  # text decoded and chunked at a time


@dataclass(frozen=True)
class BuildSettings:
    """How passages are made and embedded; recorded in the manifest.

    Attributes:
        model: Embedding model (a packaged model name, folder, or cached model name).
        chunk_size: Maximum passage length in characters.
        chunk_overlap: Overlap between pieces of one over-long paragraph.
        dense_kind: The dense index backend; AUTO: exact up to ``FLAT_MAX`` passages.
        formats: The formats whose files are taken from folders (files named on their
            own are always taken). Files of other formats already indexed are dropped.
    """

    model: str = DEFAULT_MODEL
    chunk_size: int = 1000
    chunk_overlap: int = 100
    dense_kind: DenseKind = DenseKind.AUTO
    formats: tuple[Format, ...] = tuple(Format)


@dataclass(frozen=True)
class Piece:
    """A run of one source's readable text, chunked and tokenised, perhaps embedded.

    Attributes:
        data: The bytes it adds to the source's text in documents.bin.
        rows: One ``PASSAGE_DTYPE`` row per passage, with source 0 and byte offsets
            counted from the start of the source's text.
        terms: Each passage's BM25 terms.
        texts: What is embedded for each passage (its context in front of its text).
        spans: Each text's sentence spans, whose vectors the model may pool.
        vectors: The passages' vectors once embedded, else None.
        sentence_vectors: Once embedded, each passage's sentence vectors, or None for a
            model without them.
    """

    data: bytes
    rows: np.ndarray
    terms: list[list[str]]
    texts: list[str] = field(default_factory=list)
    spans: list[list[tuple[int, int]]] = field(default_factory=list)
    vectors: np.ndarray | None = None
    sentence_vectors: list[np.ndarray] | None = None


@dataclass(frozen=True)
class Article:
    """What a source's record holds beyond its pieces; ``read_source`` yields it last.

    Attributes:
        sha256: Hash of the bytes read (the file may have changed since it was scanned).
        title: Its title, if the file says it.
        date: Its date (ISO), if the file says it.
        lines: The line map (``LINE_DTYPE``) of an HTML, Markdown or PDF file; None for
            ``.txt``, whose lines are its own.
    """

    sha256: str
    title: str | None
    date: str | None
    lines: np.ndarray | None = None


@dataclass(frozen=True)
class _Lines:
    """Maps the lines of a block of readable text to the lines a passage cites.

    Attributes:
        block: The parsed block, whose line map gives the file's lines; None for ``.txt``
            text, whose lines are the file's own.
        base: For ``.txt`` text, the file's lines before the block.
    """

    block: Block | None
    base: int = 0

    @property
    def page(self) -> int:
        """The block's PDF page, or 0."""
        return (self.block.page or 0) if self.block else 0

    def cite(self, chunk: Chunk) -> tuple[int, int]:
        """Returns the first and last line a chunk of the block cites."""
        if self.block is None:
            return self.base + chunk.line_start, self.base + chunk.line_end
        lines = self.block.lines
        return lines[chunk.line_start - 1][0], lines[chunk.line_end - 1][1]


def read_source(source: SourceFile, settings: BuildSettings) -> Iterator[Piece | Article]:
    """Reads, chunks and tokenises a new or changed source; both engines run this.

    A ``.txt`` file is decoded in paragraph-aligned blocks, one piece each, so that memory
    stays bounded; one ``Chunker`` reads all its blocks, so the title and heading carry
    across them. An HTML, Markdown or PDF file is parsed whole, one piece a block (a PDF
    page); its blocks are stored one after the other, as lines.

    Args:
        source: The scanned file.
        settings: The chunking.

    Yields:
        Its pieces, not embedded, then its ``Article``.

    Raises:
        SkippedFile: If an HTML, Markdown or PDF file cannot be parsed (before any piece).
    """
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    size = 0
    if source.format is Format.TXT:
        digest = hashlib.sha256()
        line_base = 0
        title = date = None
        for block in read_text(source, digest, _BLOCK_CHARS):
            if not size:
                title, date = txt_metadata(block)
            piece = _piece(block, chunker, size, _Lines(None, line_base))
            size += len(piece.data)
            line_base += block.count("\n")
            yield piece
        yield Article(digest.hexdigest(), title, date)
        return
    data = source.path.read_bytes()
    document = _parse(source, data)
    for i, block in enumerate(document.blocks):
        piece = _piece(block.text, chunker, size, _Lines(block), b"\n" if i else b"")
        size += len(piece.data)
        yield piece
    lines = np.array(
        [(b.page or 0, *pair) for b in document.blocks for pair in b.lines], dtype=LINE_DTYPE
    )
    yield Article(hashlib.sha256(data).hexdigest(), document.title, document.date, lines)


def _parse(source: SourceFile, data: bytes) -> Document:
    """Parses an HTML, Markdown or PDF source from its bytes.

    Raises:
        SkippedFile: If it cannot be parsed, naming the source and the reason.
    """
    try:
        return parse(source.path, data, source.format, source.encoding)
    except UnreadableFile as exc:
        raise SkippedFile(f"{source.name}: {exc}") from None


def check_source(name: str, path: Path) -> None:
    """Checks that a build would index a file, as it reads it (e.g. an upload).

    Args:
        name: The source name, for messages.
        path: The file; its suffix says its format.

    Raises:
        SkippedFile: If a build would skip the file, with the reason it would give.
    """
    source = scan(name, path)
    if source.format is not Format.TXT:  # text is taken as it is; the others are parsed
        _parse(source, path.read_bytes())


def _piece(
    block: str, chunker: Chunker, start: int, lines: _Lines, separator: bytes = b""
) -> Piece:
    """Chunks and tokenises one block of readable text.

    Args:
        block: The text.
        chunker: The article's chunker.
        start: Where the piece starts in the source's text, in bytes.
        lines: Maps the block's lines to the lines cited.
        separator: Bytes stored in front of the block.
    """
    chunks = chunker.chunk(block)
    rows = np.zeros(len(chunks), dtype=PASSAGE_DTYPE)
    terms, texts, spans = [], [], []
    byte_pos, char_pos = start + len(separator), 0
    for i, c in enumerate(chunks):
        byte_pos += len(block[char_pos : c.start].encode("utf-8"))
        char_pos = c.start
        text = block[c.start : c.end]
        end = byte_pos + len(text.encode("utf-8"))
        rows[i] = (0, *lines.cite(c), byte_pos, end, c.kind, lines.page)
        terms.append(tokenize(text))
        embedded, at = embedding_text(text, c.context)
        texts.append(embedded)
        spans.append([(at + a, at + b) for a, b in sentence_spans(text)])
    return Piece(separator + block.encode("utf-8"), rows, terms, texts, spans)
