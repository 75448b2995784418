"""The Milvus backend (the extra ``qa[milvus]``): locations that start with ``milvus:``.

It registers itself by dotted path, so pymilvus is imported only when such a location is
opened.
"""

from __future__ import annotations

from vectorstore.store.base import register_store

__all__ = ["PREFIX"]

PREFIX = "milvus:"

register_store(
    PREFIX,
    "vectorstore.store.milvus.store:MilvusStore",
    "Milvus",
    "pymilvus: pip install 'qa[milvus]'",
)
