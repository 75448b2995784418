"""Building and updating an index folder incrementally, with bounded memory.

Every file is first scanned (hashed and its encoding found, in blocks). Unchanged files
(same bytes, chunking and model) keep their text, passages, vectors and terms, copied
from the previous generation; new and changed files are decoded in paragraph-aligned
blocks, chunked, tokenised and embedded in batches as they stream by; deleted files are
dropped. A passage is embedded with its context (title and heading, see
``vectorstore.sources.chunking``) in front; its BM25 terms are those of its own text. The result
is published as a new generation (see ``vectorstore.store.local.folder``).

One function, ``vectorstore.build.pieces.read_source``, turns a file into ``Piece``s
(passage rows, terms, and the texts to embed with their sentence spans) and an
``Article``; ``_Generation`` writes them in source order. The local engine reads the files
in this process and embeds their pieces in batches; the Ray engine
(``vectorstore.build.ray``) runs ``read_source`` and the embedding on Ray Data and hands
the embedded pieces back in source order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from vectorstore.build.pieces import Article, BuildSettings, Piece, read_source
from vectorstore.errors import REBUILD_HINT, IndexMismatchError, SourceError
from vectorstore.kinds import DenseKind
from vectorstore.model.embedding import Embedder, get_embedder, model_revision
from vectorstore.model.moments import Moments
from vectorstore.sources.files import SkippedFile, SourceFile, discover, scan
from vectorstore.store.base import (
    LINE_DTYPE,
    PASSAGE_DTYPE,
    Manifest,
    SourceRecord,
    Store,
    open_store,
)
from vectorstore.store.local.dense import create_dense
from vectorstore.store.local.folder import (
    DENSE,
    DOCUMENTS,
    LINES,
    MOMENTS,
    PASSAGES,
    SENTENCE_DTYPE,
    SENTENCE_OFFSETS,
    SENTENCE_VECTORS,
    VECTORS,
    Snapshot,
)
from vectorstore.store.local.lexical import LexicalIndex

__all__ = ["BuildReport", "Engine", "build_index"]

log = logging.getLogger("qa")

_EMBED_BATCH = 256  # passages embedded together while streaming
_COPY_BYTES = 1 << 24


class Engine(StrEnum):
    """Where new and changed files are read, chunked and embedded.

    Attributes:
        LOCAL: In this process, streaming large text files in blocks.
        RAY: On Ray Data (the extra ``qa[ray]``): a local Ray instance or a cluster.
    """

    LOCAL = "local"
    RAY = "ray"


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
        startup_seconds: Of ``seconds``, the time to start or join Ray (0 for the local
            engine, and when no file needed embedding).
    """

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    embedded: int = 0
    seconds: float = 0.0
    published: bool = False
    startup_seconds: float = 0.0


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
            self._pending = []
            self._write_vectors(*self._embedder.encode_passages_with_spans(texts, spans))

    def _write_vectors(self, vectors: np.ndarray, sentences: list[np.ndarray] | None) -> None:
        self._vectors.write(vectors)
        if sentences is None:  # a model without sentence vectors: highlights by words
            self._sentence_counts.append(np.zeros(len(vectors), dtype=np.int64))
        elif sentences:
            self._sentence_counts.append(np.array([len(a) for a in sentences]))
            self._sentences.write(np.concatenate(sentences))
        self.embedded += len(vectors)

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

    def add(self, source: SourceFile, parts: Iterable[Piece | Article]) -> None:
        """Writes a new or changed source from its pieces and article (``read_source``).

        Pieces not yet embedded are queued and embedded in batches.

        Raises:
            SkippedFile: From ``parts``, if the file cannot be read; nothing of it is written.
        """
        size = passages = 0
        for part in parts:
            if isinstance(part, Piece):
                self._add_piece(part)
                size += len(part.data)
                passages += len(part.rows)
                continue
            if part.sha256 != source.sha256:
                log.warning("%s changed while it was indexed; run `qa index` again", source.name)
            self._add_record(source, part.sha256, size, passages, part.title, part.date, part.lines)

    def _add_piece(self, piece: Piece) -> None:
        rows = piece.rows.copy()
        rows["source"] = len(self.records)
        rows["byte_start"] += self.offset
        rows["byte_end"] += self.offset
        self._rows.append(rows)
        self._tokens.append(self._term_ids([t for terms in piece.terms for t in terms]))
        self._lengths.append(np.array([len(terms) for terms in piece.terms], dtype=np.int64))
        self._docs.write(piece.data)
        self._bar.update(len(piece.data))
        if piece.vectors is None:
            self._pending.extend(zip(piece.texts, piece.spans, strict=True))
            if len(self._pending) >= _EMBED_BATCH:
                self._flush()
        else:
            self._flush()  # vectors stay in row order
            self._write_vectors(piece.vectors, piece.sentence_vectors)

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


def _open_previous(store: Store, settings: BuildSettings, rebuild: bool) -> Snapshot | None:
    if rebuild or not store.exists():
        return None
    old = store.open_files()
    assert isinstance(old, Snapshot)  # every backend hands over the local folder's files
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


@contextlib.contextmanager
def _new_parts(
    engine: Engine, sources: list[SourceFile], settings: BuildSettings, ray_address: str | None
) -> Iterator[tuple[Iterator[Iterable[Piece | Article]], float]]:
    """Reads, chunks and embeds the new and changed sources with the engine.

    Yields:
        The parts of each source (see ``read_source``), in order; and the seconds it took
        to start or join Ray.
    """
    if engine is Engine.LOCAL or not sources:
        yield (read_source(s, settings) for s in sources), 0.0
        return
    from vectorstore.build.ray import ray_parts

    with ray_parts(sources, settings, ray_address) as parts:
        yield parts


def build_index(
    index_dir: str | os.PathLike[str],
    roots: Sequence[str] = (),
    settings: BuildSettings | None = None,
    *,
    rebuild: bool = False,
    progress: bool = False,
    engine: Engine | str = Engine.LOCAL,
    ray_address: str | None = None,
) -> BuildReport:
    """Builds the index, or brings it up to date with the files under its corpus paths.

    The corpus is ``roots`` plus the paths the index already covers (unless
    ``rebuild``). A recorded path that no longer exists is dropped with a warning.
    Either engine gives the same index; only new and changed files are read and
    embedded by it, unchanged ones are copied from the previous generation.

    Args:
        index_dir: The index location: a folder, or ``milvus:…`` (see
            ``vectorstore.store.base.open_store``).
        roots: Corpus paths (files or folders) to add.
        settings: Model and chunking; defaults to ``BuildSettings()``.
        rebuild: Ignore the existing index (even a damaged one) and embed everything.
        progress: Show progress bars.
        engine: Read, chunk and embed in this process, or on Ray (``vectorstore.build.ray``).
        ray_address: For the Ray engine: the cluster to join, ``auto`` or ``HOST:PORT``
            (default ``$RAY_ADDRESS``); without one, a local Ray instance is started for
            the build.

    Returns:
        What changed.

    Raises:
        SourceError: If a given path does not exist or no article can be indexed.
        IndexMismatchError: If the existing index uses another model (without rebuild).
        IndexLockedError: If another process is writing the index.
        QAError: If the Ray engine is asked for and ``ray`` is not installed, or
            ``ray_address`` is a Ray Client address (``ray://``).
        ValueError: If the engine is unknown.
    """
    settings = settings or BuildSettings()
    started = time.perf_counter()
    engine = Engine(engine)
    if engine is Engine.RAY:
        from vectorstore.build.ray import ray_address as check_address

        ray_address = check_address(ray_address)
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
        # Passages are kept only if they would come out the same: same chunking, and the
        # same version of the model (a new conversion re-embeds everything).
        revision = model_revision(settings.model)
        same_passages = old is not None and (
            old.manifest.chunk_size,
            old.manifest.chunk_overlap,
            old.manifest.model_revision,
        ) == (
            settings.chunk_size,
            settings.chunk_overlap,
            revision,
        )
        reuse = {}
        for s in scanned:
            record = old.source_record(s.name) if old and same_passages else None
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
        embedder = get_embedder(settings.model)  # loaded here too: fails before Ray starts
        tmp = index.new_generation()
        new = [s for s in scanned if s.name not in reuse]
        with tqdm(
            total=sum(s.size for s in new),
            desc="indexing",
            unit="B",
            unit_scale=True,
            disable=not progress,
        ) as bar:
            generation = _Generation(tmp, embedder, settings, bar)
            unreadable = []
            with _new_parts(engine, new, settings, ray_address) as (parts, startup):
                for s in scanned:
                    if s.name in reuse:
                        assert old is not None
                        generation.copy(old, reuse[s.name], s)
                        continue
                    try:
                        generation.add(s, next(parts))
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
                formats=settings.formats,
                model_revision=revision,
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
            startup_seconds=startup,
        )
