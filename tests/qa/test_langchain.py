from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_tests.integration_tests import RetrieversIntegrationTests
from pydantic import ValidationError

import qa
from qa.langchain import QARetriever
from tests.conftest import REPO, expected_metadata, write

QUESTION = "Wie viele Reservisten umfasst die Teilmobilmachung?"


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )


class TestStandardRetriever(RetrieversIntegrationTests):
    """LangChain's own retriever suite, against a real index over the seeds."""

    index_dir = ""

    @pytest.fixture(autouse=True)
    def _seed_index_dir(self, seed_index: qa.Index) -> None:
        type(self).index_dir = str(seed_index.path)

    @property
    def retriever_constructor(self) -> type[QARetriever]:
        return QARetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"index_dir": self.index_dir}

    @property
    def retriever_query_example(self) -> str:
        return QUESTION


def test_invoke_returns_what_the_index_finds(seed_index: qa.Index) -> None:
    retriever = QARetriever(index_dir=seed_index.path, k=4)
    docs = retriever.invoke(QUESTION)
    hits = seed_index.search(QUESTION, k=4)
    assert len(docs) == 4
    assert [d.id for d in docs] == [h.citation for h in hits]
    assert [d.page_content for d in docs] == [h.text for h in hits]
    assert [d.metadata for d in docs] == [expected_metadata(h) for h in hits]

    assert [d.id for d in retriever.invoke(QUESTION, k=2)] == [
        h.citation for h in seed_index.search(QUESTION, k=2)
    ]
    lexical = QARetriever(index=seed_index, k=3, mode="lexical").invoke(QUESTION)
    assert [d.id for d in lexical] == [
        h.citation for h in seed_index.search(QUESTION, k=3, mode=qa.SearchMode.LEXICAL)
    ]


def test_sources_and_min_relevance(seed_index: qa.Index) -> None:
    pattern = ["seeds/001_*"]
    docs = QARetriever(index=seed_index, k=3, sources=pattern).invoke(QUESTION)
    hits = seed_index.search(QUESTION, k=3, sources=pattern)
    assert [d.id for d in docs] == [h.citation for h in hits]
    assert {d.metadata["source"] for d in docs} == {"seeds/001_ae2599aca4f170f4.txt"}
    with pytest.raises(ValueError, match="archive/"):
        QARetriever(index=seed_index, sources="archive/**").invoke(QUESTION)

    docs = QARetriever(index=seed_index, k=5, min_relevance=qa.MIN_RELEVANCE).invoke(QUESTION)
    hits = seed_index.search(QUESTION, k=5, min_relevance=qa.MIN_RELEVANCE)
    assert 0 < len(docs) < 5  # the threshold drops some of the five
    assert [d.metadata for d in docs] == [expected_metadata(h) for h in hits]


async def test_ainvoke_honours_k(seed_index: qa.Index) -> None:
    retriever = QARetriever(index=seed_index)
    other = "Wer kommentiert?"
    two, three = await asyncio.gather(
        retriever.ainvoke(QUESTION, k=2), retriever.ainvoke(other, k=3)
    )
    assert [d.id for d in two] == [h.citation for h in seed_index.search(QUESTION, k=2)]
    assert [d.id for d in three] == [h.citation for h in seed_index.search(other, k=3)]


def test_in_a_chain_without_an_llm(seed_index: qa.Index) -> None:
    def format_docs(docs: list[Document]) -> str:
        return "\n\n".join(f"[{d.id}] {d.page_content}" for d in docs)

    prompt = ChatPromptTemplate.from_template(
        "Answer from these passages, citing them:\n{context}\n\nQuestion: {question}"
    )
    retriever = QARetriever(index=seed_index, k=3)
    chain = {"context": retriever | RunnableLambda(format_docs), "question": RunnablePassthrough()}
    chain = chain | prompt
    questions = [QUESTION, "Wer kommentiert?"]
    for question, value in zip(questions, chain.batch(questions), strict=True):
        text = value.to_string()
        assert f"Question: {question}" in text
        for h in seed_index.search(question, k=3):
            assert f"[{h.citation}] {h.text}" in text


def test_ids_stay_unique_when_pieces_share_lines(tmp_path: Path) -> None:
    sentence = "Die Regierung in Berlin plant ein neues Gesetz über die Energie der Schulen. "
    write(tmp_path / "corpus/long.txt", "Titel\n\n" + sentence * 40 + "\n")
    index = qa.Index.build([tmp_path / "corpus"], tmp_path / "index")
    hits = index.search("Gesetz Energie", k=len(index))
    assert len({h.citation for h in hits}) < len(hits)  # pieces of one line share a citation
    docs = QARetriever(index=index, k=len(index)).invoke("Gesetz Energie")
    assert [d.metadata["citation"] for d in docs] == [h.citation for h in hits]
    assert len({d.id for d in docs}) == len(docs)
    assert all(d.id.split("#")[0] == d.metadata["citation"] for d in docs)


def test_settings_are_checked(seed_index: qa.Index) -> None:
    for bad in ({"k": 0}, {"min_relevance": 2}, {"sources": [""]}, {"top_k": 3}):
        with pytest.raises(ValidationError):
            QARetriever(index=seed_index, **bad)
    with pytest.raises(ValidationError, match="not both"):
        QARetriever(index=seed_index, index_dir=seed_index.path)
    with pytest.raises(TypeError, match="top_k"):
        QARetriever(index=seed_index).invoke(QUESTION, top_k=3)
    with pytest.raises(qa.IndexNotFoundError):
        QARetriever(index_dir=REPO / "seeds").invoke(QUESTION)


def test_collection_chooses_one_of_several_indexes(collections, laws_index, seed_index) -> None:
    question = "Wer muss die Miete zahlen?"
    laws = QARetriever(index=collections, collection="laws", k=2).invoke(question)
    assert [d.id for d in laws] == [p.citation for p in laws_index.search(question, k=2)]
    news = QARetriever(index=collections, k=2).invoke(question)  # the default: news
    assert [d.id for d in news] == [p.citation for p in seed_index.search(question, k=2)]
    with pytest.raises(ValidationError, match="unknown collection 'nope'; this server has: news"):
        QARetriever(index=collections, collection="nope")
    with pytest.raises(ValidationError, match="collection 'laws' needs several indexes"):
        QARetriever(index=seed_index, collection="laws")
    with pytest.raises(ValidationError, match=r"collection needs index=qa\.Collections"):
        QARetriever(index_dir=seed_index.path, collection="laws")


def test_without_langchain_the_import_error_names_the_extra() -> None:
    # qa's chunking imports langchain_core (through langchain-text-splitters) at `import
    # qa`, so the modules are blocked after it: as if qa.langchain found no LangChain.
    out = run_python(
        "import sys, qa\n"
        "for name in [m for m in sys.modules if m.split('.')[0] == 'langchain_core']:\n"
        "    sys.modules[name] = None\n"
        "try:\n"
        "    import qa.langchain\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "qa.langchain needs LangChain: pip install 'qa[langchain]'\n"


def test_import_qa_leaves_the_integrations_out() -> None:
    # langchain_core itself comes with langchain-text-splitters (qa's chunking); its
    # retrievers, and LlamaIndex, only with qa.langchain and qa.llamaindex.
    out = run_python(
        "import sys, qa\n"
        "print(sorted(m for m in sys.modules if m.startswith(\n"
        "    ('qa.langchain', 'qa.llamaindex', 'langchain_core.retrievers', 'llama_index'))))\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "[]\n"


def test_date_bounds(seed_index: qa.Index) -> None:
    docs = QARetriever(index=seed_index, k=3, since="2022-01", until="2022-01").invoke("NATO")
    hits = seed_index.search("NATO", k=3, since="2022-01", until="2022-01")
    assert [d.id for d in docs] == [h.citation for h in hits]
    assert {d.metadata["date"] for d in docs} == {"2022-01"}
    with pytest.raises(ValueError, match="since must be a date"):
        QARetriever(index=seed_index, since="gestern")
