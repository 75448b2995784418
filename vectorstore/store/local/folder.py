"""The index folder on disk: format, atomic publishing, the writer lock, and reading.

Layout of an index folder::

    CURRENT               name of the published generation (replaced atomically)
    .lock                 held by the one process that writes
    gen-<id>/             one complete, immutable generation
        manifest.json     format version, model, chunking, sources, file sizes
        passages.npy      one row per passage: source id, lines, byte span in documents.bin,
                          kind (vectorstore.sources.chunking.PassageKind: text, caption, heading),
                          PDF page (0 for other formats)
        documents.bin     every article's readable text, UTF-8, back to back
        lines.npy         for articles whose readable text is not their file (HTML,
                          Markdown, PDF): per readable line, its page and the first and
                          last line of the file (or page) it stands on
        vectors.npy       float32 unit vectors, one row per passage
        moments.npy       the vectors' mean and mean outer product (vectorstore.model.moments)
        sentence_*.npy    float16 vectors of each passage's sentences, pooled from its own
                          forward pass (in vectorstore.sources.sentences order), and where each
                          passage's rows start (none for models that do not give them)
        dense.faiss       the dense index over vectors.npy
        lexical_*.npy     each passage's term ids (for updates without re-tokenising)
        bm25_*            the BM25 index (bm25s's own files, read memory-mapped)

A writer builds ``gen-<id>.tmp/``, renames it to ``gen-<id>/`` and then replaces
``CURRENT``; readers open whatever ``CURRENT`` names, so they never see half a build.
A reader holds a shared ``flock`` on its generation's manifest for as long as it uses the
generation; a writer removes old generations only when it can lock them exclusively.
Nothing is unpickled: JSON, NumPy without pickle, and FAISS's own format.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
import stat
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import override

from vectorstore.errors import (
    REBUILD_HINT,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
)
from vectorstore.kinds import DenseKind, PassageKind
from vectorstore.model.moments import Moments
from vectorstore.store.base import (
    LINE_DTYPE,
    PASSAGE_DTYPE,
    LexicalHits,
    Manifest,
    Reader,
    SourceRecord,
    Store,
)
from vectorstore.store.local.dense import DenseIndex, load_dense
from vectorstore.store.local.lexical import LexicalIndex
from vectorstore.store.local.rows import ByteFile, RowFile

__all__ = ["IndexDir", "Snapshot", "writer_lock"]

MANIFEST = "manifest.json"
PASSAGES = "passages.npy"
DOCUMENTS = "documents.bin"
LINES = "lines.npy"
VECTORS = "vectors.npy"
MOMENTS = "moments.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
SENTENCE_OFFSETS = "sentence_offsets.npy"
SENTENCE_DTYPE = "<f2"
DENSE = "dense.faiss"
_POINTER = "CURRENT"
_LOCK = ".lock"
_GENERATION = re.compile(r"gen-[0-9]+-[0-9]+")


class _ScoredRows(LexicalHits):
    """BM25 matches from every passage's score."""

    def __init__(self, scores: np.ndarray, n: int) -> None:
        self._scores = scores
        n = min(n, int(np.count_nonzero(scores > 0)))
        rows = np.argpartition(-scores, n - 1)[:n] if n else np.zeros(0, dtype=np.int64)
        self.rows = rows[np.argsort(-scores[rows], kind="stable")]

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return self._scores[rows]


class Snapshot(Reader):
    """One published generation of an index folder, opened read-only.

    Searches read the rows they need with ``pread`` (``vectorstore.store.local.rows``); builds copy
    runs of rows from NumPy's memory maps (``vectors``).
    """

    def __init__(self, path: Path, manifest: Manifest) -> None:
        self._lease = _lease(path)  # released when the snapshot is garbage-collected
        self.path = path
        self.manifest = manifest
        n = manifest.passage_count
        passages = np.load(path / PASSAGES, mmap_mode="r", allow_pickle=False)
        if passages.dtype != PASSAGE_DTYPE or passages.shape != (n,):
            raise ValueError(f"{PASSAGES} does not hold {n} passage rows")
        vectors = np.load(path / VECTORS, mmap_mode="r", allow_pickle=False)
        if vectors.dtype != np.float32 or vectors.shape != (n, manifest.dim):
            raise ValueError(f"{VECTORS} does not hold {n} vectors of {manifest.dim} floats")
        self._documents = ByteFile(path / DOCUMENTS)
        self.lines = np.load(path / LINES, allow_pickle=False)
        if self.lines.dtype != LINE_DTYPE or any(
            s.line_count and not 0 <= s.first_line <= s.first_line + s.line_count <= len(self.lines)
            for s in manifest.sources
        ):
            raise ValueError(f"{LINES} does not hold the line maps the manifest names")
        self.passages = np.asarray(passages)
        self.vectors = vectors  # memory-mapped, for builds that copy runs of rows
        self.vector_rows = RowFile(path / VECTORS)  # for searches that read a few rows
        self.moments = Moments.load(path / MOMENTS, manifest.dim)
        self.sentence_vectors = RowFile(path / SENTENCE_VECTORS)
        self.sentence_offsets = np.load(path / SENTENCE_OFFSETS, allow_pickle=False)
        offsets, sentences = self.sentence_offsets, self.sentence_vectors
        if (
            sentences.dtype != np.dtype(SENTENCE_DTYPE)
            or sentences.shape[1:] != (manifest.dim,)
            or offsets.shape != (n + 1,)
            or offsets[0] != 0
            or offsets[-1] != len(sentences)
            or (np.diff(offsets) < 0).any()
        ):
            raise ValueError(f"{SENTENCE_VECTORS} and {SENTENCE_OFFSETS} do not match")
        _check_spans(self.passages, manifest, len(self._documents))
        self.dense: DenseIndex = load_dense(manifest.dense_kind, path / DENSE, manifest.dim)
        if self.dense.size != n:
            raise ValueError(f"{DENSE} holds {self.dense.size} vectors, not {n}")
        self.lexical = LexicalIndex.load(path, n)
        self.source_names = tuple(s.name for s in manifest.sources)
        self.generation = path.name
        self._by_name = {s.name: s for s in manifest.sources}
        mtime = (path / MANIFEST).stat().st_mtime
        self.published = datetime.fromtimestamp(mtime, tz=UTC)  # when it was written

    @property
    @override
    def dense_exact(self) -> bool:
        return self.dense.kind is DenseKind.FLAT

    @override
    def dense_search(
        self, vectors: np.ndarray, n: int, rows: np.ndarray | None = None
    ) -> np.ndarray:
        return self.dense.search(vectors, n, rows)[1]

    @override
    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        return self.vector_rows.take(rows)

    @override
    def lexical_search(
        self, weights: Mapping[str, float], n: int, rows: np.ndarray | None = None
    ) -> LexicalHits:
        scores = self.lexical.scores(list(weights), weights)
        if rows is not None:
            outside = np.ones(len(scores), dtype=bool)
            outside[rows] = False
            scores[outside] = 0
        return _ScoredRows(scores, n)

    @override
    def idf(self, terms: Mapping[str, float] | list[str]) -> dict[str, float]:
        return self.lexical.idf(terms)

    @override
    def passage_terms(self, row: int) -> frozenset[str]:
        return self.lexical.passage_terms(row)

    def sentence_cosines(self, row: int, query: np.ndarray) -> np.ndarray | None:
        """Returns the cosines of passage ``row``'s sentences to ``query``, or None."""
        start, end = self.sentence_offsets[row], self.sentence_offsets[row + 1]
        if start == end:
            return None
        return np.asarray(self.sentence_vectors[start:end], dtype=np.float32) @ query

    def passage_text(self, row: int) -> str:
        """Returns the text of passage ``row``."""
        p = self.passages[row]
        return self._documents[int(p["byte_start"]) : int(p["byte_end"])].decode("utf-8")

    def source_text(self, name: str) -> str:
        """Returns the full text of an indexed article.

        Raises:
            KeyError: If ``name`` is not an indexed source.
        """
        s = self._by_name[name]
        return self._documents[s.byte_start : s.byte_end].decode("utf-8")

    def line_map(self, record: SourceRecord) -> np.ndarray | None:
        """Returns a source's line map (``LINE_DTYPE`` rows), or None for a ``.txt`` file."""
        if record.first_line < 0:
            return None
        return self.lines[record.first_line : record.first_line + record.line_count]

    def source_record(self, name: str) -> SourceRecord | None:
        """Returns the record of an indexed article, or None."""
        return self._by_name.get(name)

    def document_bytes(self, start: int, end: int) -> bytes:
        """Returns bytes ``start..end`` of the stored UTF-8 text of all articles."""
        return self._documents[start:end]


@contextlib.contextmanager
def writer_lock(path: Path, location: object) -> Iterator[None]:
    """Holds an exclusive ``flock`` on ``path``, with the holder's pid written in it.

    Args:
        path: The lock file (created if missing).
        location: The index location, for the message.

    Raises:
        IndexLockedError: If another process holds it.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise IndexLockedError(
                f"another process (pid {holder}) is writing the index at {location}; "
                "wait for it to finish and try again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def _lease(gen: Path) -> Any:
    """Opens a generation's manifest with a shared lock: writers leave the generation be.

    Raises:
        FileNotFoundError: If a writer is removing (or has removed) the generation.
    """
    manifest = open(gen / MANIFEST, "rb")  # noqa: SIM115 - held while the snapshot lives
    try:
        fcntl.flock(manifest.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        manifest.close()
        raise FileNotFoundError(gen) from None
    return manifest


def _remove_unused(gen: Path) -> None:
    """Removes a generation unless a reader, in any process, still holds its lease."""
    try:
        fd = os.open(gen / MANIFEST, os.O_RDONLY)
    except FileNotFoundError:  # not a complete generation
        shutil.rmtree(gen, ignore_errors=True)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # in use: a later publish removes it
    else:
        shutil.rmtree(gen, ignore_errors=True)
    finally:
        os.close(fd)


def _check_spans(passages: np.ndarray, manifest: Manifest, documents: int) -> None:
    """Raises ValueError unless every passage and source points inside the stored text.

    Every passage's kind must be a ``PassageKind`` too.
    """
    sources = manifest.sources
    if any(not 0 <= r.byte_start <= r.byte_end <= documents for r in sources):
        raise ValueError(f"a source in {MANIFEST} points outside {DOCUMENTS}")
    if not len(passages):
        return
    p = passages
    if (
        (p["source"] < 0).any()
        or (p["source"] >= len(sources)).any()
        or (p["byte_start"] < 0).any()
        or (p["byte_start"] > p["byte_end"]).any()
        or (p["byte_end"] > documents).any()
        or (p["line_start"] < 1).any()
        or (p["line_end"] < p["line_start"]).any()
    ):
        raise ValueError(f"{PASSAGES} holds rows that point outside the stored text")
    if not np.isin(p["kind"], list(PassageKind)).all():
        raise ValueError(f"{PASSAGES} holds passages of an unknown kind")


class IndexDir(Store):
    """An index folder: finds, opens and publishes generations; holds the writer lock."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.location = os.fspath(path)

    def _hint(self) -> str:
        return REBUILD_HINT.format(index_dir=self.path)

    def exists(self) -> bool:
        """Whether a generation has been published here."""
        return (self.path / _POINTER).is_file()

    def current(self) -> str:
        """Returns the name of the published generation.

        Raises:
            IndexNotFoundError: If nothing has been published here.
            IndexCorruptError: If the pointer names no valid generation.
        """
        try:
            name = (self.path / _POINTER).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise IndexNotFoundError(
                f"no index at {self.path}: build one with `qa index PATH --index {self.path}`"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise IndexCorruptError(
                f"cannot read {self.path / _POINTER} ({exc}); {self._hint()}"
            ) from None
        if not _GENERATION.fullmatch(name):
            raise IndexCorruptError(f"{self.path / _POINTER} is damaged; {self._hint()}")
        return name

    def open(self) -> Snapshot:
        """Opens the published generation.

        Raises:
            IndexNotFoundError: If there is no index.
            IndexMismatchError: If it has another format version.
            IndexCorruptError: If a file is missing, truncated or inconsistent.
        """
        for attempt in range(3):
            name = self.current()
            gen = self.path / name
            try:
                return self._open_generation(gen)
            except FileNotFoundError:
                # A writer may have replaced and removed it since we read the pointer.
                if attempt < 2 and self.current() != name:
                    continue
                raise IndexCorruptError(
                    f"index files are missing in {gen}; {self._hint()}"
                ) from None
        raise AssertionError("unreachable")

    @override
    def open_files(self) -> Snapshot:
        return self.open()

    def _open_generation(self, gen: Path) -> Snapshot:
        if gen.exists() and not gen.is_dir():
            raise IndexCorruptError(f"{gen} is not a folder; {self._hint()}")
        try:
            manifest = Manifest.from_json((gen / MANIFEST).read_text(encoding="utf-8"))
        except IndexMismatchError as exc:
            raise IndexMismatchError(f"{exc} (index at {self.path}); {self._hint()}") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise IndexCorruptError(
                f"{gen / MANIFEST} is damaged ({exc}); {self._hint()}"
            ) from None
        for filename, size in manifest.files.items():
            actual = _size(gen / filename)
            if actual != size:
                raise IndexCorruptError(
                    f"{gen / filename} has {actual} bytes, not the {size} written; {self._hint()}"
                )
        try:
            return Snapshot(gen, manifest)
        except FileNotFoundError:
            raise
        except (ValueError, OSError) as exc:
            raise IndexCorruptError(
                f"index at {self.path} is damaged: {exc}; {self._hint()}"
            ) from None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Holds the writer lock; readers need none.

        Raises:
            IndexLockedError: If another process holds it.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        with writer_lock(self.path / _LOCK, self.path):
            for stale in self.path.glob("gen-*.tmp"):  # left by a killed writer
                shutil.rmtree(stale, ignore_errors=True)
            yield

    def new_generation(self) -> Path:
        """Creates an empty folder for a generation being written (call under the lock)."""
        tmp = self.path / f"gen-{time.time_ns()}-{os.getpid()}.tmp"
        tmp.mkdir(parents=True)
        return tmp

    def publish(self, tmp: Path, manifest: Manifest) -> None:
        """Writes the manifest into ``tmp`` and makes it the current generation atomically.

        Every file is flushed to disk before the pointer moves, so a crash at any moment
        leaves either the old or the new generation published, whole.
        """
        files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.name != MANIFEST}
        final = replace(manifest, files=files)
        (tmp / MANIFEST).write_text(final.to_json(), encoding="utf-8")
        for p in tmp.iterdir():
            _fsync_file(p)
        gen = tmp.with_suffix("")
        os.rename(tmp, gen)
        pointer_tmp = self.path / f"{_POINTER}.tmp"
        pointer_tmp.write_text(gen.name + "\n", encoding="utf-8")
        _fsync_file(pointer_tmp)
        try:
            previous = self.current()
        except (IndexNotFoundError, IndexCorruptError):
            previous = None
        os.replace(pointer_tmp, self.path / _POINTER)
        _fsync_dir(self.path)
        # Keep the previous generation for readers that are opening it right now, and
        # any older one that a reader still uses.
        for old in self.path.glob("gen-*"):
            if old.name not in (gen.name, previous) and old.is_dir() and old.suffix != ".tmp":
                _remove_unused(old)


def _size(path: Path) -> int:
    """Returns a file's size; raises FileNotFoundError for anything but a regular file."""
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise FileNotFoundError(path)
    return st.st_size


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
