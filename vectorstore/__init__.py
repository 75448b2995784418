"""Chunking, embedding, dense index and on-disk persistence for qa.

This package knows nothing of qa's API or UI; ``qa`` builds on it.
"""

from vectorstore.build.builder import BuildReport, build_index
from vectorstore.build.pieces import BuildSettings
from vectorstore.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    QAError,
    SourceError,
)
from vectorstore.kinds import DenseKind
from vectorstore.model.embedding import DEFAULT_MODEL, Embedder, get_embedder, register_embedder
from vectorstore.model.moments import Moments
from vectorstore.store.base import Reader, Store, open_store
from vectorstore.store.local.folder import IndexDir, Snapshot

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
