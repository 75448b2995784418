"""Dense (vector) indexes: one interface, FAISS backends behind it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import StrEnum
from pathlib import Path

import faiss
import numpy as np

__all__ = ["DenseIndex", "DenseKind", "FlatIndex", "create_dense", "load_dense"]


class DenseKind(StrEnum):
    """The dense index backends."""

    FLAT = "flat"


class DenseIndex(ABC):
    """Nearest neighbours by inner product over unit vectors (cosine similarity)."""

    kind: DenseKind

    @property
    @abstractmethod
    def size(self) -> int:
        """Number of vectors in the index."""

    @abstractmethod
    def add(self, vectors: np.ndarray) -> None:
        """Adds vectors; their ids continue from ``size``."""

    @abstractmethod
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Returns (scores, ids) of shape ``(len(queries), k)``; missing ids are -1."""

    @abstractmethod
    def save(self, path: Path) -> None:
        """Writes the index to a file."""


class FlatIndex(DenseIndex):
    """Exact search over all vectors (FAISS ``IndexFlatIP``)."""

    kind = DenseKind.FLAT

    def __init__(self, index: faiss.Index) -> None:
        self._index = index

    @classmethod
    def create(cls, dim: int) -> FlatIndex:
        """Returns an empty index for ``dim``-dimensional vectors."""
        return cls(faiss.IndexFlatIP(dim))

    @property
    def size(self) -> int:  # noqa: D102
        return int(self._index.ntotal)

    def add(self, vectors: np.ndarray) -> None:  # noqa: D102
        if len(vectors):
            self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:  # noqa: D102
        return self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def save(self, path: Path) -> None:  # noqa: D102
        faiss.write_index(self._index, str(path))


_BACKENDS: dict[DenseKind, type[FlatIndex]] = {DenseKind.FLAT: FlatIndex}


def create_dense(kind: DenseKind, dim: int) -> DenseIndex:
    """Returns an empty dense index of the given kind."""
    return _BACKENDS[DenseKind(kind)].create(dim)


def load_dense(kind: DenseKind, path: Path, dim: int) -> DenseIndex:
    """Reads a dense index written by ``DenseIndex.save``.

    Raises:
        ValueError: If the file is not a FAISS index of the expected dimension.
    """
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        raise ValueError(f"{path.name} is not a readable FAISS index") from exc
    if index.d != dim:
        raise ValueError(f"{path.name} holds {index.d}-dimensional vectors, not {dim}")
    return _BACKENDS[DenseKind(kind)](index)
