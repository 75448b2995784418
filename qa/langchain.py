"""qa as a LangChain retriever: passages become ``Document`` objects with their citations.

Example:
    >>> from qa.langchain import QARetriever
    >>> retriever = QARetriever(index_dir=".qa-index", k=3)
    >>> for doc in retriever.invoke("Wie viele Reservisten umfasst die Teilmobilmachung?"):
    ...     print(doc.id, doc.metadata["highlight"])
"""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import date
from pathlib import Path
from typing import Any

try:
    from langchain_core.callbacks import (
        AsyncCallbackManagerForRetrieverRun,
        CallbackManagerForRetrieverRun,
    )
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
except ImportError as exc:
    raise ImportError("qa.langchain needs LangChain: pip install 'qa[langchain]'") from exc
from pydantic import (
    ConfigDict,
    InstanceOf,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from qa.collections import Collections, select
from qa.fusion import SearchMode
from qa.index import DEFAULT_INDEX_DIR, Index
from qa.passage import citation_ids
from qa.query import check_date, check_k, check_min_relevance, check_sources

__all__ = ["QARetriever"]


class QARetriever(BaseRetriever):
    """Retrieves the passages of a qa index that best answer a query, as ``Document``s.

    Each document's ``page_content`` is the passage text and its ``id`` the citation
    (``seeds/003_….txt:1-1``); pieces of one paragraph that share a citation (a long
    paragraph on one line) get ``#2``, ``#3`` … after the first, so that ids are unique
    within an answer. ``metadata`` holds ``source``, ``line_start``, ``line_end``, ``citation``,
    ``score``, ``relevance``, ``highlight``, ``page``, ``title`` and ``date`` (see
    ``qa.Passage``).
    ``invoke(query, k=N)`` and ``ainvoke(query, k=N)`` return ``N`` documents for
    that call.

    Attributes:
        index_dir: The index folder, loaded on first use; default ``$QA_INDEX`` or
            ``.qa-index``.
        index: An index already loaded, instead of ``index_dir``; or several as
            ``qa.Collections``, of which ``collection`` names the one to search.
        collection: With ``index=qa.Collections``: the collection to search; default
            the first.
        k: Number of documents.
        mode: Hybrid (default), or one signal alone.
        min_relevance: Drop passages below this relevance (0 to 1); ``qa.MIN_RELEVANCE``
            is the suggested value. Default: keep all ``k``.
        sources: Glob patterns over source names (``seeds/003_*``, ``archive/**``);
            only passages of matching sources are returned. None: all sources.
        since: Only articles dated on or after this day (``YYYY[-MM[-DD]]``); undated
            articles are left out whenever a date bound is given.
        until: Only articles dated on or before this day.

    Raises:
        ValueError: From the constructor (a pydantic ``ValidationError``), if ``k``,
            ``min_relevance``, ``sources``, ``since`` or ``until`` are out of range, a
            setting is unknown, both ``index_dir`` and ``index`` are given, or
            ``collection`` is not one of ``index``'s collections; from a
            search, as ``qa.Index.search`` (an empty question, a pattern that matches no
            source).
        TypeError: If a search is given a keyword argument other than ``k``.
        QAError: A subclass, if the index cannot be loaded.
    """

    model_config = ConfigDict(extra="forbid")

    index_dir: Path | None = None
    index: InstanceOf[Index] | InstanceOf[Collections] | None = None
    collection: str | None = None
    k: int = 5
    mode: SearchMode = SearchMode.HYBRID
    min_relevance: float | None = None
    sources: tuple[str, ...] | None = None
    since: str | None = None
    until: str | None = None

    _loaded: Index | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @field_validator("k", mode="before")
    @classmethod
    def _check_k(cls, value: object) -> int:
        return check_k(value)

    @field_validator("min_relevance", mode="before")
    @classmethod
    def _check_min_relevance(cls, value: object) -> float | None:
        return check_min_relevance(value)

    @field_validator("since", "until", mode="before")
    @classmethod
    def _check_date(cls, value: object, info: ValidationInfo) -> object:
        check_date(value, info.field_name or "date")
        return value.isoformat() if isinstance(value, date) else value

    @field_validator("sources", mode="before")
    @classmethod
    def _check_sources(cls, value: object) -> tuple[str, ...] | None:
        return check_sources(value)

    @model_validator(mode="after")
    def _one_index(self) -> QARetriever:
        if self.index is not None and self.index_dir is not None:
            raise ValueError("give index_dir or index, not both")
        if self.index is None and self.collection is not None:
            raise ValueError("collection needs index=qa.Collections(...), not index_dir")
        if self.index is not None:
            select(self.index, self.collection)
        return self

    def _index(self) -> Index:
        """Returns the index, loading ``index_dir`` on first use."""
        if self.index is not None:
            return select(self.index, self.collection)
        with self._lock:
            if self._loaded is None:
                directory = self.index_dir or os.environ.get("QA_INDEX", DEFAULT_INDEX_DIR)
                self._loaded = Index.load(directory)
            return self._loaded

    def _documents(self, query: str, k: int | None, kwargs: dict[str, Any]) -> list[Document]:
        """Searches the index and turns its passages into documents."""
        kwargs.pop("verbose", None)  # LangChain's own option, passed on to retrievers
        if kwargs:
            raise TypeError(f"unexpected keyword arguments {sorted(kwargs)}; QARetriever takes k")
        passages = self._index().search(
            query,
            self.k if k is None else k,
            mode=self.mode,
            min_relevance=self.min_relevance,
            sources=self.sources,
            since=self.since,
            until=self.until,
        )
        return [
            Document(page_content=p.text, id=id_, metadata=p.metadata())
            for p, id_ in zip(passages, citation_ids(passages), strict=True)
        ]

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """Returns the documents that best answer ``query``, best first.

        Args:
            query: The question, in any language.
            run_manager: LangChain's callbacks for this run.
            k: Number of documents for this call; default ``self.k``.
            **kwargs: Only ``verbose``, which LangChain passes on; others are an error.
        """
        return self._documents(query, k, kwargs)

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """Like ``_get_relevant_documents``, searching in a worker thread."""
        return await asyncio.to_thread(self._documents, query, k, kwargs)
