"""One suite for every store backend: the local folder and Milvus Lite pass it unchanged.

Each test of the shared suite runs once per backend (``BACKENDS``) through qa's public API
and the ``Reader``/``Store`` interfaces, and compares the answers with a local index of
the same corpus: the local backend thus checks itself against a second build. The tests
at the end are Milvus's own: a ``milvus-lite server`` subprocess reached over the network
client path, the alias switch, errors, and the helpers that spell filters and terms.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pymilvus import MilvusClient

import qa
import vectorstore.store.milvus.store
from tests.conftest import REPO, write
from tests.vectorstore.conftest import MilvusServer
from vectorstore import (
    IndexLockedError,
    IndexNotFoundError,
    QAError,
    build_index,
    get_embedder,
    open_store,
)
from vectorstore.kinds import DenseKind
from vectorstore.sources.terms import tokenize
from vectorstore.store.base import Manifest
from vectorstore.store.milvus.store import (
    GenerationGoneError,
    MilvusError,
    MilvusStore,
    _index_term,
    bm25_term,
    rows_filter,
)

BACKENDS = ["local", "milvus-lite"]
FORMATS = REPO / "tests" / "data" / "formats"
ARTICLES = {
    "a.txt": "date 2021-05-03\n\nDie Katze schläft auf dem Sofa.\n\n"
    "Sie träumt von Mäusen und vom Garten. Im Garten blühen die Rosen.\n",
    "b.txt": "date 2023-01-10\n\nDer Zug nach Hamburg hat Verspätung.\n\n"
    "Die Bahn entschuldigt sich bei den Fahrgästen. Ein Ersatzzug fährt um acht Uhr.\n",
    "sub/c.txt": "Im Hafen liegen drei Frachter. Sie bringen Getreide aus der Ukraine.\n\n"
    "Der Hafenmeister zählt die Container am Kai.\n",
    # Terms that Milvus sees spelled in hex (vectorstore.store.milvus.store.bm25_term).
    "d.txt": "Путин traf Xi Jinping in 北京 zu Gesprächen.\n\n"
    "Die Gespräche in Peking dauerten zwei Tage; ein_wort mit Unterstrich.\n",
}
QUESTIONS = [
    "Wo schläft die Katze?",
    "Wann fährt der Ersatzzug?",
    "Was bringen die Frachter?",
    "Warum verstärkt die NATO ihre Ostflanke?",
    "Was nannte der Kreml eine Provokation?",
    "Rosen im Garten",
    "Who apologises for the delay?",
    "Путин 北京 Gespräche",
    "ein_wort Xi",
]


def location(backend: str, folder: Path) -> str:
    """A fresh index location of a backend in ``folder``."""
    return str(folder / "index") if backend == "local" else f"milvus:{folder}/index.db"


def same_hits(got: Sequence[qa.Passage], want: Sequence[qa.Passage]) -> None:
    """Asserts two answers are the same passages with the same scores, relevance, highlight.

    Passages whose scores tie may come in either order.
    """
    assert len(got) == len(want)
    np.testing.assert_allclose([p.score for p in got], [p.score for p in want], atol=1e-5)
    np.testing.assert_allclose([p.relevance for p in got], [p.relevance for p in want], atol=1e-5)

    def key(p: qa.Passage) -> tuple[object, ...]:
        return (p.source, p.line_start, p.line_end, p.page, p.text, p.highlight_span, p.date)

    assert Counter(map(key, got)) == Counter(map(key, want))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few ``.txt`` articles (two dated, one undated), a Markdown and an HTML article."""
    folder = tmp_path_factory.mktemp("corpus")
    for name, text in ARTICLES.items():
        write(folder / name, text)
    for name in ("article.md", "news.html"):
        shutil.copy(FORMATS / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def reference(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> qa.Index:
    """The local index of the corpus that every backend's answers are compared with."""
    return qa.Index.build([corpus], tmp_path_factory.mktemp("reference") / "index")


@pytest.fixture(scope="module", params=BACKENDS)
def index(
    request: pytest.FixtureRequest, corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> qa.Index:
    """The corpus indexed by each backend."""
    return qa.Index.build([corpus], location(request.param, tmp_path_factory.mktemp("index")))


@pytest.fixture(scope="module", params=BACKENDS)
def seeds(
    request: pytest.FixtureRequest, seed_index: qa.Index, tmp_path_factory: pytest.TempPathFactory
) -> qa.Index:
    """The seed articles indexed by each backend (the local one is the shared seed index)."""
    if request.param == "local":
        return seed_index
    return qa.Index.build(["seeds"], location(request.param, tmp_path_factory.mktemp("seeds")))


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty index location of each backend."""
    return location(request.param, tmp_path)


# --- the shared suite ------------------------------------------------------------------


def test_build_holds_the_sources_passages_and_citations(
    index: qa.Index, reference: qa.Index, corpus: Path
) -> None:
    names = sorted(str(p) for p in corpus.rglob("*") if p.is_file())
    assert index.sources == reference.sources == tuple(names)
    assert len(index) == len(reference) > len(names)
    mine, theirs = index._snapshot, reference._snapshot
    np.testing.assert_array_equal(mine.passages, theirs.passages)
    for name in names:
        assert index.source_info(name) == reference.source_info(name)
        assert index.source_text(name) == reference.source_text(name)
        assert index.source_lines(name) == reference.source_lines(name)
    for name, text in ARTICLES.items():
        assert index.source_text(f"{corpus}/{name}") == text
    assert index.source_info(f"{corpus}/article.md").date == "2022-02-11"
    assert index.read_lines(f"{corpus}/news.html", 20, 22) == reference.read_lines(
        f"{corpus}/news.html", 20, 22
    )
    with pytest.raises(KeyError, match="not an indexed source"):
        index.source_text("/etc/passwd")


def test_rows_hold_the_local_vectors_texts_terms_and_sentences(
    index: qa.Index, reference: qa.Index
) -> None:
    mine, theirs = index._snapshot, reference._snapshot
    rows = np.arange(len(index))
    np.testing.assert_array_equal(mine.vectors_of(rows), theirs.vectors_of(rows))
    np.testing.assert_array_equal(mine.vectors_of(rows[::-3]), theirs.vectors_of(rows[::-3]))
    assert mine.vectors_of(rows[:0]).shape == (0, index._snapshot.manifest.dim)
    query = get_embedder(index.model).encode_queries(["Katze"])[0]
    for row in rows.tolist():
        assert mine.passage_text(row) == theirs.passage_text(row)
        assert mine.passage_terms(row) == theirs.passage_terms(row)
        got, want = mine.sentence_cosines(row, query), theirs.sentence_cosines(row, query)
        assert (got is None) == (want is None)
        if want is not None:
            np.testing.assert_array_equal(got, want)
    terms = [*{t for q in QUESTIONS for t in tokenize(q)}, "nirgendwo"]
    assert mine.idf(terms) == pytest.approx(theirs.idf(terms))
    np.testing.assert_allclose(mine.moments.outer, theirs.moments.outer)


def test_dense_search_equals_brute_force_over_the_stored_vectors(index: qa.Index) -> None:
    reader = index._snapshot
    assert reader.dense_exact  # a small index is searched exactly by every backend
    vectors = reader.vectors_of(np.arange(len(index)))
    names, passages = reader.source_names, reader.passages
    subset = np.arange(1, len(index), 3)
    embedder = get_embedder(index.model)
    for question in QUESTIONS:
        q = embedder.encode_queries([question])[0]
        cosines = vectors @ q
        expected = np.argsort(-cosines, kind="stable")[:5]
        assert reader.dense_search(q[None], 5)[0].tolist() == expected.tolist()
        hits = index.search(question, k=5, mode=qa.SearchMode.DENSE)
        assert [(h.source, h.line_start) for h in hits] == [
            (names[passages[r]["source"]], int(passages[r]["line_start"])) for r in expected
        ]
        np.testing.assert_allclose([h.score for h in hits], cosines[expected], atol=1e-6)
        within = subset[np.argsort(-cosines[subset], kind="stable")[:4]]
        assert reader.dense_search(q[None], 4, subset)[0].tolist() == within.tolist()
    assert reader.dense_search(vectors[:1], len(index) + 3)[0][-3:].tolist() == [-1, -1, -1]


def test_lexical_search_scores_as_the_local_bm25(index: qa.Index, reference: qa.Index) -> None:
    mine, theirs = index._snapshot, reference._snapshot
    every = np.arange(len(index))
    for question in QUESTIONS:
        weights = dict(Counter(tokenize(question)))
        got, want = mine.lexical_search(weights, 5), theirs.lexical_search(weights, 5)
        assert Counter(got.rows.tolist()) == Counter(want.rows.tolist())
        np.testing.assert_allclose(got.scores(got.rows), want.scores(got.rows), rtol=1e-5)
        # Rows outside the best ones are scored by the backend too.
        np.testing.assert_allclose(got.scores(every), want.scores(every), rtol=1e-5, atol=1e-6)
        odd = every[1::2]
        got, want = mine.lexical_search(weights, 3, odd), theirs.lexical_search(weights, 3, odd)
        assert set(got.rows.tolist()) <= set(odd.tolist())
        assert Counter(got.rows.tolist()) == Counter(want.rows.tolist())
        same_hits(
            index.search(question, k=4, mode=qa.SearchMode.LEXICAL),
            reference.search(question, k=4, mode=qa.SearchMode.LEXICAL),
        )
    # Terms of several weights (carried over, synonyms, lemmas) weigh as locally.
    weights = {"katz": 1.0, "sofa": 0.2, "zug": 0.5, "hamburg": 2.0, "nirgendwo": 0.5}
    got, want = mine.lexical_search(weights, 5), theirs.lexical_search(weights, 5)
    assert len(want.rows) == 2 and Counter(got.rows.tolist()) == Counter(want.rows.tolist())
    np.testing.assert_allclose(got.scores(every), want.scores(every), rtol=1e-5, atol=1e-6)
    assert not len(mine.lexical_search({"nirgendwo": 1.0}, 5).rows)
    assert not len(mine.lexical_search({}, 5).rows)


def test_hybrid_answers_relevance_and_highlights_equal_the_local_ones(
    index: qa.Index, reference: qa.Index
) -> None:
    for question in QUESTIONS:
        got, want = index.search(question, k=5), reference.search(question, k=5)
        same_hits(got, want)
        for p in got:
            assert index.read_lines(p.source, p.line_start, p.line_end, p.page) == (
                reference.read_lines(p.source, p.line_start, p.line_end, p.page)
            )
    for got, want in zip(
        index.batch_search(QUESTIONS, k=3), reference.batch_search(QUESTIONS, k=3), strict=True
    ):
        same_hits(got, want)


def test_the_seed_questions_get_the_local_answers(seeds: qa.Index, seed_index: qa.Index) -> None:
    questions = [
        q["question"] for q in json.loads((REPO / "tests/data/seed_questions.json").read_text())
    ]
    assert seeds.sources == seed_index.sources and len(seeds) == len(seed_index)
    for got, want in zip(
        seeds.batch_search(questions, k=5), seed_index.batch_search(questions, k=5), strict=True
    ):
        same_hits(got, want)


def test_a_sources_filter_is_exact(index: qa.Index, reference: qa.Index, corpus: Path) -> None:
    pattern = f"{corpus}/*.txt"  # a, b and d; not sub/c.txt
    chosen = {f"{corpus}/{name}" for name in ("a.txt", "b.txt", "d.txt")}
    size = sum(index.passage_count(name) for name in chosen)
    for mode in qa.SearchMode:
        if mode is not qa.SearchMode.LEXICAL:  # BM25 leaves out what no term matches
            hits = index.search("Katze", k=size + 5, mode=mode, sources=[pattern])
            assert len(hits) == size and {h.source for h in hits} == chosen
        for question in QUESTIONS[:4]:
            got = index.search(question, k=3, mode=mode, sources=[pattern])
            same_hits(got, reference.search(question, k=3, mode=mode, sources=[pattern]))
            assert {h.source for h in got} <= chosen


def test_a_date_filter_keeps_the_dated_articles_within_its_bounds(
    index: qa.Index, reference: qa.Index, corpus: Path
) -> None:
    named = {n: f"{corpus}/{n}" for n in ("a.txt", "b.txt", "article.md", "news.html")}
    cases = {
        ("2022-01-01", None): {named["b.txt"], named["article.md"], named["news.html"]},
        (None, "2022-12-31"): {named["a.txt"], named["article.md"], named["news.html"]},
        ("2022-02-11", "2022-02-11"): {named["article.md"], named["news.html"]},
    }
    for (since, until), chosen in cases.items():
        hits = index.search("Zug", k=len(index), mode=qa.SearchMode.DENSE, since=since, until=until)
        assert {h.source for h in hits} == chosen
        for question in QUESTIONS[:5]:
            same_hits(
                index.search(question, k=3, since=since, until=until),
                reference.search(question, k=3, since=since, until=until),
            )


def test_an_update_embeds_only_new_and_changed_files(fresh: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    for name, text in ARTICLES.items():
        write(corpus / name, text)
    first = build_index(fresh, [str(corpus)])
    before = qa.Index.load(fresh)
    assert first.embedded == len(before) and len(first.added) == len(ARTICLES)
    kept = before._snapshot.source_record(f"{corpus}/a.txt")
    assert kept is not None
    kept_rows = np.arange(kept.first_passage, kept.first_passage + kept.passage_count)
    kept_vectors = before._snapshot.vectors_of(kept_rows)

    write(corpus / "b.txt", "Der Zug nach Berlin fällt heute aus.\n")
    write(corpus / "e.txt", "Ein Igel überquert die Straße.\n\nDer Fuchs schaut zu.\n")
    (corpus / "sub" / "c.txt").unlink()
    second = build_index(fresh, [str(corpus)])
    after = qa.Index.load(fresh)
    b, c, e = (f"{corpus}/{n}" for n in ("b.txt", "sub/c.txt", "e.txt"))
    assert (second.added, second.changed, second.removed) == ((e,), (b,), (c,))
    assert second.embedded == after.passage_count(b) + after.passage_count(e) == 3
    assert c not in after.sources and after.generation != before.generation
    assert all(h.source != c for h in after.search("Was bringen die Frachter?", k=10))
    assert after.search("Wer überquert die Straße?", k=1)[0].source == e
    record = after._snapshot.source_record(f"{corpus}/a.txt")
    assert record is not None
    rows = np.arange(record.first_passage, record.first_passage + record.passage_count)
    np.testing.assert_array_equal(after._snapshot.vectors_of(rows), kept_vectors)
    assert after.source_text(b) == "Der Zug nach Berlin fällt heute aus.\n"
    # What an update copies answers as a new local index of the same files.
    rebuilt = qa.Index.build([corpus], tmp_path / "rebuilt")
    for question in QUESTIONS:
        same_hits(after.search(question, k=5), rebuilt.search(question, k=5))

    third = build_index(fresh, [str(corpus)])
    assert not third.published and third.embedded == 0


def test_refresh_loads_a_newer_generation(fresh: str, tmp_path: Path) -> None:
    write(tmp_path / "corpus" / "a.txt", ARTICLES["a.txt"])
    writer = qa.Index.build([tmp_path / "corpus"], fresh)
    reader = qa.Index.load(fresh)
    first = reader.generation
    assert not reader.refresh()
    extra = write(tmp_path / "more" / "f.txt", "Der Leuchtturm steht auf der Klippe.\n")
    writer.update([extra])
    assert open_store(fresh).current() == writer.generation != first
    # Until it refreshes, a reader answers from the generation it loaded.
    assert reader.generation == first and str(extra) not in reader.sources
    assert reader.search("Wo steht der Leuchtturm?", k=1)[0].source != str(extra)
    assert reader.refresh() and reader.generation == writer.generation
    assert reader.search("Wo steht der Leuchtturm?", k=1)[0].source == str(extra)
    assert reader.updated >= writer.updated


def test_one_writer_at_a_time(fresh: str) -> None:
    store, other = open_store(fresh), open_store(fresh)
    with store.lock(), pytest.raises(IndexLockedError, match="writing the index"), other.lock():
        pass
    with other.lock():
        pass


def test_a_missing_index_names_the_command_that_builds_it(fresh: str) -> None:
    with pytest.raises(IndexNotFoundError, match=re.escape(f"qa index PATH --index {fresh}")):
        qa.Index.load(fresh)
    assert not open_store(fresh).exists()
    assert not Path(fresh.removeprefix("milvus:")).exists()  # looking created nothing


# --- Milvus's own ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_milvus_server_serves_the_local_answers(
    milvus_server: MilvusServer, corpus: Path, reference: qa.Index, tmp_path: Path
) -> None:
    """What this proves, and what it cannot.

    It proves the network client path: qa in this process, Milvus in another one (a
    ``milvus-lite server`` on 127.0.0.1), talking gRPC as with a Milvus server or
    cluster; that the answers, scores, relevance and highlights equal a local index's;
    that the writer lock holds across clients; that an update reaches a reader through
    the alias; and that a server that goes away is a clear ``QAError`` (no traceback
    from the CLI). On one machine it cannot prove how a multi-node cluster behaves
    (replicas, distributed BM25 statistics, load balancing): only that qa speaks the
    protocol they share.
    """
    location = f"milvus:{milvus_server.uri}#suite"
    idx = qa.Index.build([corpus], location)
    assert idx.sources == reference.sources
    for question in QUESTIONS:
        same_hits(idx.search(question, k=5), reference.search(question, k=5))
    name = f"{corpus}/news.html"
    assert idx.source_lines(name) == reference.source_lines(name)

    store, other = open_store(location), open_store(location)
    with store.lock(), pytest.raises(IndexLockedError, match="another writer"), other.lock():
        pass
    with other.lock():
        pass

    extra = write(tmp_path / "g.txt", "Der Leuchtturm steht auf der Klippe.\n")
    report = qa.Index.build([extra], location).build_report
    assert report is not None and report.embedded == 1 and report.added == (str(extra),)
    assert idx.refresh() and idx.search("Wo steht der Leuchtturm?", k=1)[0].source == str(extra)
    assert len(MilvusClient(milvus_server.uri).list_collections()) == 5  # 2 generations, lock

    milvus_server.stop()
    with pytest.raises(MilvusError, match=re.escape(milvus_server.uri)):
        idx.search("Wo steht der Leuchtturm?")
    with pytest.raises(QAError, match="cannot reach Milvus"):
        qa.Index.load(location)
    cli = subprocess.run(
        [sys.executable, "-m", "qa", "ask", "Leuchtturm", "--index", location],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert cli.returncode == 2
    assert "cannot reach Milvus" in cli.stderr and "Traceback" not in cli.stderr


def test_an_hnsw_index_gives_the_answers_of_an_exact_one(
    corpus: Path, reference: qa.Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above ``FLAT_MAX`` passages Milvus searches HNSW, as if this small corpus were large.

    qa then rescores the candidates with the stored vectors, and a filtered search falls
    back to them: on a corpus this small the answers are the exact ones.
    """
    publish = MilvusStore.publish

    def as_large(store: MilvusStore, tmp: Path, manifest: Manifest) -> None:
        publish(store, tmp, replace(manifest, dense_kind=DenseKind.IVF))

    monkeypatch.setattr(MilvusStore, "publish", as_large)
    idx = qa.Index.build([corpus], f"milvus:{tmp_path}/x.db")
    assert not idx._snapshot.dense_exact
    pattern = f"{corpus}/*.txt"
    for question in QUESTIONS:
        same_hits(idx.search(question, k=5), reference.search(question, k=5))
        same_hits(
            idx.search(question, k=3, sources=[pattern]),
            reference.search(question, k=3, sources=[pattern]),
        )


def test_a_milvus_lite_file_serves_one_process_at_a_time(corpus: Path, tmp_path: Path) -> None:
    """Another process gets a clear error while this one has the file, the answers after."""
    from milvus_lite.server_manager import server_manager_instance

    location = f"milvus:{tmp_path}/x.db"
    idx = qa.Index.build([corpus], location)
    expected = [p.to_dict() for p in idx.search("Wo schläft die Katze?", k=3)]
    ask = [sys.executable, "-m", "qa", "ask", "Wo schläft die Katze?", "-k", "3", "--json"]
    ask += ["--index", location]
    busy = subprocess.run(ask, capture_output=True, text=True, timeout=120, check=False)
    assert busy.returncode == 2 and "one process at a time" in busy.stderr
    assert "Traceback" not in busy.stderr
    server_manager_instance.release_server(f"{tmp_path}/x.db")  # this process lets go
    # A new process finds the collections released (Milvus Lite forgets loading them).
    free = subprocess.run(ask, capture_output=True, text=True, timeout=120, check=True)
    got = json.loads(free.stdout)
    assert [(p["source"], p["line_start"], p["highlight"]) for p in got] == [
        (p["source"], p["line_start"], p["highlight"]) for p in expected
    ]
    np.testing.assert_allclose([p["score"] for p in got], [p["score"] for p in expected], 1e-5)


def test_a_failed_publish_leaves_the_published_generation(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = f"milvus:{tmp_path}/x.db"
    first = qa.Index.build([corpus / "a.txt"], location)

    def fail(*_: object) -> None:
        raise RuntimeError("the connection broke")

    monkeypatch.setattr(vectorstore.store.milvus.store, "_upload_files", fail)
    with pytest.raises(RuntimeError, match="the connection broke"):
        build_index(location, [str(corpus / "b.txt")])
    assert open_store(location).current() == first.generation
    client = MilvusClient(f"{tmp_path}/x.db")
    assert sorted(client.list_collections()) == [
        f"qa_{first.generation}",
        f"qa_{first.generation}_files",
    ]
    assert qa.Index.load(location).search("Katze", k=1)[0].source == str(corpus / "a.txt")


def test_old_generations_are_dropped_but_the_previous_one(corpus: Path, tmp_path: Path) -> None:
    location = f"milvus:{tmp_path}/x.db#news"
    oldest = qa.Index.build([corpus / "a.txt"], location)
    qa.Index.build([corpus / "b.txt"], location)
    newest = qa.Index.build([corpus / "d.txt"], location)
    store = open_store(location)
    assert store.current() == newest.generation
    names = MilvusClient(f"{tmp_path}/x.db").list_collections()
    assert len(names) == 4 and not any(oldest.generation in n for n in names)
    with pytest.raises(GenerationGoneError, match="load it again"):
        oldest.search("Katze")


def test_milvus_locations() -> None:
    with pytest.raises(QAError, match="neither a Milvus Lite file"):
        open_store("milvus:./folder")
    with pytest.raises(QAError, match="index name"):
        open_store("milvus:./x.db#no-dashes")
    store = open_store("milvus:http://127.0.0.1:19530#news")
    assert store.location == "milvus:http://127.0.0.1:19530#news"


def test_row_filters_are_ranges() -> None:
    assert rows_filter([3, 4, 5, 6, 9, 11, 12]) == (
        "(passage >= 3 and passage < 7) or passage in [9, 11, 12]"
    )
    assert rows_filter(np.array([], dtype=np.int64)) == "passage < 0"


def test_terms_are_spelled_as_one_plain_token_each() -> None:
    for term in ["katz", "2022", "北京", "京北", "путин", "ein_wort", "xylophon", "x"]:
        spelled = bm25_term(term)
        assert re.fullmatch(r"[a-z0-9]+", spelled) and _index_term(spelled) == term
    assert bm25_term("katz") == "katz"


def test_qa_does_not_import_pymilvus() -> None:
    code = "import sys, qa, qa.cli, vectorstore; assert 'pymilvus' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
