"""The store interface: where an index lives, and what a search reads from it.

A ``Store`` holds published generations of an index and lets one writer at a time
publish a new one; ``Store.open`` gives a ``Reader`` of the current generation. qa's
search (``qa.Index``) and the builder use only these two interfaces, so every backend
serves the same API:

- the local folder (``vectorstore.store.local.folder``: FAISS + BM25 files, the default);
- Milvus (``vectorstore.store.milvus.store``, the extra ``qa[milvus]``): a location starting with
  ``milvus:``, such as ``milvus:./qa-milvus.db`` (Milvus Lite) or
  ``milvus:http://HOST:19530`` (a server or cluster).

``open_store`` picks the backend from the location.
"""

from __future__ import annotations

import contextlib
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vectorstore.errors import QAError

if TYPE_CHECKING:
    from vectorstore.model.moments import Moments
    from vectorstore.store.local.folder import Manifest, Snapshot, SourceRecord

__all__ = ["MILVUS_PREFIX", "LexicalHits", "Reader", "Store", "open_store"]

MILVUS_PREFIX = "milvus:"


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
            weights: The question's index terms (``vectorstore.store.local.lexical.tokenize``) with
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
    def open_files(self) -> Snapshot:
        """Opens the published generation as local files, which an update copies from.

        A remote store copies the generation into a local folder first.

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


def open_store(location: str | os.PathLike[str]) -> Store:
    """Returns the store at a location: ``milvus:…`` is Milvus, anything else a folder.

    Raises:
        QAError: If Milvus is asked for and ``pymilvus`` is not installed.
    """
    text = os.fspath(location)
    if text.startswith(MILVUS_PREFIX):
        try:
            from vectorstore.store.milvus.store import MilvusStore
        except ImportError as exc:
            raise QAError(
                f"{text} is a Milvus location, which needs pymilvus: pip install 'qa[milvus]' "
                f"({exc})"
            ) from exc
        return MilvusStore(text[len(MILVUS_PREFIX) :])
    from vectorstore.store.local.folder import IndexDir

    return IndexDir(text)
