"""qa as a LlamaIndex retriever: passages become ``TextNode`` objects with their citations.

Example:
    >>> from qa.llamaindex import QARetriever
    >>> retriever = QARetriever(".qa-index", k=3)
    >>> for hit in retriever.retrieve("Wie viele Reservisten umfasst die Teilmobilmachung?"):
    ...     print(hit.node.node_id, hit.score, hit.node.metadata["highlight"])
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from datetime import date

try:
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
except ImportError as exc:
    raise ImportError("qa.llamaindex needs LlamaIndex: pip install 'qa[llamaindex]'") from exc

from qa.collections import Collections, select
from qa.fusion import SearchMode
from qa.index import DEFAULT_INDEX_DIR, Index
from qa.passage import citation_ids
from qa.query import check_date, check_k, check_min_relevance, check_sources

__all__ = ["QARetriever"]

# What a node's metadata holds; an LLM sees only the citation, an embedding only the text.
_METADATA_KEYS = (
    "source",
    "line_start",
    "line_end",
    "citation",
    "score",
    "relevance",
    "fit",
    "highlight",
    "page",
    "title",
    "date",
)
_LLM_EXCLUDED = [key for key in _METADATA_KEYS if key != "citation"]


class QARetriever(BaseRetriever):
    """Retrieves the passages of a qa index that best answer a query, as scored nodes.

    Each result is a ``NodeWithScore`` whose ``score`` is the passage's and whose
    ``TextNode`` holds the passage text, the citation as ``node_id``
    (``seeds/003_….txt:1-1``; pieces of one paragraph that share a citation, a long
    paragraph on one line, get ``#2``, ``#3`` … after the first, since LlamaIndex drops
    repeated ids) and ``metadata`` with ``source``, ``line_start``, ``line_end``,
    ``citation``, ``score``, ``relevance``, ``highlight``, ``page``, ``title`` and
    ``date`` (see ``qa.Passage``). Of
    the metadata, an LLM is shown only the citation, and an embedding model none.

    Args:
        index_dir: The index folder, loaded on first use; default ``$QA_INDEX`` or
            ``.qa-index``.
        index: An index already loaded, instead of ``index_dir``; or several as
            ``qa.Collections``, of which ``collection`` names the one to search.
        collection: With ``index=qa.Collections``: the collection to search; default
            the first.
        k: Number of nodes.
        mode: Hybrid (default), or one signal alone.
        min_relevance: Drop passages below this relevance (0 to 1); ``qa.MIN_RELEVANCE``
            is the suggested value. Default: keep all ``k``.
        sources: Glob patterns over source names (``seeds/003_*``, ``archive/**``);
            only passages of matching sources are returned. None: all sources.
        since: Only articles dated on or after this day (``YYYY[-MM[-DD]]`` or a
            ``datetime.date``); undated articles are left out whenever a bound is given.
        until: Only articles dated on or before this day.

    Raises:
        ValueError: If ``k``, ``min_relevance``, ``sources``, ``since`` or ``until`` are
            out of range, both ``index_dir`` and ``index`` are given, or ``collection`` is
            not one of ``index``'s collections. A search raises as
            ``qa.Index.search`` (an empty question, a pattern that matches no source).
    """

    def __init__(
        self,
        index_dir: str | os.PathLike[str] | None = None,
        *,
        index: Index | Collections | None = None,
        collection: str | None = None,
        k: int = 5,
        mode: SearchMode = SearchMode.HYBRID,
        min_relevance: float | None = None,
        sources: Sequence[str] | None = None,
        since: str | date | None = None,
        until: str | date | None = None,
    ) -> None:
        if index is not None and index_dir is not None:
            raise ValueError("give index_dir or index, not both")
        if index is None and collection is not None:
            raise ValueError("collection needs index=qa.Collections(...), not index_dir")
        if index is not None:
            select(index, collection)
        super().__init__()
        self.index_dir = index_dir
        self.index = index
        self.collection = collection
        self.k = check_k(k)
        self.mode = SearchMode(mode)
        self.min_relevance = check_min_relevance(min_relevance)
        self.sources = check_sources(sources)
        check_date(since, "since")
        check_date(until, "until", end=True)
        self.since, self.until = since, until
        self._lock = threading.Lock()

    def _index(self) -> Index:
        """Returns the index, loading ``index_dir`` on first use."""
        with self._lock:
            if self.index is None:
                directory = self.index_dir or os.environ.get("QA_INDEX", DEFAULT_INDEX_DIR)
                self.index = Index.load(directory)
            return select(self.index, self.collection)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        """Returns the ``k`` nodes that best answer the query, best first."""
        passages = self._index().search(
            query_bundle.query_str,
            self.k,
            mode=self.mode,
            min_relevance=self.min_relevance,
            sources=self.sources,
            since=self.since,
            until=self.until,
        )
        return [
            NodeWithScore(
                node=TextNode(
                    text=p.text,
                    id_=id_,
                    metadata=p.metadata(),
                    excluded_embed_metadata_keys=list(_METADATA_KEYS),
                    excluded_llm_metadata_keys=list(_LLM_EXCLUDED),
                ),
                score=p.score,
            )
            for p, id_ in zip(passages, citation_ids(passages), strict=True)
        ]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        """Like ``_retrieve``, searching in a worker thread."""
        return await asyncio.to_thread(self._retrieve, query_bundle)
