"""The store interface: where an index lives, and what a search reads from it.

A ``Store`` holds published generations of an index and lets one writer at a time
publish a new one; ``Store.open`` gives a ``Reader`` of the current generation. qa's
search (``qa.Index``) and the builder use only these two interfaces, so every backend
serves the same API:

- the local folder (``vectorstore.store.local``: FAISS + BM25 files, the default);
- Milvus (``vectorstore.store.milvus``, the extra ``qa[milvus]``): a location starting with
  ``milvus:``, such as ``milvus:./qa-milvus.db`` (Milvus Lite) or
  ``milvus:http://HOST:19530`` (a server or cluster).

Backends add themselves with ``register_store`` (each in its package's ``__init__``, by
dotted path, so that this module imports none of them and a backend's dependencies are
imported only when one of its locations is opened); ``open_store`` picks the backend from
the location.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vectorstore.errors import IndexMismatchError, QAError
from vectorstore.kinds import DenseKind, Format

if TYPE_CHECKING:
    from vectorstore.model.moments import Moments

__all__ = [
    "FORMAT_VERSION",
    "LINE_DTYPE",
    "PASSAGE_DTYPE",
    "LexicalHits",
    "Manifest",
    "Reader",
    "SourceRecord",
    "Store",
    "open_store",
    "register_store",
]

# 2-4: vectors from the onnxruntime engine (vectorstore/model/int8.py); 5: passage kinds, and
# headings folded into passages and embedded as context (vectorstore/sources/chunking.py);
# 6: the vectors' moments (moments.npy) and sentence vectors; 7: formats (pages, line
# maps, titles and dates).
FORMAT_VERSION = 7
PASSAGE_DTYPE = np.dtype(
    [
        ("source", "<i4"),
        ("line_start", "<i4"),
        ("line_end", "<i4"),
        ("byte_start", "<i8"),
        ("byte_end", "<i8"),
        ("kind", "u1"),
        ("page", "<i4"),
    ]
)
# One row per readable line of a mapped article: page (0: none), first and last line.
LINE_DTYPE = np.dtype([("page", "<i4"), ("first", "<i4"), ("last", "<i4")])


@dataclass(frozen=True)
class SourceRecord:
    """One indexed article.

    Attributes:
        name: The cited source name.
        sha256: Hash of the file's bytes when it was indexed.
        encoding: The encoding its bytes were decoded with (``binary`` for PDF).
        byte_start: Start of its readable text in documents.bin.
        byte_end: End of its readable text in documents.bin.
        first_passage: Row of its first passage.
        passage_count: Number of its passages (consecutive rows).
        format: Its format (``vectorstore.sources.formats.Format``).
        title: Its title, if the file names one.
        date: Its ISO date (``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``), if the file has one.
        first_line: Its first row in lines.npy; -1 when its readable text is the file's
            own text, line for line (``.txt``).
        line_count: Its number of rows in lines.npy.
    """

    name: str
    sha256: str
    encoding: str
    byte_start: int
    byte_end: int
    first_passage: int
    passage_count: int
    format: str = "txt"
    title: str | None = None
    date: str | None = None
    first_line: int = -1
    line_count: int = 0


@dataclass(frozen=True)
class Manifest:
    """What a generation holds and how it was made.

    ``formats`` are the formats the build took from folders; ``Index.update`` keeps them.
    ``model_revision`` is ``vectorstore.model.embedding.model_revision(model)`` at build time.
    """

    model: str
    dim: int
    chunk_size: int
    chunk_overlap: int
    dense_kind: DenseKind
    roots: tuple[str, ...]
    sources: tuple[SourceRecord, ...]
    passage_count: int
    format_version: int = FORMAT_VERSION
    files: Mapping[str, int] = field(default_factory=dict)
    formats: tuple[Format, ...] = tuple(Format)
    model_revision: str = ""

    def to_json(self) -> str:
        """Serialises the manifest."""
        data = asdict(self)
        data["files"] = dict(self.files)
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parses a manifest.

        Raises:
            IndexMismatchError: If it was written by another format version.
            ValueError: If it is not a valid manifest.
        """
        data: dict[str, Any] = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("the manifest is not a JSON object")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index format version {version!r} is not the supported {FORMAT_VERSION}"
            )
        try:
            return cls(
                model=str(data["model"]),
                dim=int(data["dim"]),
                chunk_size=int(data["chunk_size"]),
                chunk_overlap=int(data["chunk_overlap"]),
                dense_kind=DenseKind(data["dense_kind"]),
                roots=tuple(str(r) for r in data["roots"]),
                sources=tuple(SourceRecord(**s) for s in data["sources"]),
                passage_count=int(data["passage_count"]),
                files={str(k): int(v) for k, v in data["files"].items()},
                # Indexes written before the formats were recorded took them all.
                formats=tuple(Format(f) for f in data.get("formats", tuple(Format))),
                model_revision=str(data.get("model_revision", "")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"the manifest is malformed ({exc})") from exc


class LexicalHits(ABC):
    """A question's BM25 matches: its best rows, and the score of any row.

    Attributes:
        rows: The best rows with a positive score, best first.
    """

    rows: np.ndarray

    @abstractmethod
    def scores(self, rows: np.ndarray) -> np.ndarray:
        """Returns the BM25 scores of the given rows (0 where no term matches)."""


class Reader(ABC):
    """One published generation of an index, opened for reading.

    Rows are passages, numbered from 0 in source order; a source's passages are
    consecutive rows (``SourceRecord.first_passage``, ``passage_count``).

    Attributes:
        manifest: What the generation holds (model, sources, passage count).
        passages: One ``PASSAGE_DTYPE`` row per passage (source, lines, kind, page).
        moments: The mean and mean outer product of the passage vectors.
        source_names: The sources' names, in source order.
        published: When the generation was published (UTC).
        generation: The generation's name.
    """

    manifest: Manifest
    passages: np.ndarray
    moments: Moments
    source_names: tuple[str, ...]
    published: datetime
    generation: str

    @property
    @abstractmethod
    def dense_exact(self) -> bool:
        """Whether ``dense_search`` is exact (then a filtered search needs no fallback)."""

    @abstractmethod
    def dense_search(
        self, vectors: np.ndarray, n: int, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Returns each query's ``n`` nearest rows by cosine, -1 for none.

        Args:
            vectors: Unit query vectors, one per row.
            n: Neighbours per query.
            rows: If given, only these rows (sorted) are searched.
        """

    @abstractmethod
    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """Returns the exact stored vectors of the given rows, in order."""

    @abstractmethod
    def lexical_search(
        self, weights: Mapping[str, float], n: int, rows: np.ndarray | None = None
    ) -> LexicalHits:
        """Returns a question's BM25 matches.

        Args:
            weights: The question's index terms (``vectorstore.sources.terms.tokenize``) with
                their weights (how often it holds them, less for terms carried over).
            n: How many best rows ``LexicalHits.rows`` holds at most.
            rows: If given, only these rows (sorted) can match.
        """

    @abstractmethod
    def idf(self, terms: Mapping[str, float] | list[str]) -> dict[str, float]:
        """Returns each term's inverse document frequency."""

    @abstractmethod
    def passage_terms(self, row: int) -> frozenset[str]:
        """Returns the distinct index terms of a passage."""

    @abstractmethod
    def sentence_cosines(self, row: int, query: np.ndarray) -> np.ndarray | None:
        """Returns the cosines of a passage's sentences to ``query``, or None."""

    @abstractmethod
    def passage_text(self, row: int) -> str:
        """Returns a passage's text."""

    @abstractmethod
    def source_text(self, name: str) -> str:
        """Returns an article's readable text.

        Raises:
            KeyError: If ``name`` is not an indexed source.
        """

    @abstractmethod
    def source_record(self, name: str) -> SourceRecord | None:
        """Returns an indexed article's record, or None."""

    @abstractmethod
    def line_map(self, record: SourceRecord) -> np.ndarray | None:
        """Returns a source's line map (``LINE_DTYPE`` rows), or None for ``.txt``."""


class Store(ABC):
    """Where an index lives: its published generations and the writer's lock."""

    location: str

    @abstractmethod
    def exists(self) -> bool:
        """Whether a generation has been published."""

    @abstractmethod
    def current(self) -> str:
        """Returns the name of the published generation.

        Raises:
            IndexNotFoundError: If nothing has been published.
        """

    @abstractmethod
    def open(self) -> Reader:
        """Opens the published generation.

        Raises:
            IndexNotFoundError: If there is none.
            IndexMismatchError: If it has another format version.
            IndexCorruptError: If it is damaged.
        """

    @abstractmethod
    def open_files(self) -> Reader:
        """Opens the published generation as local files, which an update copies from.

        Every backend returns the local folder's reader
        (``vectorstore.store.local.folder.Snapshot``); a remote store copies the generation
        into a local folder first.

        Raises:
            As ``open``.
        """

    @abstractmethod
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Holds the writer lock (readers need none).

        Raises:
            IndexLockedError: If another writer holds it.
        """

    @abstractmethod
    def new_generation(self) -> Path:
        """Returns an empty local folder to write a generation's files into."""

    @abstractmethod
    def publish(self, tmp: Path, manifest: Manifest) -> None:
        """Makes the generation written in ``tmp`` the current one, atomically."""


@dataclass(frozen=True)
class _Backend:
    """A registered backend: how to make its stores, and what it needs installed."""

    factory: Callable[[str], Store] | str
    name: str
    needs: str


_BACKENDS: dict[str, _Backend] = {}


def register_store(
    prefix: str, factory: Callable[[str], Store] | str, name: str, needs: str = ""
) -> None:
    """Adds a backend: locations that start with ``prefix`` are its stores.

    Args:
        prefix: What its locations start with, such as ``milvus:``; ``""`` for the default
            (the local folder). The longest registered prefix of a location wins.
        factory: Makes a store from the location without its prefix; or the factory's
            dotted path, ``"package.module:name"``, imported when a location of the backend
            is first opened.
        name: The backend's name, for messages.
        needs: What to install when the factory cannot be imported, for the message.
    """
    _BACKENDS[prefix] = _Backend(factory, name, needs)


def open_store(location: str | os.PathLike[str]) -> Store:
    """Returns the store at a location: ``milvus:…`` is Milvus, anything else a folder.

    Raises:
        QAError: If no backend takes the location, or its backend's dependencies are not
            installed (Milvus without ``pymilvus``).
    """
    text = os.fspath(location)
    prefix = max((p for p in _BACKENDS if text.startswith(p)), key=len, default=None)
    if prefix is None:
        raise QAError(f"no store backend takes the location {text!r}")
    backend = _BACKENDS[prefix]
    factory = backend.factory
    if isinstance(factory, str):
        module, _, attribute = factory.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attribute)
        except ImportError as exc:
            raise QAError(
                f"{text} is a {backend.name} location, which needs {backend.needs} ({exc})"
            ) from exc
    return factory(text[len(prefix) :])
