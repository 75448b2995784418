"""Rows read on demand equal NumPy's own reading; damaged files are refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vectorstore.store.local.rows import ByteFile, RowFile


@pytest.mark.parametrize("array", [np.arange(60, dtype="<f2").reshape(20, 3), np.arange(7)])
def test_rows_equal_numpy(tmp_path: Path, array: np.ndarray) -> None:
    path = tmp_path / "a.npy"
    np.save(path, array, allow_pickle=False)
    rows = RowFile(path)
    assert len(rows) == len(array) and rows.shape == array.shape and rows.dtype == array.dtype
    np.testing.assert_array_equal(rows[3], array[3])
    np.testing.assert_array_equal(rows[2:5], array[2:5])
    np.testing.assert_array_equal(rows[5:5], array[5:5])
    for taken in ([4, 0, 4], [1, 2, 3, 5, 6, 0], [], [19 % len(array)]):
        np.testing.assert_array_equal(rows.take(taken), array[np.array(taken, dtype=int)])
    assert ByteFile(path)[0:6] == path.read_bytes()[:6]


def test_a_truncated_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.npy"
    np.save(path, np.ones((10, 4), dtype=np.float32), allow_pickle=False)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ValueError, match="does not hold the rows"):
        RowFile(path)
