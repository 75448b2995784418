"""Serving an index from Milvus: ``MilvusStore`` and the ``Reader`` of its generations.

A location ``milvus:URI[#PREFIX]`` names a Milvus: ``milvus:./qa-milvus.db`` is Milvus
Lite embedded in this process (a ``.db`` folder), ``milvus:http://HOST:19530`` a server
or cluster (``milvus:https://USER:PASSWORD@HOST:19530/DATABASE`` with credentials and a
database). The same ``MilvusClient`` code talks to both. ``PREFIX`` (default ``qa``)
names the index, so that several share one Milvus.

Each published generation is two collections, filled once and never changed:

``<prefix>_gen_<ns>_<pid>`` (the passages), one row per passage:
    ``passage`` (INT64 primary key: the row number), ``vector`` (the float32 unit
    vector; a FLAT index up to ``FLAT_MAX`` passages, else HNSW, metric IP), ``text``
    (the passage's text), ``terms`` (its BM25 terms: ``vectorstore.sources.terms.tokenize``,
    spelled by ``bm25_term`` and joined by spaces), ``bm25`` (the sparse vector Milvus's
    own BM25 function makes of ``terms``; SPARSE_INVERTED_INDEX, metric BM25, with qa's
    ``k1`` and ``b``) and ``sentences`` (the float16 vectors of its sentences, one base64
    string each).
``<prefix>_gen_<ns>_<pid>_files``:
    the generation's files in base64 parts (``file``, ``part``, ``data``), all but the
    vectors (which the passages hold) and the FAISS index (Milvus has its own), plus
    ``idf.json``, each index term's inverse document frequency.

Publishing inserts both, flushes, indexes and loads them, checks the row count, and only
then points the alias ``<prefix>`` at the new passages collection: a reader resolves the
alias once and reads only that generation's collections, so it never sees half an update.
The previous generation stays for readers opening it; older ones are dropped.

A ``MilvusReader`` keeps in memory what the local reader does (manifest, passage table,
moments, line maps, sentence offsets, IDF) and fetches rows (vectors, texts, terms,
sentence vectors) on demand, one query for all the candidates of a question. Dense and
BM25 searches, and their filters by source (row ranges), run in Milvus; qa fuses them.

The writer builds a generation's files locally, as for a local index (``new_generation``
is a staging folder under the system's temporary folder), reusing unchanged sources from
``open_files``: the current generation downloaded into a local ``Snapshot`` (its files,
with the vectors read back from the passages and the FAISS index rebuilt from them).

Milvus cannot weight query terms, so a question's terms are searched in one query per
weight (its own words 1, or 2 if it holds one twice; a term carried over from a
conversation, a synonym or a lemma less), and the scores are weighed and summed.
Limits: Milvus Lite computes BM25 statistics per
segment (a segment holds what fits its 128 MB memtable), so on larger collections its
BM25 scores drift from qa's; a server keeps corpus-wide statistics. Milvus Lite serves
one process at a time: serve the file with ``milvus-lite server`` for several. A server
has no locks: its writer lock is best effort (``MilvusStore._server_lock``). A reader
whose generation was dropped (two newer ones published) gets ``GenerationGoneError``.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import hashlib
import itertools
import json
import logging
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
from pymilvus import DataType, Function, FunctionType, MilvusClient, MilvusException
from pymilvus.client.types import LoadState, Status
from pymilvus.exceptions import ErrorCode
from typing_extensions import override

from vectorstore.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    QAError,
)
from vectorstore.kinds import DenseKind
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
from vectorstore.store.local.dense import create_dense
from vectorstore.store.local.folder import (
    DENSE,
    DOCUMENTS,
    LINES,
    MANIFEST,
    MOMENTS,
    PASSAGES,
    SENTENCE_DTYPE,
    SENTENCE_OFFSETS,
    SENTENCE_VECTORS,
    VECTORS,
    Snapshot,
    writer_lock,
)
from vectorstore.store.local.lexical import _B, _K1, LexicalIndex
from vectorstore.store.local.rows import ByteFile
from vectorstore.store.milvus import PREFIX

__all__ = [
    "GenerationGoneError",
    "MilvusError",
    "MilvusReader",
    "MilvusStore",
    "bm25_term",
    "rows_filter",
]

log = logging.getLogger("qa")

DEFAULT_PREFIX = "qa"
IDF = "idf.json"  # {"idf": {term: idf}, "unknown": the idf of a term no passage holds}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_GENERATION = re.compile(r"gen_([0-9]+)_[0-9]+")
_VARCHAR = 65_535  # Milvus's longest VARCHAR, in bytes
_PART_BYTES = 49_149  # 65,532 base64 characters
_SENTENCES = 4_096  # Milvus's largest ARRAY capacity: sentences per passage
_TOPK = 16_384  # Milvus's largest search limit and query result window
_INSERT_ROWS = 256  # passages per insert (some MB, far below gRPC's limits)
_INSERT_PARTS = 64  # file parts per insert or query (4 MB)
_FETCH_ROWS = 4_096  # vectors per query
_DOWNLOAD_ROWS = 1_024  # passages per query when downloading vectors and sentences
_FULL_FETCH = 256  # fetch text, terms and sentences too for up to this many rows
_CACHED_ROWS = 2_048  # rows a reader keeps (a few questions' candidates)
_HNSW = {"M": 16, "efConstruction": 200}
_HNSW_EF = 128  # HNSW search breadth (at least the number of neighbours asked)
_CONNECT_SECONDS = 10.0
# Kept locally, never uploaded: the vectors live in the passages, Milvus has its index.
_NOT_UPLOADED = frozenset({VECTORS, SENTENCE_VECTORS, DENSE})
_PLAIN_TERM = re.compile(r"[a-wyz0-9][a-z0-9]*")

# pymilvus logs every failed call with its traceback; qa reports them as errors itself.
_OWN_CALL = contextvars.ContextVar("_OWN_CALL", default=False)


class _OwnCalls(logging.Filter):
    """Drops pymilvus's log records of the calls this module makes (it raises instead)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _OWN_CALL.get()


for _logger in ("pymilvus.decorators", "pymilvus.client.connection_manager"):
    logging.getLogger(_logger).addFilter(_OwnCalls())
logging.getLogger("milvus_lite.server_manager").addFilter(_OwnCalls())


class MilvusError(QAError):
    """Milvus cannot be reached, or failed a request."""


class GenerationGoneError(MilvusError):
    """A generation's collections do not exist (any more): newer ones replaced them."""


def _unreachable(exc: MilvusException) -> bool:
    """Whether an error says that Milvus cannot be reached (at all, or any more)."""
    # A failed connection has its own code; a lost one, gRPC's status.
    return exc.code == Status.CONNECT_FAILED or getattr(exc.code, "name", "") in (
        "UNAVAILABLE",
        "DEADLINE_EXCEEDED",
    )


def bm25_term(term: str) -> str:
    """Returns how an index term is spelled in the text Milvus's BM25 analyzer reads.

    Plain ``[a-z0-9]`` terms stay as they are (most German stems, folded of accents).
    Others (CJK, Cyrillic, with ``_``, or starting with ``x``) become ``x`` and their
    UTF-8 in hex: one token for any analyzer, which a server's standard tokenizer would
    otherwise split (CJK bigrams into characters). No two terms share a spelling.
    """
    if _PLAIN_TERM.fullmatch(term):
        return term
    return "x" + term.encode("utf-8").hex()


def _index_term(spelled: str) -> str:
    """Returns the index term ``bm25_term`` spelled so."""
    if spelled.startswith("x"):
        return bytes.fromhex(spelled[1:]).decode("utf-8")
    return spelled


def rows_filter(rows: np.ndarray | Iterable[int], field: str = "passage") -> str:
    """Returns a Milvus filter expression for a set of rows.

    A source's passages are consecutive rows, so runs become ranges
    (``(passage >= 10 and passage < 42)``); single rows and pairs go in one
    ``passage in [...]``.
    """
    rows = np.unique(np.asarray(rows, dtype=np.int64))
    if not len(rows):
        return f"{field} < 0"
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    terms, single = [], []
    for run in np.split(rows, breaks):
        if len(run) > 2:
            terms.append(f"({field} >= {run[0]} and {field} < {run[-1] + 1})")
        else:
            single.extend(run.tolist())
    if single:
        terms.append(f"{field} in [{', '.join(map(str, single))}]")
    return " or ".join(terms)


def _sentences(encoded: list[str], dim: int) -> np.ndarray:
    """Decodes a passage's sentence vectors (float16, one base64 string each)."""
    data = b"".join(base64.b64decode(s) for s in encoded)
    return np.frombuffer(data, dtype=SENTENCE_DTYPE).reshape(-1, dim)


def _published(generation: str) -> datetime:
    """When a generation was published: its name holds the time (UTC)."""
    match = _GENERATION.fullmatch(generation)
    if match is None:
        raise ValueError(f"{generation} is no generation name")
    return datetime.fromtimestamp(int(match[1]) / 1e9, UTC)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _npy(data: bytes, name: str) -> np.ndarray:
    try:
        return np.load(BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{name} is not a readable array ({exc})") from exc


@dataclass(frozen=True)
class _Row:
    """What a reader fetches of one passage.

    Attributes:
        vector: Its float32 vector.
        text: Its text.
        terms: Its distinct index terms.
        sentences: Its sentences' float16 vectors, one row each.
    """

    vector: np.ndarray
    text: str
    terms: frozenset[str]
    sentences: np.ndarray


class _Names:
    """The collections and alias of one index in a Milvus."""

    def __init__(self, prefix: str) -> None:
        self.alias = prefix
        self.lock = f"{prefix}_lock"
        self._generation = re.compile(rf"{re.escape(prefix)}_(gen_[0-9]+_[0-9]+)(?:_files)?")

    def passages(self, generation: str) -> str:
        """The passages collection of a generation."""
        return f"{self.alias}_{generation}"

    def files(self, generation: str) -> str:
        """The files collection of a generation."""
        return f"{self.alias}_{generation}_files"

    def generation_of(self, collection: str) -> str | None:
        """The generation a collection belongs to, or None if it is not one of ours."""
        match = self._generation.fullmatch(collection)
        return match[1] if match else None


class _Hits(LexicalHits):
    """A question's BM25 matches from Milvus; other rows are scored by Milvus on demand."""

    def __init__(self, reader: MilvusReader, text: str, found: dict[int, float]) -> None:
        self._reader, self._text, self._found = reader, text, found
        self.rows = np.fromiter(found, dtype=np.int64, count=len(found))

    @override
    def scores(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        missing = sorted({r for r in rows.tolist() if r not in self._found})
        known = dict(self._found)
        if missing and self._text:
            for start in range(0, len(missing), _TOPK):
                batch = missing[start : start + _TOPK]
                known |= self._reader.bm25(self._text, len(batch), rows_filter(batch))
        return np.array([known.get(r, 0.0) for r in rows.tolist()], dtype=np.float32)


class _Weighted(LexicalHits):
    """BM25 matches of terms of several weights: each weight's matches, weighed and summed."""

    def __init__(self, groups: list[tuple[float, _Hits]], n: int) -> None:
        self._groups = groups
        found = np.unique(np.concatenate([hits.rows for _, hits in groups]))
        scores = self.scores(found)
        best = np.argsort(-scores, kind="stable")[:n]
        self.rows = found[best][scores[best] > 0]

    @override
    def scores(self, rows: np.ndarray) -> np.ndarray:
        total = np.zeros(len(rows), dtype=np.float64)
        for weight, hits in self._groups:
            total += weight * hits.scores(rows)
        return total.astype(np.float32)


class MilvusReader(Reader):
    """One published generation in Milvus, opened for reading.

    Any method raises ``MilvusError`` if Milvus fails, and ``GenerationGoneError`` once
    Milvus dropped the generation (two newer ones were published since it was opened:
    ``Index.refresh`` loads the current one).
    """

    def __init__(self, store: MilvusStore, generation: str) -> None:
        """Loads what searches keep in memory from the generation's files collection.

        Raises:
            GenerationGoneError: If the generation's collections do not exist (any more).
            IndexMismatchError: If it has another format version.
            ValueError: If a file is damaged.
        """
        self._store = store
        self._collection = store.names.passages(generation)
        self._files = store.names.files(generation)
        self.generation = generation
        self.published = _published(generation)
        # Milvus Lite forgets what it had loaded when its process ends; a server does not.
        with store.calls("loading the index", gone=True):
            for name in (self._files, self._collection):
                if store.client().get_load_state(name)["state"] != LoadState.Loaded:
                    store.client().load_collection(name)
        self.manifest = Manifest.from_json(self.read_file(MANIFEST).decode("utf-8"))
        n, dim = self.manifest.passage_count, self.manifest.dim
        files = {
            name: self.read_file(name) for name in (PASSAGES, LINES, MOMENTS, SENTENCE_OFFSETS)
        }
        for name, data in files.items():
            if len(data) != self.manifest.files.get(name):
                raise ValueError(
                    f"{name} has {len(data)} bytes, not the {self.manifest.files.get(name)} written"
                )
        self.passages = _npy(files[PASSAGES], PASSAGES)
        if self.passages.dtype != PASSAGE_DTYPE or self.passages.shape != (n,):
            raise ValueError(f"{PASSAGES} does not hold {n} passage rows")
        self.lines = _npy(files[LINES], LINES)
        if self.lines.dtype != LINE_DTYPE:
            raise ValueError(f"{LINES} does not hold line maps")
        moments = _npy(files[MOMENTS], MOMENTS)
        if moments.shape != (dim + 1, dim):
            raise ValueError(f"{MOMENTS} does not hold the moments of {dim}-d vectors")
        self.moments = Moments(moments[0], moments[1:])
        self.sentence_offsets = _npy(files[SENTENCE_OFFSETS], SENTENCE_OFFSETS)
        if self.sentence_offsets.shape != (n + 1,):
            raise ValueError(f"{SENTENCE_OFFSETS} does not hold {n + 1} offsets")
        idf = json.loads(self.read_file(IDF))
        self._idf: dict[str, float] = idf["idf"]
        self._unknown_idf = float(idf["unknown"])
        with store.calls("opening the index", gone=True):
            counted = store.client().query(self._collection, filter="", output_fields=["count(*)"])
            index = store.client().describe_index(self._collection, "vector")
        rows = counted[0]["count(*)"]
        if rows != n:
            raise ValueError(f"{self._collection} holds {rows} passages, not {n}")
        self._exact = index.get("index_type") == "FLAT"
        self.source_names = tuple(s.name for s in self.manifest.sources)
        self._by_name = {s.name: s for s in self.manifest.sources}
        self._cache: OrderedDict[int, _Row] = OrderedDict()
        self._cache_lock = threading.Lock()

    def read_file(self, name: str) -> bytes:
        """Returns one of the generation's files, read from its files collection.

        Raises:
            GenerationGoneError: If the collection does not exist (any more).
            ValueError: If it holds no such file, or a part is missing.
        """
        parts = list(self.file_parts(name))
        if not parts:
            raise ValueError(f"the index holds no {name}")
        return b"".join(parts)

    def file_parts(self, name: str, first: int = 0, last: int | None = None) -> Iterator[bytes]:
        """Yields parts ``first..last`` (inclusive; None: to the end) of a file, in order.

        Raises:
            GenerationGoneError: If the collection does not exist (any more).
            ValueError: If a part is missing.
        """
        start = first
        while last is None or start <= last:
            stop = start + _INSERT_PARTS if last is None else min(last + 1, start + _INSERT_PARTS)
            with self._store.calls(f"reading {name}", gone=True):
                found = self._store.client().query(
                    self._files,
                    filter=f'file == "{name}" and part >= {start} and part < {stop}',
                    output_fields=["part", "data"],
                    limit=stop - start,
                )
            parts = {int(p["part"]): p["data"] for p in found}
            if sorted(parts) != list(range(start, start + len(parts))) or (
                last is not None and len(parts) < stop - start
            ):
                raise ValueError(f"parts of {name} are missing in {self._files}")
            for i in sorted(parts):
                yield base64.b64decode(parts[i])
            if len(parts) < stop - start:
                return
            start = stop

    @property
    @override
    def dense_exact(self) -> bool:
        return self._exact

    @override
    def dense_search(
        self, vectors: np.ndarray, n: int, rows: np.ndarray | None = None
    ) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        out = np.full((len(vectors), n), -1, dtype=np.int64)
        limit = min(n, _TOPK)
        if not len(vectors) or not limit:
            return out
        params: dict[str, Any] = {"metric_type": "IP"}
        if not self._exact:
            params["params"] = {"ef": max(limit, _HNSW_EF)}
        with self._store.calls("searching", gone=True):
            results = self._store.client().search(
                self._collection,
                data=list(vectors),
                limit=limit,
                anns_field="vector",
                filter="" if rows is None else rows_filter(rows),
                search_params=params,
                output_fields=["passage"],
            )
        for i, hits in enumerate(results):
            found = [int(hit["passage"]) for hit in hits]
            out[i, : len(found)] = found
        return out

    def bm25(self, text: str, n: int, expression: str = "") -> dict[int, float]:
        """Returns the ``n`` best rows for BM25 terms (spelled, space-separated), best first.

        Scores are qa's (Milvus's times ``1 / (k1 + 1)``, a factor that Lucene's BM25, as
        bm25s computes it, leaves out).
        """
        with self._store.calls("searching", gone=True):
            results = self._store.client().search(
                self._collection,
                data=[text],
                limit=min(n, _TOPK),
                anns_field="bm25",
                filter=expression,
                search_params={"metric_type": "BM25"},
                output_fields=["passage"],
            )
        # Milvus reports BM25 scores as distances; Milvus Lite negates them.
        return {int(hit["passage"]): abs(float(hit["distance"])) / (1 + _K1) for hit in results[0]}

    @override
    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        with self._cache_lock:
            cached = {r: self._cache[r] for r in set(rows.tolist()) if r in self._cache}
        missing = sorted(set(rows.tolist()) - set(cached))
        vectors = {r: c.vector for r, c in cached.items()}
        if len(missing) <= _FULL_FETCH:
            vectors |= {r: c.vector for r, c in self._fetch_rows(missing).items()}
        else:
            for start in range(0, len(missing), _FETCH_ROWS):
                batch = missing[start : start + _FETCH_ROWS]
                found = self.query_rows(batch, ["passage", "vector"])
                vectors |= {int(e["passage"]): np.asarray(e["vector"], np.float32) for e in found}
        out = np.zeros((len(rows), self.manifest.dim), dtype=np.float32)
        for i, row in enumerate(rows.tolist()):
            out[i] = vectors[row]
        return out

    def query_rows(self, rows: list[int], fields: list[str]) -> list[dict[str, Any]]:
        """Returns fields of the given rows (any order).

        Raises:
            GenerationGoneError: If the collection does not exist (any more).
            IndexCorruptError: If a row is missing.
        """
        with self._store.calls("reading passages", gone=True):
            found = self._store.client().query(
                self._collection, filter=rows_filter(rows), output_fields=fields, limit=len(rows)
            )
        if len(found) != len(rows):
            raise IndexCorruptError(
                f"{self._collection} lacks passages of {self._store.location}; "
                f"rebuild it with `qa index PATH --rebuild --index {self._store.location}`"
            )
        return found

    def _fetch_rows(self, rows: list[int]) -> dict[int, _Row]:
        """Fetches rows whole (vector, text, terms, sentences) and keeps them."""
        if not rows:
            return {}
        fetched = {}
        for e in self.query_rows(rows, ["passage", "vector", "text", "terms", "sentences"]):
            fetched[int(e["passage"])] = _Row(
                np.asarray(e["vector"], dtype=np.float32),
                e["text"],
                frozenset(_index_term(t) for t in e["terms"].split()),
                _sentences(e["sentences"], self.manifest.dim),
            )
        with self._cache_lock:
            self._cache.update(fetched)
            while len(self._cache) > _CACHED_ROWS:
                self._cache.popitem(last=False)
        return fetched

    def _row(self, row: int) -> _Row:
        with self._cache_lock:
            found = self._cache.get(row)
            if found is not None:
                self._cache.move_to_end(row)
                return found
        return self._fetch_rows([row])[row]

    @override
    def lexical_search(
        self, weights: Mapping[str, float], n: int, rows: np.ndarray | None = None
    ) -> LexicalHits:
        # Milvus cannot weight query terms: one query per weight, the scores summed.
        groups: dict[float, list[str]] = {}
        for t, w in weights.items():
            if t in self._idf and w > 0:
                groups.setdefault(float(w), []).append(bm25_term(t))
        if not groups or not n:
            return _Hits(self, "", {})
        expression = "" if rows is None else rows_filter(rows)
        hits = [
            (w, _Hits(self, text, self.bm25(text, n, expression)))
            for w, text in ((w, " ".join(terms)) for w, terms in groups.items())
        ]
        return hits[0][1] if len(hits) == 1 and hits[0][0] == 1.0 else _Weighted(hits, n)

    @override
    def idf(self, terms: Mapping[str, float] | list[str]) -> dict[str, float]:
        return {t: self._idf.get(t, self._unknown_idf) for t in terms}

    @override
    def passage_terms(self, row: int) -> frozenset[str]:
        return self._row(row).terms

    @override
    def sentence_cosines(self, row: int, query: np.ndarray) -> np.ndarray | None:
        count = int(self.sentence_offsets[row + 1] - self.sentence_offsets[row])
        if not count:
            return None
        sentences = self._row(row).sentences
        if len(sentences) != count:
            raise IndexCorruptError(
                f"passage {row} of {self._collection} has {len(sentences)} sentence vectors, "
                f"not {count}; rebuild it with `qa index PATH --rebuild --index "
                f"{self._store.location}`"
            )
        return np.asarray(sentences, dtype=np.float32) @ query

    @override
    def passage_text(self, row: int) -> str:
        return self._row(row).text

    @override
    def source_text(self, name: str) -> str:
        record = self._by_name[name]
        return self.document_bytes(record.byte_start, record.byte_end).decode("utf-8")

    def document_bytes(self, start: int, end: int) -> bytes:
        """Returns bytes ``start..end`` of the stored UTF-8 text of all articles."""
        if end <= start:
            return b""
        first, last = start // _PART_BYTES, (end - 1) // _PART_BYTES
        try:
            data = b"".join(self.file_parts(DOCUMENTS, first, last))
        except ValueError as exc:
            raise IndexCorruptError(f"{exc}; rebuild the index at {self._store.location}") from None
        return data[start - first * _PART_BYTES : end - first * _PART_BYTES]

    @override
    def source_record(self, name: str) -> SourceRecord | None:
        return self._by_name.get(name)

    @override
    def line_map(self, record: SourceRecord) -> np.ndarray | None:
        if record.first_line < 0:
            return None
        return self.lines[record.first_line : record.first_line + record.line_count]


class MilvusStore(Store):
    """An index in Milvus (Lite or a server): its generations, alias and writer lock.

    Args:
        spec: The location after ``milvus:``: ``PATH.db`` (Milvus Lite) or a server URI
            (``http://HOST:PORT``, ``https://…``, ``tcp://…``, ``unix:…``), optionally
            followed by ``#PREFIX``, the index's name in that Milvus (default ``qa``).

    Raises:
        QAError: If the location is neither.
    """

    def __init__(self, spec: str) -> None:
        self.location = PREFIX + spec
        uri, _, prefix = spec.partition("#")
        prefix = prefix or DEFAULT_PREFIX
        if not _NAME.fullmatch(prefix):
            raise QAError(
                f"{self.location}: the index name {prefix!r} after # must be letters, digits "
                "and underscores, not starting with a digit"
            )
        self.lite = uri.endswith(".db")
        if self.lite:
            self.path: Path | None = Path(uri).expanduser().absolute()
            self.uri = str(self.path)
        elif re.match(r"(https?|tcp)://|unix:", uri):
            self.path, self.uri = None, uri
        else:
            raise QAError(
                f"{self.location} is neither a Milvus Lite file (milvus:PATH.db) nor a Milvus "
                "server (milvus:http://HOST:19530)"
            )
        self.names = _Names(prefix)
        self._client: MilvusClient | None = None
        self._client_lock = threading.Lock()

    def _hint(self) -> str:
        return f"build one with `qa index PATH --index {self.location}`"

    def client(self) -> MilvusClient:
        """Returns the client, connecting on first use.

        Raises:
            MilvusError: If Milvus cannot be reached (or the Lite file opened).
        """
        with self._client_lock:
            if self._client is None:
                token = _OWN_CALL.set(True)
                try:
                    self._client = MilvusClient(uri=self.uri, timeout=_CONNECT_SECONDS)
                except MilvusException as exc:
                    if self.lite:
                        raise MilvusError(
                            f"cannot open the Milvus Lite file {self.uri}: {exc.message}. Milvus "
                            "Lite serves one process at a time: stop the other one, or serve "
                            f"the file with `milvus-lite server --data-dir {self.uri} --host "
                            "127.0.0.1 --port 19530` and use --index milvus:http://127.0.0.1:19530"
                        ) from None
                    raise MilvusError(
                        f"cannot reach Milvus at {self.uri} ({exc.message}); is the server running?"
                    ) from None
                finally:
                    _OWN_CALL.reset(token)
            return self._client

    @contextlib.contextmanager
    def calls(self, doing: str, gone: bool = False) -> Iterator[None]:
        """Turns Milvus's errors into ``MilvusError``s, and keeps pymilvus from logging them.

        Args:
            doing: What the calls do, for the message.
            gone: Raise ``GenerationGoneError`` when a collection does not exist.
        """
        token = _OWN_CALL.set(True)
        try:
            yield
        except MilvusException as exc:
            if _unreachable(exc):
                raise MilvusError(
                    f"cannot reach Milvus at {self.uri} ({exc.message}) while {doing}; is the "
                    "server running?"
                ) from None
            if gone and exc.code == ErrorCode.COLLECTION_NOT_FOUND:
                raise GenerationGoneError(
                    f"Milvus at {self.uri}: {exc.message}; the index at {self.location} was "
                    "replaced by newer generations since it was loaded: load it again"
                ) from None
            raise MilvusError(f"Milvus at {self.uri} failed {doing}: {exc.message}") from None
        finally:
            _OWN_CALL.reset(token)

    @override
    def exists(self) -> bool:
        return self._current() is not None

    def _current(self) -> str | None:
        if self.path is not None and not self.path.exists():
            return None  # connecting would create the file
        with self.calls("reading the index alias"):
            client = self.client()
            if self.names.alias not in client.list_aliases().get("aliases", []):
                return None
            collection = client.describe_alias(self.names.alias)["collection_name"]
        generation = self.names.generation_of(collection)
        if generation is None or collection != self.names.passages(generation):
            raise IndexCorruptError(
                f"the alias {self.names.alias} of {self.location} points at {collection}, "
                "which is no qa generation; rebuild it with "
                f"`qa index PATH --rebuild --index {self.location}`"
            )
        return generation

    @override
    def current(self) -> str:
        generation = self._current()
        if generation is None:
            raise IndexNotFoundError(f"no index at {self.location}: {self._hint()}")
        return generation

    @override
    def open(self) -> MilvusReader:
        return self._open(lambda generation: MilvusReader(self, generation))

    def _open(self, opener: Any) -> Any:
        """Opens the current generation with ``opener``, again if it was replaced meanwhile."""
        for attempt in range(3):
            generation = self.current()
            try:
                return opener(generation)
            except GenerationGoneError:
                # A writer may have replaced and dropped it since we read the alias.
                if attempt < 2 and self.current() != generation:
                    continue
                raise IndexCorruptError(
                    f"the collections of {generation} are missing in {self.location}; "
                    f"rebuild it with `qa index PATH --rebuild --index {self.location}`"
                ) from None
            except IndexMismatchError as exc:
                raise IndexMismatchError(
                    f"{exc} (index at {self.location}); rebuild it with "
                    f"`qa index PATH --rebuild --index {self.location}`"
                ) from None
            except (ValueError, KeyError, UnicodeDecodeError) as exc:
                raise IndexCorruptError(
                    f"index at {self.location} is damaged: {exc}; rebuild it with "
                    f"`qa index PATH --rebuild --index {self.location}`"
                ) from None
        raise AssertionError("unreachable")

    def _staging(self) -> Path:
        """This index's folder for generations being written or downloaded."""
        key = hashlib.sha256(f"{self.uri}#{self.names.alias}".encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / "qa-milvus" / key

    @override
    def open_files(self) -> Snapshot:
        def download(generation: str) -> Snapshot:
            reader = MilvusReader(self, generation)
            folder = self._staging() / f"{generation}.files"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            try:
                snapshot = _download(reader, folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            weakref.finalize(snapshot, shutil.rmtree, folder, True)
            return snapshot

        return self._open(download)

    @override
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        if self.path is None:
            with self._server_lock():
                yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with writer_lock(self.path.with_name(self.path.name + ".lock"), self.location):
            yield

    @contextlib.contextmanager
    def _server_lock(self) -> Iterator[None]:
        """Best effort: a server has no locks, so writers register in a collection.

        Each writer adds a row naming itself to ``<prefix>_lock`` and reads the rows back
        (strongly consistent): it holds the lock if its row is the only one, else it
        removes its row and fails. Two writers that start at the same moment may thus
        both fail, never both hold it. A writer that dies holding it leaves its row:
        the error message says how to remove it.
        """
        name = self.names.lock
        me = secrets.randbits(62)
        since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        holder = f"pid {os.getpid()} on {socket.gethostname()} since {since} UTC"
        with self.calls("taking the writer lock"):
            client = self.client()
            if not client.has_collection(name):
                schema = client.create_schema()
                schema.add_field("writer", DataType.INT64, is_primary=True)
                schema.add_field("holder", DataType.VARCHAR, max_length=512)
                schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
                index = client.prepare_index_params()
                index.add_index("unused", index_type="FLAT", metric_type="L2")
                with contextlib.suppress(MilvusException):  # another writer made it
                    client.create_collection(name, schema=schema, index_params=index)
            client.insert(name, [{"writer": me, "holder": holder, "unused": [0.0, 0.0]}])
            rows = client.query(
                name,
                filter="",
                output_fields=["writer", "holder"],
                limit=_TOPK,
                consistency_level="Strong",
            )
            others = [r["holder"] for r in rows if int(r["writer"]) != me]
            if others:
                client.delete(name, filter=f"writer == {me}")
        if others:
            raise IndexLockedError(
                f"another writer ({others[0]}) is writing the index at {self.location}; wait "
                "for it to finish and try again. If no writer is running (one crashed), drop "
                f"the Milvus collection {name} and try again"
            )
        try:
            yield
        finally:
            try:
                with self.calls("releasing the writer lock"):
                    self.client().delete(name, filter=f"writer == {me}")
            except MilvusError as exc:
                log.warning("%s; the next writer will find the lock taken", exc)

    @override
    def new_generation(self) -> Path:
        staging = self._staging()
        for stale in staging.glob("*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = staging / f"gen-{time.time_ns()}.tmp"
        tmp.mkdir(parents=True)
        return tmp

    @override
    def publish(self, tmp: Path, manifest: Manifest) -> None:
        files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.name != MANIFEST}
        manifest = replace(manifest, files=files)
        (tmp / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        lexical = LexicalIndex.load(tmp, manifest.passage_count)
        # The empty string is no index term: its idf is that of a term no passage holds.
        idf = {"idf": lexical.idf(lexical.vocab), "unknown": lexical.idf([""])[""]}
        (tmp / IDF).write_text(json.dumps(idf, ensure_ascii=False), encoding="utf-8")
        generation = f"gen_{time.time_ns()}_{os.getpid()}"
        passages, files_collection = self.names.passages(generation), self.names.files(generation)
        with self.calls(f"publishing {generation}"):
            client = self.client()
            try:
                _upload_passages(client, passages, tmp, manifest, lexical)
                _upload_files(client, files_collection, tmp)
                count = client.query(
                    passages, filter="", output_fields=["count(*)"], consistency_level="Strong"
                )[0]["count(*)"]
                if count != manifest.passage_count:
                    raise MilvusError(
                        f"Milvus at {self.uri} holds {count} of the "
                        f"{manifest.passage_count} passages written to {passages}"
                    )
            except BaseException:
                for name in (passages, files_collection):
                    with contextlib.suppress(MilvusException):
                        client.drop_collection(name)
                raise
            previous = self._current()
            if previous is None:
                client.create_alias(passages, self.names.alias)
            else:
                client.alter_alias(passages, self.names.alias)
            # Keep the previous generation for readers opening it right now.
            for name in client.list_collections():
                old = self.names.generation_of(name)
                if old is not None and old not in (generation, previous):
                    client.drop_collection(name)
        shutil.rmtree(tmp, ignore_errors=True)
        log.info("published %s to %s", generation, self.location)


def _passage_schema(client: MilvusClient, dim: int) -> Any:
    """The passages collection's fields and BM25 function.

    A server keeps the fields read only for the few rows of an answer on disk,
    memory-mapped (Milvus Lite ignores that): only the vectors and BM25 need memory.
    """
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("passage", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("text", DataType.VARCHAR, max_length=_VARCHAR, mmap_enabled=True)
    schema.add_field(
        "terms",
        DataType.VARCHAR,
        max_length=_VARCHAR,
        enable_analyzer=True,
        analyzer_params={"tokenizer": "standard"},
        mmap_enabled=True,
    )
    schema.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field(
        "sentences",
        DataType.ARRAY,
        element_type=DataType.VARCHAR,
        max_capacity=_SENTENCES,
        max_length=_VARCHAR,
        mmap_enabled=True,
    )
    schema.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["terms"],
            output_field_names=["bm25"],
        )
    )
    return schema


def _both(params: dict[str, Any]) -> dict[str, Any]:
    """Returns index parameters as both Milvus and Milvus Lite read them.

    pymilvus 3 sends them as keys of their own, which a server reads; Milvus Lite 3.2
    reads only a ``params`` key holding them all (as pymilvus 2 sent them), which a
    server reads too.
    """
    return {**params, "params": params}


def _too_long(what: str, row: int, size: int, limit: int) -> MilvusError:
    return MilvusError(
        f"passage {row} has {what} {size}, over Milvus's {limit}: index with a smaller --chunk-size"
    )


def _upload_passages(
    client: MilvusClient, name: str, tmp: Path, manifest: Manifest, lexical: LexicalIndex
) -> None:
    """Creates, fills, indexes and loads a generation's passages collection."""
    n = manifest.passage_count
    client.create_collection(name, schema=_passage_schema(client, manifest.dim))
    passages = np.load(tmp / PASSAGES, allow_pickle=False)
    offsets = np.load(tmp / SENTENCE_OFFSETS, allow_pickle=False)
    vectors = np.load(tmp / VECTORS, mmap_mode="r", allow_pickle=False)
    sentences = np.load(tmp / SENTENCE_VECTORS, mmap_mode="r", allow_pickle=False)
    documents = ByteFile(tmp / DOCUMENTS)
    spelled = [bm25_term(t) for t in lexical.vocab]
    for start in range(0, n, _INSERT_ROWS):
        stop = min(start + _INSERT_ROWS, n)
        tokens, lengths = lexical.passage_tokens(start, stop)
        ends = np.cumsum(lengths)
        rows = []
        for i in range(start, stop):
            p = passages[i]
            text = documents[int(p["byte_start"]) : int(p["byte_end"])]
            ids = tokens[ends[i - start] - lengths[i - start] : ends[i - start]]
            terms = " ".join(spelled[t] for t in ids)
            own = sentences[offsets[i] : offsets[i + 1]]
            if len(text) > _VARCHAR:
                raise _too_long("a text of bytes", i, len(text), _VARCHAR)
            if len(terms) > _VARCHAR:
                raise _too_long("BM25 terms of characters", i, len(terms), _VARCHAR)
            if len(own) > _SENTENCES:
                raise _too_long("sentences", i, len(own), _SENTENCES)
            rows.append(
                {
                    "passage": i,
                    "vector": np.asarray(vectors[i], dtype=np.float32),
                    "text": text.decode("utf-8"),
                    "terms": terms,
                    "sentences": [_b64(np.asarray(s).tobytes()) for s in own],
                }
            )
        client.insert(name, rows)
    client.flush(name)
    index = client.prepare_index_params()
    # Named after their fields, as the reader asks for them (a server may name them else).
    if manifest.dense_kind is DenseKind.FLAT:
        index.add_index("vector", index_name="vector", index_type="FLAT", metric_type="IP")
    else:
        index.add_index(
            "vector",
            index_name="vector",
            index_type="HNSW",
            metric_type="IP",
            params=_both(_HNSW),
        )
    index.add_index(
        "bm25",
        index_name="bm25",
        index_type="SPARSE_INVERTED_INDEX",
        metric_type="BM25",
        params=_both({"bm25_k1": _K1, "bm25_b": _B}),
    )
    client.create_index(name, index)
    client.load_collection(name)


def _upload_files(client: MilvusClient, name: str, tmp: Path) -> None:
    """Creates, fills and loads a generation's files collection."""
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("file", DataType.VARCHAR, max_length=255)
    schema.add_field("part", DataType.INT64)
    schema.add_field("data", DataType.VARCHAR, max_length=_VARCHAR)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field
    client.create_collection(name, schema=schema)
    rows = (
        {"id": i, "file": file, "part": part, "data": data, "unused": [0.0, 0.0]}
        for i, (file, part, data) in enumerate(_file_parts(tmp))
    )
    while batch := list(itertools.islice(rows, _INSERT_PARTS)):
        client.insert(name, batch)
    client.flush(name)
    index = client.prepare_index_params()
    index.add_index("unused", index_type="FLAT", metric_type="L2")
    client.create_index(name, index)
    client.load_collection(name)


def _file_parts(tmp: Path) -> Iterator[tuple[str, int, str]]:
    """Yields (file, part, base64 data) for every file to upload; an empty file has one part."""
    for path in sorted(tmp.iterdir()):
        if path.name in _NOT_UPLOADED:
            continue
        with open(path, "rb") as f:
            part = 0
            while (data := f.read(_PART_BYTES)) or not part:
                yield path.name, part, _b64(data)
                part += 1


def _download(reader: MilvusReader, folder: Path) -> Snapshot:
    """Writes a generation's files into ``folder``, as a local index has them, and opens them.

    The vectors and sentence vectors are read back from the passages collection; the
    FAISS index is built anew from the vectors.

    Raises:
        GenerationGoneError: If the generation's collections do not exist (any more).
        ValueError: If a file is damaged.
    """
    manifest = reader.manifest
    for name, size in manifest.files.items():
        if name in _NOT_UPLOADED:
            continue
        with open(folder / name, "wb") as f:
            for part in reader.file_parts(name):
                f.write(part)
        if (folder / name).stat().st_size != size:
            raise ValueError(f"{name} is not the {size} bytes written")
    (folder / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    n, dim = manifest.passage_count, manifest.dim
    offsets = reader.sentence_offsets
    vectors = np.lib.format.open_memmap(
        folder / VECTORS, mode="w+", dtype=np.float32, shape=(n, dim)
    )
    sentences = np.lib.format.open_memmap(
        folder / SENTENCE_VECTORS, mode="w+", dtype=SENTENCE_DTYPE, shape=(int(offsets[-1]), dim)
    )
    for start in range(0, n, _DOWNLOAD_ROWS):
        batch = list(range(start, min(start + _DOWNLOAD_ROWS, n)))
        for e in reader.query_rows(batch, ["passage", "vector", "sentences"]):
            row = int(e["passage"])
            vectors[row] = e["vector"]
            own = _sentences(e["sentences"], dim)
            if len(own) != offsets[row + 1] - offsets[row]:
                raise ValueError(f"passage {row} does not have its {SENTENCE_VECTORS} rows")
            sentences[offsets[row] : offsets[row + 1]] = own
    vectors.flush()
    sentences.flush()
    dense = create_dense(manifest.dense_kind, dim, n)
    dense.add(vectors)
    dense.save(folder / DENSE)
    del vectors, sentences
    return Snapshot(folder, manifest)
