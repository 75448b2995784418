"""Reading rows of large files on demand, without mapping them into memory.

A search reads a few rows out of millions. Memory-mapped, each read maps a whole
page-cache folio (some 400 KB on this kind of machine) into the process, so resident
memory grows with every question; read with ``pread``, only the bytes asked for are
copied. Builds, which read whole runs, keep NumPy's memory maps.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["ByteFile", "RowFile"]


class ByteFile:
    """A file's bytes, read on demand."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - open while the snapshot is in use
        self.size = os.fstat(self._file.fileno()).st_size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, span: slice) -> bytes:
        """Returns the bytes of ``span`` (step 1)."""
        start, stop, _ = span.indices(self.size)
        return os.pread(self._file.fileno(), max(stop - start, 0), start)


class RowFile:
    """The rows of a ``.npy`` array (1-D: its elements), read on demand.

    Args:
        path: The ``.npy`` file (C order, no pickled objects).
    """

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read(f)
            offset = f.tell()
        if fortran or not shape or dtype.hasobject:
            raise ValueError(f"{path.name} is not an array of rows in C order")
        self.shape, self.dtype = tuple(shape), dtype
        self._bytes = ByteFile(path)
        self._offset = offset
        self._row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        if offset + shape[0] * self._row_bytes != self._bytes.size:
            raise ValueError(f"{path.name} does not hold the rows its header announces")

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: int | slice) -> np.ndarray:
        """Returns one row, or the rows of a slice (step 1)."""
        single = isinstance(rows, int | np.integer)
        start, stop, step = (slice(int(rows), int(rows) + 1) if single else rows).indices(len(self))
        if step != 1:
            raise ValueError("rows are read in one run: a slice with step 1")
        count = max(stop - start, 0)
        at = self._offset + start * self._row_bytes
        data = self._bytes[at : at + count * self._row_bytes]
        out = np.frombuffer(data, dtype=self.dtype).reshape(count, *self.shape[1:])
        return out[0] if single else out

    def take(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """Returns the given rows, in order, reading each run of consecutive rows at once."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), *self.shape[1:]), dtype=self.dtype)
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        for start, stop in zip(np.r_[0, breaks], np.r_[breaks, len(rows)], strict=True):
            if start < stop:
                out[start:stop] = self[int(rows[start]) : int(rows[stop - 1]) + 1]
        return out
