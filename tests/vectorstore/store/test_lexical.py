from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np
import pytest

import qa
from tests.conftest import write
from vectorstore.sources.terms import tokenize
from vectorstore.store.local.lexical import LexicalIndex

DOCS = [
    "Die Katze schläft auf dem Sofa.",
    "Der Zug nach Hamburg hat Verspätung.",
    "Москва — столица России.",
    "北京是中国的首都。",
    "Die Katzen der Nachbarn jagen Mäuse im Garten.",
]


def _build(docs: list[str]) -> LexicalIndex:
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in tokenize(d)] for d in docs]
    offsets = np.cumsum([0] + [len(i) for i in ids])
    return LexicalIndex.build(
        list(vocab), np.array([t for i in ids for t in i], dtype=np.int32), offsets
    )


def test_scores_equal_bm25s_own_index() -> None:
    corpus = [tokenize(d) for d in DOCS * 3 + ["Katze Katze Katze Hund", "Hund"]]
    reference = bm25s.BM25(k1=0.6, b=0.75)
    reference.index(corpus, show_progress=False)
    ours = _build(DOCS * 3 + ["Katze Katze Katze Hund", "Hund"])
    for query in ["Katze", "Hund Katze", "Hamburg Zug Verspätung", "首都", "nichts"]:
        terms = [t for t in tokenize(query) if t in reference.vocab_dict]
        expected = reference.get_scores(terms) if terms else np.zeros(len(corpus))
        np.testing.assert_allclose(ours.scores(tokenize(query)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Katze", [0, 4]),
        ("Hamburg Zug", [1]),
        ("столицы", [2]),
        ("首都", [3]),
        ("Garten Mäuse", [4]),
    ],
)
def test_exact_ids_on_a_tiny_corpus(query: str, expected: list[int]) -> None:
    scores = _build(DOCS).scores(tokenize(query))
    assert sorted(np.flatnonzero(scores).tolist()) == expected


def test_saved_index_scores_the_same(tmp_path: Path) -> None:
    built = _build(DOCS)
    built.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path, len(DOCS))
    for q in ["Katze Garten", "Москва", "北京"]:
        np.testing.assert_allclose(loaded.scores(tokenize(q)), built.scores(tokenize(q)))
    ids, lengths = loaded.passage_tokens(0, 2)
    assert [loaded.vocab[i] for i in ids] == tokenize(DOCS[0]) + tokenize(DOCS[1])
    assert lengths.tolist() == [len(tokenize(DOCS[0])), len(tokenize(DOCS[1]))]
    with pytest.raises(ValueError, match="does not hold"):
        LexicalIndex.load(tmp_path, len(DOCS) + 1)


def test_cyrillic_and_chinese_articles_are_found(tmp_path: Path) -> None:
    write(tmp_path / "c" / "ru.txt", "Новости.\n\nМосква — столица России.\n")
    write(tmp_path / "c" / "zh.txt", "新闻。\n\n北京是中国的首都。\n")
    write(tmp_path / "c" / "de.txt", "Berlin ist die Hauptstadt Deutschlands.\n")
    idx = qa.Index.build([tmp_path / "c"], tmp_path / "idx")
    ru = idx.search("столица России", k=1)[0]
    assert (ru.source.endswith("ru.txt"), ru.line_start) == (True, 3)
    zh = idx.search("中国的首都是哪里？", k=1)[0]
    assert (zh.source.endswith("zh.txt"), zh.line_start) == (True, 3)
