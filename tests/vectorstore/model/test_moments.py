"""Cosine statistics from moments, checked against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from vectorstore import Moments


@pytest.fixture
def vectors() -> np.ndarray:
    rng = np.random.default_rng(7)
    v = rng.normal(size=(300, 16)).astype(np.float32) + 0.5  # anisotropic, like embeddings
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_spread_and_z_equal_the_cosines_statistics(vectors: np.ndarray) -> None:
    query = vectors[3] + vectors[9]
    query /= np.linalg.norm(query)
    cosines = vectors @ query
    mean, spread = Moments.of(vectors).spread(query)
    assert mean == pytest.approx(float(cosines.mean()), abs=1e-6)
    assert spread == pytest.approx(float(cosines.std()), abs=1e-6)
    z = Moments.of(vectors).z(query, cosines[:5])
    assert z == pytest.approx((cosines[:5] - cosines.mean()) / cosines.std(), abs=1e-4)


def test_without_and_blend_equal_the_moments_of_the_rest(
    vectors: np.ndarray, tmp_path: object
) -> None:
    whole, rest = Moments.of(vectors), Moments.of(vectors[40:])
    less = whole.without(vectors[:40], len(vectors))
    assert np.allclose(less.mean, rest.mean) and np.allclose(less.outer, rest.outer)
    half = Moments.of(vectors[:150]).blend(Moments.of(vectors[150:]), 0.5)
    assert np.allclose(half.mean, whole.mean) and np.allclose(half.outer, whole.outer)


def test_saved_moments_load_and_a_wrong_shape_is_refused(vectors: np.ndarray, tmp_path) -> None:
    path = tmp_path / "m.npy"
    Moments.of(vectors).save(path, np.float32)
    assert np.allclose(Moments.load(path, 16).mean, Moments.of(vectors).mean, atol=1e-6)
    with pytest.raises(ValueError, match="moments of 8-d"):
        Moments.load(path, 8)
