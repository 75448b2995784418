"""Chunking, embedding, dense index and on-disk persistence for qa.

This package knows nothing of qa's API or UI; ``qa`` builds on it.
"""

from vectorstore.backend import Reader, Store, open_store
from vectorstore.builder import BuildReport, BuildSettings, build_index
from vectorstore.dense import DenseKind
from vectorstore.embedding import DEFAULT_MODEL, Embedder, get_embedder, register_embedder
from vectorstore.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    QAError,
    SourceError,
)
from vectorstore.moments import Moments
from vectorstore.store import IndexDir, Snapshot

__all__ = [
    "DEFAULT_MODEL",
    "BuildReport",
    "BuildSettings",
    "DenseKind",
    "Embedder",
    "IndexCorruptError",
    "IndexDir",
    "IndexLockedError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "Moments",
    "QAError",
    "Reader",
    "Snapshot",
    "SourceError",
    "Store",
    "build_index",
    "get_embedder",
    "open_store",
    "register_embedder",
]
