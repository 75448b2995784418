"""Building and updating an index folder incrementally, with bounded memory.

Every file is first scanned (hashed and its encoding found, in blocks). Unchanged files
(same bytes, chunking and model) keep their text, passages, vectors and terms, copied
from the previous generation; new and changed files are decoded in paragraph-aligned
blocks, chunked, tokenised and embedded in batches as they stream by; deleted files are
dropped. A passage is embedded with its context (title and heading, see
``vectorstore.chunking``) in front; its BM25 terms are those of its own text. The result
is published as a new generation (see ``vectorstore.store``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from vectorstore.backend import Store, open_store
from vectorstore.chunking import Chunk, Chunker, embedding_text
from vectorstore.dense import DenseKind, create_dense
from vectorstore.embedding import DEFAULT_MODEL, Embedder, get_embedder
from vectorstore.errors import REBUILD_HINT, IndexMismatchError, SourceError
from vectorstore.formats import Block, Format, UnreadableFile, parse, txt_metadata
from vectorstore.lexical import LexicalIndex, tokenize
from vectorstore.moments import Moments
from vectorstore.sentences import sentence_spans
from vectorstore.sources import SkippedFile, SourceFile, discover, read_text, scan
from vectorstore.store import (
    DENSE,
    DOCUMENTS,
    LINE_DTYPE,
    LINES,
    MOMENTS,
    PASSAGE_DTYPE,
    PASSAGES,
    SENTENCE_DTYPE,
    SENTENCE_OFFSETS,
    SENTENCE_VECTORS,
    VECTORS,
    Manifest,
    Snapshot,
    SourceRecord,
)

__all__ = ["BuildReport", "BuildSettings", "build_index"]

log = logging.getLogger("qa")

_EMBED_BATCH = 256  # passages embedded together while streaming
_BLOCK_CHARS = 1 << 20  # text decoded and chunked at a time
_COPY_BYTES = 1 << 24


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
class BuildReport:
    """What a build did.

    Attributes:
        added: Sources indexed for the first time.
        changed: Sources whose content changed and were re-embedded.
        removed: Sources dropped because their files are gone.
        unchanged: Sources kept without re-embedding.
        skipped: (file, reason) for files that could not be indexed.
        embedded: Number of passages embedded.
        seconds: Wall time of the build.
        published: Whether a new generation was published (False when nothing changed).
    """

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    embedded: int = 0
    seconds: float = 0.0
    published: bool = False


class _NpyWriter:
    """Appends float rows to a ``.npy`` file whose header is written when it closes."""

    _HEADER = 128

    def __init__(self, path: Path, dim: int, dtype: str = "<f4") -> None:
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._file.write(b"\0" * self._HEADER)
        self.dim, self.rows, self._dtype = dim, 0, dtype

    def write(self, rows: np.ndarray) -> None:
        self._file.write(np.ascontiguousarray(rows, dtype=self._dtype).tobytes())
        self.rows += len(rows)

    def close(self) -> None:
        shape = f"({self.rows}, {self.dim})"
        header = f"{{'descr': '{self._dtype}', 'fortran_order': False, 'shape': {shape}, }}"
        body = header.encode("latin-1").ljust(self._HEADER - 10 - 1) + b"\n"
        self._file.seek(0)
        self._file.write(b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body)
        self._file.close()


class _Generation:
    """Writes one generation's files while sources stream through it, in source order."""

    def __init__(self, tmp: Path, embedder: Embedder, settings: BuildSettings, bar: tqdm) -> None:
        self._tmp, self._embedder, self._settings, self._bar = tmp, embedder, settings, bar
        self._docs = open(tmp / DOCUMENTS, "wb")  # noqa: SIM115 - closed in finish()
        self._vectors = _NpyWriter(tmp / VECTORS, embedder.dim)
        self._sentences = _NpyWriter(tmp / SENTENCE_VECTORS, embedder.dim, SENTENCE_DTYPE)
        self._sentence_counts: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []
        self._tokens: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []
        self._vocab: dict[str, int] = {}
        self._remap: np.ndarray | None = None
        self._pending: list[tuple[str, list[tuple[int, int]]]] = []  # text, sentence spans
        self._lines: list[np.ndarray] = []  # line maps of HTML, Markdown and PDF articles
        self.line_rows = 0
        self.records: list[SourceRecord] = []
        self.offset = 0  # bytes written to documents.bin
        self.passages = 0  # rows written, embedded or pending
        self.embedded = 0

    def _term_ids(self, terms: list[str]) -> np.ndarray:
        vocab = self._vocab
        return np.fromiter(
            (vocab.setdefault(t, len(vocab)) for t in terms), dtype=np.int32, count=len(terms)
        )

    def _flush(self) -> None:
        if self._pending:
            texts, spans = zip(*self._pending, strict=True)
            vectors, sentences = self._embedder.encode_passages_with_spans(texts, spans)
            self._vectors.write(vectors)
            if sentences is None:  # a model without sentence vectors: highlights by words
                self._sentence_counts.append(np.zeros(len(texts), dtype=np.int64))
            else:
                self._sentence_counts.append(np.array([len(a) for a in sentences]))
                self._sentences.write(np.concatenate(sentences))
            self.embedded += len(self._pending)
            self._pending = []

    def copy(self, old: Snapshot, r: SourceRecord, source: SourceFile) -> None:
        """Carries an unchanged source over from the previous generation.

        Its text, passage rows (kinds included), vectors and terms are copied as they are.
        """
        self._flush()  # vectors stay in row order
        for start in range(r.byte_start, r.byte_end, _COPY_BYTES):
            self._docs.write(old.document_bytes(start, min(start + _COPY_BYTES, r.byte_end)))
        first, n = r.first_passage, r.passage_count
        rows = old.passages[first : first + n].copy()
        rows["source"] = len(self.records)
        rows["byte_start"] += self.offset - r.byte_start
        rows["byte_end"] += self.offset - r.byte_start
        self._rows.append(rows)
        self._vectors.write(old.vectors[first : first + n])
        bounds = old.sentence_offsets[first : first + n + 1]
        self._sentences.write(old.sentence_vectors[bounds[0] : bounds[-1]])
        self._sentence_counts.append(np.diff(bounds))
        ids, lengths = old.lexical.passage_tokens(first, first + n)
        if self._remap is None:
            self._remap = np.full(len(old.lexical.vocab), -1, dtype=np.int64)
        new = np.unique(ids[self._remap[ids] < 0])
        self._remap[new] = self._term_ids([old.lexical.vocab[i] for i in new])
        self._tokens.append(self._remap[ids].astype(np.int32))
        self._lengths.append(lengths)
        line_map = old.line_map(r)
        self._add_record(source, r.sha256, r.byte_end - r.byte_start, n, r.title, r.date, line_map)

    def add(self, source: SourceFile) -> None:
        """Reads, chunks, tokenises and embeds a new or changed source.

        Raises:
            SkippedFile: If an HTML, Markdown or PDF file cannot be parsed.
        """
        if source.format is Format.TXT:
            self._add_text(source)
            return
        data = source.path.read_bytes()
        try:
            document = parse(source.path, data, source.format, source.encoding)
        except UnreadableFile as exc:
            raise SkippedFile(f"{source.name}: {exc}") from None
        chunker = self._chunker()
        size = passages = 0
        for i, block in enumerate(document.blocks):
            if i:
                self._docs.write(b"\n")  # blocks are stored one after the other, as lines
                size += 1
            size += self._add_block(block.text, chunker, self.offset + size, _Lines(block))
            passages += len(self._rows[-1])
        lines = np.array(
            [(b.page or 0, *pair) for b in document.blocks for pair in b.lines], dtype=LINE_DTYPE
        )
        sha256 = hashlib.sha256(data).hexdigest()
        self._add_record(source, sha256, size, passages, document.title, document.date, lines)

    def _chunker(self) -> Chunker:
        return Chunker(self._settings.chunk_size, self._settings.chunk_overlap)

    def _add_text(self, source: SourceFile) -> None:
        """Decodes, chunks, tokenises and embeds a ``.txt`` file, block after block.

        One ``Chunker`` reads all its blocks, so the title and heading carry across them.
        """
        digest = hashlib.sha256()
        size = passages = line_base = 0
        chunker = self._chunker()
        title = date = None
        for block in read_text(source, digest, _BLOCK_CHARS):
            if not size:
                title, date = txt_metadata(block)
            size += self._add_block(block, chunker, self.offset + size, _Lines(None, line_base))
            passages += len(self._rows[-1])
            line_base += block.count("\n")
        if digest.hexdigest() != source.sha256:
            log.warning("%s changed while it was indexed; run `qa index` again", source.name)
        self._add_record(source, digest.hexdigest(), size, passages, title, date)

    def _add_block(self, block: str, chunker: Chunker, byte_pos: int, lines: _Lines) -> int:
        """Chunks, tokenises and queues for embedding one block of readable text.

        Args:
            block: The text.
            chunker: The article's chunker.
            byte_pos: Where the block starts in documents.bin.
            lines: Maps the block's lines to the lines cited.

        Returns:
            The number of bytes written to documents.bin.
        """
        chunks = chunker.chunk(block)
        data = block.encode("utf-8")
        rows = np.zeros(len(chunks), dtype=PASSAGE_DTYPE)
        char_pos = 0
        for i, c in enumerate(chunks):
            byte_pos += len(block[char_pos : c.start].encode("utf-8"))
            char_pos = c.start
            text = block[c.start : c.end]
            end = byte_pos + len(text.encode("utf-8"))
            rows[i] = (len(self.records), *lines.cite(c), byte_pos, end, c.kind, lines.page)
            terms = self._term_ids(tokenize(text))
            self._tokens.append(terms)
            self._lengths.append(np.array([len(terms)]))
            embedded, at = embedding_text(text, c.context)
            spans = [(at + a, at + b) for a, b in sentence_spans(text)]
            self._pending.append((embedded, spans))
        self._rows.append(rows)
        self._docs.write(data)
        self._bar.update(len(data))
        if len(self._pending) >= _EMBED_BATCH:
            self._flush()
        return len(data)

    def _add_record(
        self,
        source: SourceFile,
        sha256: str,
        size: int,
        passages: int,
        title: str | None,
        date: str | None,
        lines: np.ndarray | None = None,
    ) -> None:
        self.records.append(
            SourceRecord(
                source.name,
                sha256,
                source.encoding,
                self.offset,
                self.offset + size,
                self.passages,
                passages,
                format=source.format.value,
                title=title,
                date=date,
                first_line=-1 if lines is None else self.line_rows,
                line_count=0 if lines is None else len(lines),
            )
        )
        if lines is not None:
            self._lines.append(lines)
            self.line_rows += len(lines)
        self.offset += size
        self.passages += passages

    def finish(self) -> DenseKind:
        """Writes the remaining files; returns the dense index kind used."""
        self._flush()
        self._docs.close()
        self._vectors.close()
        self._sentences.close()
        counts = np.concatenate(self._sentence_counts) if self._sentence_counts else []
        np.save(self._tmp / SENTENCE_OFFSETS, np.r_[0, np.cumsum(counts)].astype(np.int64))
        rows = np.concatenate(self._rows) if self._rows else np.zeros(0, PASSAGE_DTYPE)
        np.save(self._tmp / PASSAGES, rows, allow_pickle=False)
        lines = np.concatenate(self._lines) if self._lines else np.zeros(0, LINE_DTYPE)
        np.save(self._tmp / LINES, lines.astype(LINE_DTYPE), allow_pickle=False)
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        if self._lengths:
            np.cumsum(np.concatenate(self._lengths), out=offsets[1:])
        tokens = np.concatenate(self._tokens) if self._tokens else np.zeros(0, np.int32)
        LexicalIndex.build(list(self._vocab), tokens, offsets).save(self._tmp)
        kind = self._settings.dense_kind.resolve(len(rows))
        dense = create_dense(kind, self._embedder.dim, len(rows))
        vectors = np.load(self._tmp / VECTORS, mmap_mode="r")
        dense.add(vectors)
        dense.save(self._tmp / DENSE)
        Moments.of(vectors).save(self._tmp / MOMENTS)
        return kind


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


def _open_previous(store: Store, settings: BuildSettings, rebuild: bool) -> Snapshot | None:
    if rebuild or not store.exists():
        return None
    old = store.open_files()
    if old.manifest.model != settings.model:
        raise IndexMismatchError(
            f"the index at {store.location} was built with model {old.manifest.model!r}, "
            f"not {settings.model!r}; "
            + REBUILD_HINT.format(index_dir=store.location)
            + f" --model {settings.model}"
        )
    return old


def _scan_all(files: dict[str, Path]) -> tuple[list[SourceFile], list[tuple[str, str]]]:
    scanned, skipped = [], []
    for name, path in tqdm(files.items(), desc="scanning", unit="file", disable=len(files) < 500):
        try:
            scanned.append(scan(name, path))
        except SkippedFile as exc:
            log.warning("skipped %s", exc)
            skipped.append((name, str(exc)))
    return scanned, skipped


def _roots(given: list[str], old: Snapshot | None) -> tuple[str, ...]:
    recorded = [r for r in (old.manifest.roots if old else ()) if r not in given]
    for root in recorded:
        if not os.path.exists(root):
            log.warning("corpus path %s is gone; dropping its files from the index", root)
    roots = tuple(given + [r for r in recorded if os.path.exists(r)])
    if not roots:
        raise SourceError("no corpus path given: name the files or folders to index")
    return roots


def build_index(
    index_dir: str | os.PathLike[str],
    roots: Sequence[str] = (),
    settings: BuildSettings | None = None,
    *,
    rebuild: bool = False,
    progress: bool = False,
) -> BuildReport:
    """Builds the index, or brings it up to date with the files under its corpus paths.

    The corpus is ``roots`` plus the paths the index already covers (unless
    ``rebuild``). A recorded path that no longer exists is dropped with a warning.

    Args:
        index_dir: The index location: a folder, or ``milvus:…`` (see
            ``vectorstore.backend.open_store``).
        roots: Corpus paths (files or folders) to add.
        settings: Model and chunking; defaults to ``BuildSettings()``.
        rebuild: Ignore the existing index (even a damaged one) and embed everything.
        progress: Show progress bars.

    Returns:
        What changed.

    Raises:
        SourceError: If a given path does not exist or no article can be indexed.
        IndexMismatchError: If the existing index uses another model (without rebuild).
        IndexLockedError: If another process is writing the index.
    """
    settings = settings or BuildSettings()
    started = time.perf_counter()
    index = open_store(index_dir)
    given = [str(r) for r in roots]
    for root in given:
        if not os.path.exists(root):
            raise SourceError(f"corpus path does not exist: {root}")
    with index.lock():
        old = _open_previous(index, settings, rebuild)
        roots = _roots(given, old)
        scanned, skipped = _scan_all(discover(roots, settings.formats))
        if not scanned:
            raise SourceError(f"no articles to index under {', '.join(roots)}")
        same_chunking = old is not None and (
            old.manifest.chunk_size,
            old.manifest.chunk_overlap,
        ) == (
            settings.chunk_size,
            settings.chunk_overlap,
        )
        reuse = {}
        for s in scanned:
            record = old.source_record(s.name) if old and same_chunking else None
            if record is not None and record.sha256 == s.sha256:
                reuse[s.name] = record
        old_names = set(old.source_names) if old else set()
        report = BuildReport(
            added=tuple(s.name for s in scanned if s.name not in old_names),
            changed=tuple(s.name for s in scanned if s.name in old_names and s.name not in reuse),
            removed=tuple(sorted(old_names - {s.name for s in scanned})),
            unchanged=tuple(sorted(reuse)),
            skipped=tuple(skipped),
        )
        if (
            old is not None
            and not (report.added or report.changed or report.removed)
            and (set(roots) == set(old.manifest.roots))
        ):
            return replace(report, seconds=time.perf_counter() - started)
        embedder = get_embedder(settings.model)
        tmp = index.new_generation()
        new_bytes = sum(s.size for s in scanned if s.name not in reuse)
        with tqdm(
            total=new_bytes, desc="indexing", unit="B", unit_scale=True, disable=not progress
        ) as bar:
            generation = _Generation(tmp, embedder, settings, bar)
            unreadable = []
            for s in scanned:
                if s.name in reuse:
                    assert old is not None
                    generation.copy(old, reuse[s.name], s)
                    continue
                try:
                    generation.add(s)
                except SkippedFile as exc:
                    log.warning("skipped %s", exc)
                    unreadable.append((s.name, str(exc)))
            if not generation.records:
                raise SourceError(f"no articles to index under {', '.join(roots)}")
            kind = generation.finish()
        index.publish(
            tmp,
            Manifest(
                model=settings.model,
                dim=embedder.dim,
                chunk_size=settings.chunk_size,
                chunk_overlap=settings.chunk_overlap,
                dense_kind=kind,
                roots=roots,
                sources=tuple(generation.records),
                passage_count=generation.passages,
            ),
        )
        gone = {name for name, _ in unreadable}
        return replace(
            report,
            added=tuple(n for n in report.added if n not in gone),
            changed=tuple(n for n in report.changed if n not in gone),
            removed=report.removed + tuple(n for n in report.changed if n in gone),
            skipped=report.skipped + tuple(unreadable),
            embedded=generation.embedded,
            seconds=time.perf_counter() - started,
            published=True,
        )
