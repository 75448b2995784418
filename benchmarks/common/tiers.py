"""The generated corpora: the pool of derived passages, the latency tiers, the real vectors.

``benchmarks/perf.py`` defines them; ``filtered.py``, ``backends.py`` and ``scale.py``
measure on the same tiers (``benchmarks/data/perf/``), built once and kept while the index
code is unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from common.derived import DERIVED_MODEL, DerivedEmbedder, TimingEmbedder, link_tier, write_pool
from common.machine import today
from common.paths import BENCH, DATA, REPO, rel

if TYPE_CHECKING:
    import qa

__all__ = [
    "E5",
    "PERF",
    "PER_FILE",
    "SIGMA",
    "TIERS",
    "build_tier",
    "dense_name",
    "derived_embedder",
    "embedding_with",
    "ensure_pool",
    "exact_top",
    "index_bytes",
    "real_embedder",
    "real_units",
    "timed_build",
]

E5 = "multilingual-e5-small"
PERF = DATA / "perf"
TIERS = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}
PER_FILE = 100  # passages per generated file in the latency tiers
SIGMA = 0.02  # noise per dimension of derived vectors (norm ~0.39 before renormalising)


def timed_build(
    qa_mod: object, folder: Path, index_dir: Path, model: str, **options: object
) -> tuple[object, float]:
    """Builds (or updates) an index; returns it and the wall-clock seconds it took."""
    start = time.perf_counter()
    index = qa_mod.Index.build(  # type: ignore[attr-defined]
        [rel(folder)], index_dir=rel(index_dir), model=model, **options
    )
    return index, time.perf_counter() - start


@contextlib.contextmanager
def embedding_with(model: str, embedder: object, inner: object) -> Iterator[None]:
    """Makes ``embedder`` the model's embedder for a while, then ``inner`` again."""
    from vectorstore.model.embedding import register_embedder

    register_embedder(model, embedder)
    try:
        yield
    finally:
        register_embedder(model, inner)


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def index_bytes(index_dir: Path) -> int:
    """Bytes of the published generation of an index folder (older ones are not counted)."""
    try:
        return _dir_bytes(index_dir / (index_dir / "CURRENT").read_text().strip())
    except OSError:
        return _dir_bytes(index_dir)


def _fingerprint() -> str:
    """Hash of the index-building code and of the corpus generator."""
    digest = hashlib.sha256(f"sigma={SIGMA};per_file={PER_FILE}".encode())
    for path in [*sorted((REPO / "vectorstore").rglob("*.py")), BENCH / "common" / "derived.py"]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def dense_name(index: qa.Index) -> str:
    snapshot = index._snapshot
    kind = getattr(snapshot.manifest, "dense_kind", "?")
    return f"{kind} ({type(snapshot.dense).__name__})"


def real_embedder(name: str) -> object:
    from vectorstore.model.embedding import get_embedder

    embedder = get_embedder(name)
    return embedder.inner if isinstance(embedder, TimingEmbedder) else embedder


def real_units(qa_mod: object) -> tuple[list[str], np.ndarray]:
    """Returns the XQuAD-de passages and their real default-model embeddings (cached).

    The passages are those of the default-model index over ``benchmarks/data/xquad-de``
    (built incrementally at ``benchmarks/data/perf/index-xquad-e5`` if needed).
    """
    from vectorstore.store.base import FORMAT_VERSION

    cache = PERF / f"real-e5-v{FORMAT_VERSION}.npz"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as z:
            return [str(t) for t in z["texts"]], z["vectors"].astype(np.float32)
    index = qa_mod.Index.build(  # type: ignore[attr-defined]
        [rel(DATA / "xquad-de")],
        index_dir=rel(PERF / f"index-xquad-e5-v{FORMAT_VERSION}"),
        model=E5,
    )
    snapshot = index._snapshot
    texts = [" ".join(snapshot.passage_text(i).split()) for i in range(len(index))]
    vectors = np.asarray(snapshot.vectors, dtype=np.float32)
    PERF.mkdir(parents=True, exist_ok=True)
    np.savez(cache, texts=np.array(texts), vectors=vectors)
    print(f"cached {len(texts)} real passage embeddings in {rel(cache)}")
    return texts, vectors


def derived_embedder(units: np.ndarray | None) -> DerivedEmbedder:
    from vectorstore.model.embedding import get_embedder

    return DerivedEmbedder(get_embedder(E5), units, SIGMA)


def ensure_pool(texts: Sequence[str], files: int) -> None:
    pool = PERF / "pool"
    for _ in tqdm(
        write_pool(texts, pool, files, PER_FILE),
        total=files,
        desc=f"generating {files * PER_FILE:,} passages",
        unit="file",
        disable=None,
    ):
        pass


def build_tier(
    qa_mod: object, tier: str, units: np.ndarray, rebuild: bool, reuse: bool
) -> dict[str, object]:
    from vectorstore.model.embedding import register_embedder

    files = TIERS[tier] // PER_FILE
    folder = PERF / f"tier-{tier}"
    link_tier(PERF / "pool", folder, files)
    index_dir = PERF / f"index-tier-{tier}"
    sidecar = PERF / f"index-tier-{tier}.json"
    fingerprint = _fingerprint()
    facts = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    timed = TimingEmbedder(derived_embedder(units))
    register_embedder(DERIVED_MODEL, timed)
    fresh = rebuild or facts.get("fingerprint") != fingerprint
    if fresh and facts and not rebuild and reuse:
        print(f"tier {tier}: code changed since it was built; reusing it (--reuse-tiers)")
        fresh = False
    elif fresh and facts and not rebuild:
        print(f"tier {tier}: index code changed since it was built; rebuilding")
    print(f"tier {tier}: {'building' if fresh else 'checking'} {TIERS[tier]:,} passages")
    index, seconds = timed_build(
        qa_mod, folder, index_dir, DERIVED_MODEL, rebuild=fresh, progress=True
    )
    if fresh or not facts:
        facts = {
            "fingerprint": fingerprint,
            "date": today(),
            "files": files,
            "passages": len(index),
            "build_seconds": seconds,
            "derived_embed_seconds": timed.seconds,
            "rest_ms_per_passage": (seconds - timed.seconds) / max(len(index), 1) * 1000,
            "dense": dense_name(index),
        }
        sidecar.write_text(json.dumps(facts, indent=1))
        facts["cached"] = False
    else:
        facts["cached"] = True
        facts["check_seconds"] = seconds
    facts["index_bytes"] = index_bytes(index_dir)
    return facts


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force top-k rows and scores by inner product, in blocks."""
    best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    block = 200_000
    for start in range(0, len(vectors), block):
        scores = queries @ np.asarray(vectors[start : start + block], dtype=np.float32).T
        ids = np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)
        s = np.concatenate([best_s, scores], axis=1)
        i = np.concatenate([best_i, ids], axis=1)
        keep = np.argsort(-s, axis=1, kind="stable")[:, :k]
        best_s = np.take_along_axis(s, keep, axis=1)
        best_i = np.take_along_axis(i, keep, axis=1)
    return best_i, best_s
