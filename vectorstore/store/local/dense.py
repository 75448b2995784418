"""Dense (vector) indexes: one interface, FAISS backends behind it, chosen by size.

Search returns candidates; callers rescore them with the exact stored vectors, so an
approximate backend only has to find the right candidates (recall), not rank them.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path

import faiss
import numpy as np

from vectorstore.kinds import DenseKind

__all__ = ["DenseIndex", "DenseKind", "create_dense", "load_dense"]

_TRAIN_PER_LIST = 40  # training vectors per inverted list (FAISS wants 39 or more)


class DenseIndex(ABC):
    """Nearest neighbours by inner product over unit vectors (cosine similarity)."""

    kind: DenseKind

    def __init__(self, index: faiss.Index) -> None:
        self._index = index

    @property
    def size(self) -> int:
        """Number of vectors in the index."""
        return int(self._index.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        """Adds vectors (on all cores); their ids continue from ``size``."""
        if len(vectors):
            faiss.omp_set_num_threads(os.cpu_count() or 1)
            self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(
        self, queries: np.ndarray, k: int, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Returns (scores, ids) of shape ``(len(queries), k)``; missing ids are -1.

        Args:
            queries: Unit query vectors, one per row.
            k: Neighbours per query.
            rows: If given, only these ids are searched (FAISS filters while it scans, so
                an exact index still returns the ``k`` best of them).
        """
        # One thread: a single question is latency-bound, and threads fight under load.
        faiss.omp_set_num_threads(1)
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if rows is None:
            return self._index.search(queries, k)
        mask = np.zeros(self.size, dtype=bool)
        mask[rows] = True
        bits = np.packbits(mask, bitorder="little")  # kept alive until the search returns
        selector = faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(bits))
        return self._index.search(queries, k, params=self._parameters(selector))

    def _parameters(self, selector: faiss.IDSelector) -> faiss.SearchParameters:
        """Returns the search parameters that restrict a search to ``selector``."""
        return faiss.SearchParameters(sel=selector)

    def save(self, path: Path) -> None:
        """Writes the index to a file (FAISS's own format)."""
        faiss.write_index(self._index, str(path))

    @classmethod
    @abstractmethod
    def create(cls, dim: int, size: int) -> DenseIndex:
        """Returns an empty index for ``size`` vectors of ``dim`` dimensions."""

    def configure(self) -> None:  # noqa: B027 - optional hook
        """Sets search parameters after creating or loading."""


class FlatIndex(DenseIndex):
    """Exact search over all vectors (FAISS ``IndexFlatIP``)."""

    kind = DenseKind.FLAT

    @classmethod
    def create(cls, dim: int, size: int) -> FlatIndex:
        return cls(faiss.IndexFlatIP(dim))


class IVFIndex(DenseIndex):
    """Approximate search: inverted lists over k-means cells, 8-bit scalar vectors.

    Vectors take a quarter of float32's memory; a question searches the ``nprobe``
    nearest cells. Recall against exact search is measured in benchmarks/.
    """

    kind = DenseKind.IVF

    @classmethod
    def create(cls, dim: int, size: int) -> IVFIndex:
        nlist = 1024 if size <= 200_000 else 4096
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        index.own_fields = True
        quantizer.this.disown()
        return cls(index)

    def configure(self) -> None:
        self._index.nprobe = max(32, self._index.nlist // 64)

    def _parameters(self, selector: faiss.IDSelector) -> faiss.SearchParameters:
        return faiss.SearchParametersIVF(sel=selector, nprobe=self._index.nprobe)

    def add(self, vectors: np.ndarray) -> None:
        if not self._index.is_trained and len(vectors):
            rows = min(len(vectors), _TRAIN_PER_LIST * self._index.nlist)
            step = max(1, len(vectors) // rows)
            faiss.omp_set_num_threads(os.cpu_count() or 1)
            self._index.train(np.ascontiguousarray(vectors[::step][:rows], dtype=np.float32))
        super().add(vectors)


_BACKENDS: dict[DenseKind, type[DenseIndex]] = {DenseKind.FLAT: FlatIndex, DenseKind.IVF: IVFIndex}


def create_dense(kind: DenseKind, dim: int, size: int) -> DenseIndex:
    """Returns an empty dense index of a concrete kind, sized for ``size`` vectors."""
    index = _BACKENDS[DenseKind(kind)].create(dim, size)
    index.configure()
    return index


def load_dense(kind: DenseKind, path: Path, dim: int) -> DenseIndex:
    """Reads a dense index written by ``DenseIndex.save``.

    Raises:
        ValueError: If the file is not a FAISS index of the expected kind and dimension.
    """
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        raise ValueError(f"{path.name} is not a readable FAISS index") from exc
    if index.d != dim:
        raise ValueError(f"{path.name} holds {index.d}-dimensional vectors, not {dim}")
    backend = _BACKENDS.get(DenseKind(kind))
    expected = {DenseKind.FLAT: faiss.IndexFlat, DenseKind.IVF: faiss.IndexIVF}.get(DenseKind(kind))
    if backend is None or expected is None or not isinstance(index, expected):
        raise ValueError(f"{path.name} is not a {kind} index")
    dense = backend(index)
    dense.configure()
    return dense
