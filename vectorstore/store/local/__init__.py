"""The local folder backend, the default: FAISS, BM25 and the files of a generation."""

from __future__ import annotations

from vectorstore.store.base import register_store

register_store("", "vectorstore.store.local.folder:IndexDir", "folder")
