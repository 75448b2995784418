from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from llama_index.core.schema import MetadataMode, NodeWithScore, TextNode

import qa
from qa.llamaindex import QARetriever
from tests.conftest import REPO, expected_metadata, write

QUESTION = "Wie viele Reservisten umfasst die Teilmobilmachung?"


def assert_same(results: list[NodeWithScore], hits: list[qa.Passage]) -> None:
    assert all(isinstance(r, NodeWithScore) and isinstance(r.node, TextNode) for r in results)
    assert [r.node.node_id for r in results] == [h.citation for h in hits]
    assert [r.node.text for r in results] == [h.text for h in hits]
    assert [r.score for r in results] == [h.score for h in hits]
    assert [r.node.metadata for r in results] == [expected_metadata(h) for h in hits]


def test_retrieve_returns_what_the_index_finds(seed_index: qa.Index) -> None:
    results = QARetriever(seed_index.path, k=4).retrieve(QUESTION)
    assert len(results) == 4
    assert_same(results, seed_index.search(QUESTION, k=4))
    assert_same(
        QARetriever(index=seed_index, k=2, mode="dense").retrieve(QUESTION),
        seed_index.search(QUESTION, k=2, mode=qa.SearchMode.DENSE),
    )


async def test_aretrieve_honours_k_sources_and_min_relevance(seed_index: qa.Index) -> None:
    results = await QARetriever(index=seed_index, k=2).aretrieve(QUESTION)
    assert_same(results, seed_index.search(QUESTION, k=2))

    pattern = ["seeds/001_*", "seeds/004_*"]
    results = await QARetriever(index=seed_index, k=3, sources=pattern).aretrieve(QUESTION)
    assert_same(results, seed_index.search(QUESTION, k=3, sources=pattern))
    assert {r.node.metadata["source"][:9] for r in results} <= {"seeds/001", "seeds/004"}

    results = QARetriever(index=seed_index, min_relevance=qa.MIN_RELEVANCE).retrieve(QUESTION)
    assert 0 < len(results) < 5  # the threshold drops some of the five
    assert_same(results, seed_index.search(QUESTION, min_relevance=qa.MIN_RELEVANCE))

    with pytest.raises(ValueError, match="archive/"):
        await QARetriever(index=seed_index, sources=["archive/**"]).aretrieve(QUESTION)


def test_llm_sees_the_citation_and_embedding_only_the_text(seed_index: qa.Index) -> None:
    node = QARetriever(index=seed_index, k=1).retrieve(QUESTION)[0].node
    hit = seed_index.search(QUESTION, k=1)[0]
    assert node.get_content(MetadataMode.LLM) == f"citation: {hit.citation}\n\n{hit.text}"
    assert node.get_content(MetadataMode.EMBED) == hit.text


def test_pieces_that_share_lines_are_all_returned(tmp_path: Path) -> None:
    # LlamaIndex drops results with a repeated node id: pieces of one line need their own.
    sentence = "Die Regierung in Berlin plant ein neues Gesetz über die Energie der Schulen. "
    write(tmp_path / "corpus/long.txt", "Titel\n\n" + sentence * 40 + "\n")
    index = qa.Index.build([tmp_path / "corpus"], tmp_path / "index")
    hits = index.search("Gesetz Energie", k=len(index))
    assert len({h.citation for h in hits}) < len(hits)
    results = QARetriever(index=index, k=len(index)).retrieve("Gesetz Energie")
    assert [r.node.metadata["citation"] for r in results] == [h.citation for h in hits]
    assert len({r.node.node_id for r in results}) == len(results)


def test_settings_are_checked(seed_index: qa.Index) -> None:
    for bad in ({"k": 0}, {"min_relevance": -0.1}, {"sources": [""]}, {"mode": "fuzzy"}):
        with pytest.raises(ValueError):
            QARetriever(index=seed_index, **bad)
    with pytest.raises(ValueError, match="not both"):
        QARetriever(seed_index.path, index=seed_index)
    with pytest.raises(qa.IndexNotFoundError):
        QARetriever(REPO / "seeds").retrieve(QUESTION)


def test_collection_chooses_one_of_several_indexes(collections, laws_index, seed_index) -> None:
    question = "Wer muss die Miete zahlen?"
    laws = QARetriever(index=collections, collection="laws", k=2).retrieve(question)
    assert_same(laws, laws_index.search(question, k=2))
    assert_same(
        QARetriever(index=collections, k=2).retrieve(question), seed_index.search(question, k=2)
    )
    with pytest.raises(ValueError, match="unknown collection 'nope'; this server has: news"):
        QARetriever(index=collections, collection="nope")
    with pytest.raises(ValueError, match="collection 'laws' needs several indexes"):
        QARetriever(index=seed_index, collection="laws")
    with pytest.raises(ValueError, match=r"collection needs index=qa\.Collections"):
        QARetriever(seed_index.path, collection="laws")


def test_without_llamaindex_the_import_error_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['llama_index'] = None\n"
        "sys.modules['llama_index.core'] = None\n"
        "try:\n"
        "    import qa.llamaindex\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "qa.llamaindex needs LlamaIndex: pip install 'qa[llamaindex]'\n"


def test_date_bounds(seed_index: qa.Index) -> None:
    docs = QARetriever(index=seed_index, k=3, since="2022-01", until="2022-01").retrieve("NATO")
    hits = seed_index.search("NATO", k=3, since="2022-01", until="2022-01")
    assert [r.node.node_id for r in docs] == [h.citation for h in hits]
    assert {r.node.metadata["date"] for r in docs} == {"2022-01"}
    with pytest.raises(ValueError, match="since must be a date"):
        QARetriever(index=seed_index, since="gestern")
