from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import qa
import vectorstore.build.pieces
from tests.conftest import write
from vectorstore import IndexDir, build_index, get_embedder
from vectorstore.kinds import FLAT_MAX, DenseKind
from vectorstore.model.embedding import model_revision
from vectorstore.sources.chunking import PassageKind, chunk_text, embedding_text
from vectorstore.sources.sentences import sentence_spans
from vectorstore.store.local.dense import create_dense, load_dense

ARTICLES = {
    "a.txt": "Die Katze schläft auf dem Sofa.\n\nSie träumt von Mäusen.\n",
    "b.txt": "Der Zug nach Hamburg hat Verspätung.\n\nDie Bahn entschuldigt sich.\n",
    "sub/c.txt": "Im Garten blühen die Rosen.\n",
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    for name, text in ARTICLES.items():
        write(tmp_path / "corpus" / name, text)
    return tmp_path / "corpus"


def test_build_cites_sources_as_named_and_stores_the_text(corpus: Path, tmp_path: Path) -> None:
    idx = qa.Index.build([corpus], tmp_path / "idx")
    assert idx.sources == tuple(f"{corpus}/{n}" for n in sorted(ARTICLES))
    assert len(idx) == 5
    assert idx.source_text(f"{corpus}/a.txt") == ARTICLES["a.txt"]
    with pytest.raises(KeyError, match="not an indexed source"):
        idx.source_text("/etc/passwd")


def test_dense_search_equals_brute_force(seed_index: qa.Index) -> None:
    snapshot = IndexDir(seed_index.path).open()
    vectors = np.asarray(snapshot.vectors)
    # Stored rows are the passages of the stored articles, with their kinds, and stored
    # vectors the model's embeddings of their texts behind their contexts.
    chunks = [
        (text[c.start : c.end], c)
        for name in snapshot.source_names
        for text in [snapshot.source_text(name)]
        for c in chunk_text(text)
    ]
    assert [t for t, _ in chunks] == [snapshot.passage_text(i) for i in range(len(vectors))]
    assert [c.kind for _, c in chunks] == snapshot.passages["kind"].tolist()
    with_context = [i for i, (_, c) in enumerate(chunks) if c.context]
    rows = [0, 1, 2, 3, *with_context[:8]]
    embedded = [embedding_text(text, c.context)[0] for text, c in (chunks[i] for i in rows)]
    fresh = get_embedder(seed_index.model).encode_passages(embedded)
    np.testing.assert_allclose(fresh, vectors[rows], atol=1e-5)
    for question in ["Teilmobilmachung Reservisten", "Nordstream 2 Pipeline", "Taxi in Indien"]:
        q = get_embedder(seed_index.model).encode_queries([question])[0]
        expected = np.argsort(-(vectors @ q), kind="stable")[:5]
        hits = seed_index.search(question, k=5, mode=qa.SearchMode.DENSE)
        assert [(h.source, h.line_start) for h in hits] == [
            (
                snapshot.source_names[snapshot.passages[i]["source"]],
                int(snapshot.passages[i]["line_start"]),
            )
            for i in expected
        ]
        np.testing.assert_allclose([h.score for h in hits], (vectors @ q)[expected], atol=1e-5)


def test_an_index_of_another_model_version_warns_and_is_re_embedded(
    corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    index_dir = tmp_path / "idx"
    build_index(index_dir, [str(corpus)])
    gen = index_dir / (index_dir / "CURRENT").read_text().strip()
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model_revision"] == model_revision(manifest["model"]) != ""
    # As an index written before the current int8 conversion (nothing recorded) left it.
    del manifest["model_revision"]
    (gen / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with caplog.at_level("WARNING", logger="qa"):
        qa.Index.load(index_dir)
    assert "embedded by another version of multilingual-e5-small" in caplog.text
    report = build_index(index_dir, [str(corpus)])
    assert report.published and report.embedded == 5 and len(report.changed) == 3
    caplog.clear()
    with caplog.at_level("WARNING", logger="qa"):
        qa.Index.load(index_dir)
    assert "another version" not in caplog.text
    assert build_index(index_dir, [str(corpus)]).embedded == 0


def test_incremental_update(corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "idx"
    first = build_index(index_dir, [str(corpus)])
    assert len(first.added) == 3 and first.embedded == 5

    again = build_index(index_dir, [str(corpus)])
    assert not again.published and again.embedded == 0 and len(again.unchanged) == 3

    write(corpus / "b.txt", "Der Zug nach Berlin fällt aus.\n")  # changed: 1 passage
    write(corpus / "d.txt", "Neue Datei über Schiffe im Hafen.\n\nZweiter Absatz.\n")  # new: 2
    (corpus / "sub" / "c.txt").unlink()  # deleted
    report = build_index(index_dir, [str(corpus)])
    assert report.added == (f"{corpus}/d.txt",)
    assert report.changed == (f"{corpus}/b.txt",)
    assert report.removed == (f"{corpus}/sub/c.txt",)
    assert report.unchanged == (f"{corpus}/a.txt",)
    assert report.embedded == 3  # only the changed and new passages

    idx = qa.Index.load(index_dir)
    assert f"{corpus}/sub/c.txt" not in idx.sources
    # A deleted file's words are gone from the lexical index, a changed file's old words too.
    assert idx.search("Rosen Garten", k=5, mode=qa.SearchMode.LEXICAL) == []
    assert idx.search("Hamburg", k=5, mode=qa.SearchMode.LEXICAL) == []
    berlin = idx.search("Berlin", k=5, mode=qa.SearchMode.LEXICAL)
    assert [h.source for h in berlin] == [f"{corpus}/b.txt"]
    top = idx.search("Schiffe im Hafen", k=1)[0]
    assert (top.source, top.line_start, top.text) == (
        f"{corpus}/d.txt",
        1,
        "Neue Datei über Schiffe im Hafen.",
    )
    # Reused passages keep exact text and vectors after their neighbours changed.
    kept = idx.search("Die Katze schläft", k=1, mode=qa.SearchMode.DENSE)[0]
    assert (kept.source, kept.text) == (f"{corpus}/a.txt", "Die Katze schläft auf dem Sofa.")
    assert kept.score == pytest.approx(
        float(
            get_embedder().encode_queries(["Die Katze schläft"])[0]
            @ get_embedder().encode_passages([kept.text])[0]
        ),
        abs=1e-5,
    )


def test_passage_kinds_are_stored_and_kept_by_updates(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    write(
        corpus / "a.txt",
        "Wetter am Wochenende\n\nEs wird warm.\n\n"
        "Sonne über dem Rhein. Erika Muster / Agentur\n\nAusblick\n",
    )
    write(corpus / "b.txt", "Der Zug nach Hamburg hat Verspätung.\n")
    index_dir = tmp_path / "idx"
    build_index(index_dir, [str(corpus)])
    before = IndexDir(index_dir).open()
    kinds = [PassageKind.TEXT, PassageKind.CAPTION, PassageKind.HEADING, PassageKind.TEXT]
    assert before.passages["kind"].tolist() == kinds
    vectors = np.array(before.vectors[:3])

    write(corpus / "b.txt", "Der Zug nach Berlin fällt aus.\n\nAn Bord\n")
    report = build_index(index_dir, [str(corpus)])
    assert report.unchanged == (f"{corpus}/a.txt",) and report.embedded == 2
    after = IndexDir(index_dir).open()
    assert after.passages["kind"].tolist() == [*kinds[:3], PassageKind.TEXT, PassageKind.HEADING]
    np.testing.assert_array_equal(after.vectors[:3], vectors)


def test_update_without_paths_rescans_the_recorded_folders(corpus: Path, tmp_path: Path) -> None:
    build_index(tmp_path / "idx", [str(corpus)])
    write(corpus / "e.txt", "Ein Nachtrag.\n")
    report = build_index(tmp_path / "idx", [])
    assert report.added == (f"{corpus}/e.txt",)


def test_encodings_binary_and_empty_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    corpus = tmp_path / "c"
    write(corpus / "latin1.txt", "Kopf\n\nGrüße aus Köln, sagte er.\n".encode("latin-1"))
    write(corpus / "bom.txt", "\ufeffMit BOM.\n".encode())
    write(corpus / "binary.txt", b"\x00\x01\x02binary")
    write(corpus / "empty.txt", "  \n")
    idx = qa.Index.build([corpus], tmp_path / "idx")
    assert idx.sources == (f"{corpus}/bom.txt", f"{corpus}/latin1.txt")
    skipped = dict(idx.build_report.skipped)
    assert "binary" in skipped[f"{corpus}/binary.txt"]
    assert "empty" in skipped[f"{corpus}/empty.txt"]
    assert "binary.txt" in caplog.text and "empty.txt" in caplog.text
    hit = idx.search("Grüße aus Köln", k=1)[0]
    assert (hit.source, hit.line_start, hit.line_end) == (f"{corpus}/latin1.txt", 1, 3)
    assert hit.text == "Kopf\n\nGrüße aus Köln, sagte er."  # the title is folded in


def test_missing_index_and_paths_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(qa.IndexNotFoundError, match="qa index PATH"):
        qa.Index.load(tmp_path / "nothing")
    with pytest.raises(qa.SourceError, match="does not exist"):
        qa.Index.build([tmp_path / "nope"], tmp_path / "idx")
    write(tmp_path / "empty" / "x.txt", "")
    with pytest.raises(qa.SourceError, match="no articles"):
        qa.Index.build([tmp_path / "empty"], tmp_path / "idx")
    assert not IndexDir(tmp_path / "idx").exists()


def _current(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().strip()


def _unknown_kind(gen: Path) -> None:
    rows = np.load(gen / "passages.npy", allow_pickle=False)
    rows["kind"][1] = max(PassageKind) + 1
    np.save(gen / "passages.npy", rows, allow_pickle=False)  # same size: passes the size check


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        (
            lambda g: g.joinpath("vectors.npy").write_bytes(
                g.joinpath("vectors.npy").read_bytes()[:-7]
            ),
            qa.IndexCorruptError,
        ),
        (lambda g: g.joinpath("dense.faiss").unlink(), qa.IndexCorruptError),
        (lambda g: g.joinpath("manifest.json").write_text("{not json"), qa.IndexCorruptError),
        (
            lambda g: g.joinpath("dense.faiss").write_bytes(
                b"x" * g.joinpath("dense.faiss").stat().st_size
            ),
            qa.IndexCorruptError,
        ),
        (lambda g: g.parent.joinpath("CURRENT").write_text("../../etc"), qa.IndexCorruptError),
        (_unknown_kind, qa.IndexCorruptError),
    ],
    ids=[
        "truncated-vectors",
        "missing-faiss",
        "bad-manifest",
        "garbage-faiss",
        "bad-pointer",
        "unknown-passage-kind",
    ],
)
def test_damaged_index_says_to_rebuild(corpus: Path, tmp_path: Path, damage, error) -> None:
    index_dir = tmp_path / "idx"
    qa.Index.build([corpus], index_dir)
    damage(_current(index_dir))
    with pytest.raises(error, match="--rebuild"):
        qa.Index.load(index_dir)
    # --rebuild recovers without reading the damaged generation.
    assert len(qa.Index.build([corpus], index_dir, rebuild=True)) == 5


def test_other_format_version_and_model_say_to_rebuild(corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "idx"
    qa.Index.build([corpus], index_dir)
    with pytest.raises(qa.IndexMismatchError, match=r"built with model .*--rebuild"):
        qa.Index.load(index_dir, model="other-model")
    with pytest.raises(qa.IndexMismatchError, match=r"built with model .*--rebuild"):
        qa.Index.build([corpus], index_dir, model="other-model")
    manifest = _current(index_dir) / "manifest.json"
    data = json.loads(manifest.read_text())
    data["format_version"] = 999
    manifest.write_text(json.dumps(data))
    with pytest.raises(qa.IndexMismatchError, match=r"format version 999.*--rebuild"):
        qa.Index.load(index_dir)


def test_a_second_writer_is_refused_and_readers_go_on(corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "idx"
    idx = qa.Index.build([corpus], index_dir)
    with IndexDir(index_dir).lock():
        with pytest.raises(qa.IndexLockedError, match="another process"):
            qa.Index.build([corpus], index_dir, rebuild=True)
        assert qa.Index.load(index_dir).search("Rosen", k=1)
    assert idx.search("Rosen", k=1)[0].source.endswith("c.txt")


def test_publishing_keeps_only_the_previous_generation(corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "idx"
    for i in range(4):
        write(corpus / f"n{i}.txt", f"Nachricht Nummer {i}.\n")
        qa.Index.build([corpus], index_dir)
    generations = sorted(p.name for p in index_dir.glob("gen-*"))
    assert len(generations) == 2 and _current(index_dir).name in generations


def test_large_files_stream_in_blocks_with_exact_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Blocks of ~300 characters: the file streams through dozens of them, with paragraph
    # breaks, a paragraph longer than a block and multi-byte characters across boundaries.
    monkeypatch.setattr(vectorstore.build.pieces, "_BLOCK_CHARS", 300)
    paragraphs = [f"Absatz {i}: Grüße aus Köln, Nummer {i}." for i in range(60)]
    paragraphs[30] = " ".join(f"Überlang {i}." for i in range(150))
    text = "\n\n".join(paragraphs) + "\n"
    write(tmp_path / "c" / "big.txt", text)
    idx = qa.Index.build([tmp_path / "c"], tmp_path / "idx")
    assert idx.source_text(f"{tmp_path}/c/big.txt") == text
    lines = text.split("\n")
    hits = idx.search("Köln", k=len(idx), mode=qa.SearchMode.LEXICAL)
    assert len(hits) == 59
    for h in idx.search("Absatz Überlang", k=len(idx)):
        cited = "\n".join(lines[h.line_start - 1 : h.line_end])
        assert h.text in cited
    found = idx.search("Absatz 42", k=1, mode=qa.SearchMode.LEXICAL)[0]
    assert (found.line_start, found.text) == (85, paragraphs[42])


def test_approximate_index_finds_what_exact_search_finds(tmp_path: Path) -> None:
    # Clustered like real embeddings (uniform random vectors are IVF's known worst case).
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(300, 32))
    vectors = centres[rng.integers(0, 300, 60_000)] + 0.3 * rng.normal(size=(60_000, 32))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    kind = DenseKind.AUTO.resolve(len(vectors))
    assert kind is DenseKind.IVF and DenseKind.AUTO.resolve(FLAT_MAX) is DenseKind.FLAT
    index = create_dense(kind, 32, len(vectors))
    index.add(vectors)
    index.save(tmp_path / "ivf.faiss")
    loaded = load_dense(kind, tmp_path / "ivf.faiss", 32)
    queries = vectors[:50] + 0.05 * rng.normal(size=(50, 32)).astype(np.float32)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    _, found = loaded.search(queries, 10)
    recall = np.mean([len(set(e) & set(f)) / 10 for e, f in zip(exact, found, strict=True)])
    assert recall >= 0.9
    with pytest.raises(ValueError, match="not a flat index"):
        load_dense(DenseKind.FLAT, tmp_path / "ivf.faiss", 32)


def test_sentence_vectors_follow_the_sentences_and_survive_updates(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    write(corpus / "a.txt", "Titel\n\nDer Rat tagte. Er beschloss Hilfen. Die Opposition klagte.\n")
    write(corpus / "b.txt", "Der Zug nach Hamburg hat Verspätung. Reisende warten.\n")
    index_dir = tmp_path / "idx"
    build_index(index_dir, [str(corpus)])
    before = IndexDir(index_dir).open()
    texts = [before.passage_text(r) for r in range(len(before.passages))]
    counts = np.diff(before.sentence_offsets).tolist()
    assert counts == [len(sentence_spans(t)) for t in texts] == [4, 2]  # "Titel" folded in
    # Pooled from the passage's own pass: each is close to the sentence embedded alone.
    alone = get_embedder().encode_passages(["Er beschloss Hilfen."])[0]
    sentence = np.asarray(before.sentence_vectors[2], dtype=np.float32)
    assert float(sentence @ alone) > 0.8
    assert before.sentence_cosines(0, alone).shape == (4,)
    kept = np.array(before.sentence_vectors[:4])

    write(corpus / "b.txt", "Der Zug nach Berlin fällt aus.\n")
    build_index(index_dir, [str(corpus)])
    after = IndexDir(index_dir).open()
    assert np.diff(after.sentence_offsets).tolist() == [4, 1]
    np.testing.assert_array_equal(after.sentence_vectors[:4], kept)
