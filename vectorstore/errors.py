"""Errors raised by the index; each message says what is wrong and what to do."""

from __future__ import annotations

__all__ = [
    "IndexCorruptError",
    "IndexLockedError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "QAError",
    "SourceError",
]

REBUILD_HINT = "rebuild it with `qa index PATH --rebuild --index {index_dir}`"


class QAError(Exception):
    """Base of every error qa raises on purpose."""


class IndexNotFoundError(QAError):
    """There is no index in the folder."""


class IndexCorruptError(QAError):
    """An index file is missing, truncated or inconsistent."""


class IndexMismatchError(QAError):
    """The index was built with another model or format version."""


class IndexLockedError(QAError):
    """Another process is writing the index."""


class SourceError(QAError):
    """A corpus path cannot be indexed (missing, unreadable, no articles)."""
