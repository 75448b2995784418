"""Expansion of a question's BM25 terms: exact terms on tiny inputs, and a tiny corpus where
an English question finds its German passage lexically only with the dictionary."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import qa
from qa.expansion import Expansion, Expansions, Origin, expand, lexicon_notes, term_weights
from tests.conftest import REPO, write
from vectorstore.lexicon import dictionary, thesaurus

DATA = Path(__file__).resolve().parents[1] / "data" / "lexicon"
OFF = Expansions(translations=0, synonym_weight=0.0, lemma_weight=0.0)

ARTICLES = {
    "imker.txt": "Imker im Allgäu\n\nDie Imker melden 38 Kilogramm Honig je Volk.\n",
    "wahl.txt": "Glückwünsche aus Moskau\n\nPutin hat Janukowitsch zur Wahl gratuliert.\n",
    "wetter.txt": "Wetter\n\nIm Allgäu bleibt es sonnig, am Wochenende wird es warm.\n",
}


@pytest.fixture
def excerpts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The lexicon read from the small test files in tests/data/lexicon."""
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("QA_DING", str(DATA / "ding.txt"))
    monkeypatch.setenv("QA_THESAURUS", str(DATA / "thesaurus.txt"))
    dictionary.cache_clear()
    thesaurus.cache_clear()
    yield
    dictionary.cache_clear()
    thesaurus.cache_clear()


@pytest.fixture
def missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No dictionary and no thesaurus (the Debian packages not installed)."""
    monkeypatch.setenv("QA_DING", str(tmp_path / "absent" / "de-en"))
    monkeypatch.setenv("QA_THESAURUS", str(tmp_path / "absent" / "openthesaurus.txt"))
    dictionary.cache_clear()
    thesaurus.cache_clear()
    yield
    dictionary.cache_clear()
    thesaurus.cache_clear()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> qa.Index:
    folder = tmp_path_factory.mktemp("tiny")
    for name, text in ARTICLES.items():
        write(folder / "articles" / name, text)
    return qa.Index.build([folder / "articles"], folder / "index")


def _terms(expansions: tuple[Expansion, ...]) -> list[tuple[str, float, str, str, str]]:
    return [(e.term, e.weight, e.origin.value, e.word, e.source) for e in expansions]


def test_an_english_question_gets_german_translations(excerpts: None) -> None:
    found = expand("Who congratulated the beekeepers on the election?", Expansions())
    assert _terms(found) == [
        ("who", 1.0, "question", "Who", "Who"),
        ("congratulated", 1.0, "question", "congratulated", "congratulated"),
        ("beekeep", 1.0, "question", "beekeepers", "beekeepers"),
        ("election", 1.0, "question", "election", "election"),
        ("gratuliert", 1.0, "translation", "gratuliert", "congratulated"),
        ("begluckwunscht", 1.0, "translation", "beglückwünscht", "congratulated"),
        ("imk", 1.0, "translation", "Imker", "beekeepers"),
        ("wahl", 1.0, "translation", "Wahl", "election"),
        ("gnadenwahl", 1.0, "translation", "Gnadenwahl", "election"),
    ]
    one = expand("Who congratulated the beekeepers on the election?", Expansions(translations=1))
    assert [e.word for e in one if e.origin is Origin.TRANSLATION] == [
        "gratuliert",
        "Imker",
        "Wahl",
    ]
    assert expand("Who congratulated the beekeepers on the election?", OFF) == found[:4]


def test_the_longest_known_phrase_is_translated(excerpts: None) -> None:
    found = expand("What did the prime minister say about the partial mobilization?")
    assert [(e.word, e.source) for e in found if e.origin is Origin.TRANSLATION] == [
        ("Ministerpräsident", "prime minister"),
        ("Teilmobilmachung", "partial mobilization"),
    ]


def test_a_german_question_gets_weighted_synonyms_and_no_translation(excerpts: None) -> None:
    question = "Wem hat Putin zur Wahl gratuliert?"
    assert [e.origin for e in expand(question, Expansions(lemma_weight=0, synonym_weight=0))] == [
        Origin.QUESTION
    ] * 4  # no translation of a German question
    found = expand(question, Expansions(synonym_weight=0.2, lemma_weight=0))
    added = [(e.term, e.weight, e.word, e.source) for e in found if e.origin is Origin.SYNONYM]
    assert ("abstimm", 0.2, "Abstimmung", "Wahl") in added
    assert ("urnengang", 0.2, "Urnengang", "Wahl") in added
    weights = term_weights(found)
    assert weights["wahl"] == 1.0 and weights["putin"] == 1.0 and weights["abstimm"] == 0.2
    assert "abstimm" in term_weights(expand(question, Expansions(max_synset=4)))
    small = expand(question, Expansions(max_synset=3))
    assert "abstimm" not in term_weights(small)  # the Wahl set has 4 words: too vague here


def test_lemmas_and_the_synonyms_of_lemmas(excerpts: None) -> None:
    pytest.importorskip("simplemma")
    found = expand("Wie viele Reservisten umfasst die Teilmobilmachung?", Expansions())
    added = [(e.term, e.weight, e.origin.value, e.word, e.source) for e in found[4:]]
    assert [e.origin for e in found[:4]] == [Origin.QUESTION] * 4
    assert added == [("umfass", 0.5, "lemma", "umfassen", "umfasst")]  # Reservist stems alike
    # "gratulierte" is in no synonym set; its lemma "gratulieren" is.
    found = expand("Wer gratulierte Janukowitsch?", Expansions())
    assert [(e.term, e.weight, e.origin.value, e.word) for e in found[3:]] == [
        ("gratuli", 0.5, "lemma", "gratulieren"),
        ("begluckwunsch", 0.2, "synonym", "beglückwünschen"),
    ]


def test_english_question_finds_the_german_passage_lexically_only_with_the_dictionary(
    tiny: qa.Index, excerpts: None
) -> None:
    question = "Who congratulated whom on the election?"
    tiny.expansion = OFF
    try:
        without = tiny.search(question, k=3, mode=qa.SearchMode.LEXICAL)
    finally:
        tiny.expansion = Expansions()
    with_dictionary = tiny.search(question, k=3, mode=qa.SearchMode.LEXICAL)
    assert [p.source.rsplit("/", 1)[1] for p in without if p.score > 0] == []
    assert [(p.source.rsplit("/", 1)[1], p.line_start) for p in with_dictionary[:1]] == [
        ("wahl.txt", 1)
    ]
    honey = tiny.search("How much honey do the beekeepers get?", k=1, mode=qa.SearchMode.LEXICAL)
    assert [(p.source.rsplit("/", 1)[1], p.line_start) for p in honey] == [("imker.txt", 1)]


def test_explain_lists_the_terms_search_uses(tiny: qa.Index, excerpts: None) -> None:
    terms = tiny.explain("Who congratulated whom on the election?")
    assert [(e.word, e.origin) for e in terms if e.origin is Origin.TRANSLATION] == [
        ("gratuliert", Origin.TRANSLATION),
        ("beglückwünscht", Origin.TRANSLATION),
        ("Wahl", Origin.TRANSLATION),
        ("Gnadenwahl", Origin.TRANSLATION),
    ]
    assert terms[0].to_dict() == {
        "term": "who",
        "weight": 1.0,
        "origin": "question",
        "word": "Who",
        "source": "Who",
    }
    with pytest.raises(ValueError):
        tiny.explain("")


def test_qa_works_without_the_lexicon_and_says_so(
    tiny: qa.Index, missing: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="qa"):
        hits = tiny.search("Who congratulated whom on the election?", k=3)
    assert len(hits) == 3  # the dense side still ranks every passage
    assert [e.origin for e in tiny.explain("Who congratulated whom?")] == [Origin.QUESTION] * 3
    assert "not found; qa works without it (install the Debian package trans-de-en" in caplog.text
    notes = lexicon_notes(Expansions(synonym_weight=0.2))
    assert notes[0].startswith("translation (English questions): missing (")
    assert "trans-de-en or set QA_DING" in notes[0]
    assert "openthesaurus-de-text or set QA_THESAURUS" in notes[1]


def test_cli_explain_without_the_lexicon(tiny: qa.Index, tmp_path: Path) -> None:
    env = {**os.environ, "QA_DING": str(tmp_path / "absent")}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "qa",
            "ask",
            "Who won the election?",
            "--explain",
            "-k",
            "1",
            "--index",
            str(tiny.path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert "BM25 terms" in out.stdout
    assert "election" in out.stdout
    assert "translation (English questions): missing" in out.stdout
    assert "[1] " in out.stdout


def test_cli_explain_with_the_dictionary(tiny: qa.Index) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "qa",
            "ask",
            "Who won the election?",
            "--explain",
            "--json",
            "--index",
            str(tiny.path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env={**os.environ, "QA_DING": str(DATA / "ding.txt")},
    )
    assert out.returncode == 0, out.stderr
    assert "wahl                 1.00  translation: Wahl ← election" in out.stderr
    assert out.stdout.lstrip().startswith("[")  # the JSON stays alone on stdout


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("synonym_weight", -0.1),
        ("lemma_weight", float("nan")),
        ("translation_weight", "1"),
        ("translations", -1),
        ("translations", 1.5),
        ("max_synset", 1),
    ],
)
def test_bad_settings_are_named(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"Expansions.{field} must be"):
        Expansions(**{field: value})  # type: ignore[arg-type]
