"""The first two moments of a set of unit vectors: the spread of a query's cosines to them.

A question's cosines to passages have a mean and a spread of their own (some questions are
close to everything), so a cosine alone says little across questions. The mean vector and
the mean outer product of the passages give both exactly, for any query, in O(dim²).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["Moments"]

_BLOCK = 1 << 16  # vectors read at a time


class Moments:
    """The mean and the mean outer product of a set of vectors.

    Args:
        mean: The mean vector, shape ``(dim,)``.
        outer: The mean of ``v vᵀ`` over the vectors, shape ``(dim, dim)``.
    """

    def __init__(self, mean: np.ndarray, outer: np.ndarray) -> None:
        self.mean = np.asarray(mean, dtype=np.float64)
        self.outer = np.asarray(outer, dtype=np.float64)

    @classmethod
    def of(cls, vectors: np.ndarray) -> Moments:
        """Returns the moments of the rows of ``vectors`` (read in blocks; may be a memmap)."""
        dim = vectors.shape[1]
        total, outer = np.zeros(dim), np.zeros((dim, dim))
        for start in range(0, len(vectors), _BLOCK):
            block = np.asarray(vectors[start : start + _BLOCK], dtype=np.float32)
            total += block.sum(axis=0, dtype=np.float64)
            outer += block.T @ block
        n = max(len(vectors), 1)
        return cls(total / n, outer / n)

    def blend(self, other: Moments, weight: float) -> Moments:
        """Returns these moments mixed with ``other``'s, which get the share ``weight``."""
        return Moments(
            (1 - weight) * self.mean + weight * other.mean,
            (1 - weight) * self.outer + weight * other.outer,
        )

    def without(self, vectors: np.ndarray, total: int) -> Moments:
        """Returns the moments of the ``total`` vectors these describe, less ``vectors``."""
        v = np.asarray(vectors, dtype=np.float64)
        rest = max(total - len(v), 1)
        return Moments(
            (total * self.mean - v.sum(axis=0)) / rest, (total * self.outer - v.T @ v) / rest
        )

    @classmethod
    def load(cls, path: Path, dim: int) -> Moments:
        """Reads moments written by ``save``.

        Raises:
            ValueError: If the file does not hold the moments of ``dim``-dimensional vectors.
        """
        data = np.load(path, allow_pickle=False)
        if data.shape != (dim + 1, dim) or not np.issubdtype(data.dtype, np.floating):
            raise ValueError(f"{path.name} does not hold the moments of {dim}-d vectors")
        return cls(data[0], data[1:])

    def save(self, path: Path, dtype: type[np.floating] = np.float64) -> None:
        """Writes the moments as one ``(dim + 1, dim)`` array: the mean, then the outer product.

        Args:
            path: The ``.npy`` file.
            dtype: The float type stored (float32 halves the file).
        """
        np.save(path, np.vstack([self.mean, self.outer]).astype(dtype), allow_pickle=False)

    def spread(self, query: np.ndarray) -> tuple[float, float]:
        """Returns the mean and standard deviation of ``query``'s cosines to the vectors."""
        q = np.asarray(query, dtype=np.float64)
        mean = float(self.mean @ q)
        variance = float(q @ self.outer @ q) - mean * mean
        return mean, float(np.sqrt(max(variance, 1e-12)))

    def z(self, query: np.ndarray, cosines: np.ndarray) -> np.ndarray:
        """Returns how many standard deviations each cosine stands above the mean."""
        mean, spread = self.spread(query)
        return (np.asarray(cosines, dtype=np.float64) - mean) / spread
