"""Relevance labels and answer types: what the chat shows a reader instead of a number."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import qa
from qa.answer_type import AnswerType, answer_type, holds
from qa.index import _queries
from qa.relevance import FEATURES, absent_numbers, coverage, relevance
from tests.conftest import write
from vectorstore import DEFAULT_MODEL
from vectorstore.lexicon import dictionary
from vectorstore.sources.terms import tokenize


@pytest.mark.parametrize(
    ("relevance", "fit"),
    [
        (0.0, qa.Fit.POOR),
        (qa.MIN_RELEVANCE - 1e-6, qa.Fit.POOR),
        (qa.MIN_RELEVANCE, qa.Fit.MAYBE),
        (qa.GOOD_RELEVANCE - 1e-6, qa.Fit.MAYBE),
        (qa.GOOD_RELEVANCE, qa.Fit.GOOD),
        (1.0, qa.Fit.GOOD),
    ],
)
def test_fit_labels_follow_the_two_thresholds(relevance: float, fit: qa.Fit) -> None:
    assert 0 < qa.MIN_RELEVANCE < qa.GOOD_RELEVANCE < 1
    passage = qa.Passage("a.txt", 1, 1, "Text.", 1.0, relevance=relevance)
    assert passage.fit is fit
    assert passage.to_dict()["fit"] == fit.value
    assert passage.metadata()["fit"] == fit.value


def test_every_search_result_carries_its_label(seed_index: qa.Index) -> None:
    hits = seed_index.search("Wie viele Reservisten umfasst die Teilmobilmachung?", k=5)
    assert [h.fit for h in hits] == [qa.fit_of(h.relevance) for h in hits]
    assert hits[0].fit is not qa.Fit.POOR


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Wie viele Tote gab es in Kasachstan?", AnswerType.COUNT),
        ("Wieviele Reservisten wurden einberufen?", AnswerType.COUNT),
        ("How much did the pipeline cost?", AnswerType.COUNT),
        ("Wann wurde Janukowitsch gewählt?", AnswerType.DATE),
        ("In what year did the war start?", AnswerType.DATE),
        ("Seit wann gilt die Teilmobilmachung?", AnswerType.DATE),
        ("Wer hat Janukowitsch gratuliert?", AnswerType.OTHER),
        ("Why did NATO move troops?", AnswerType.OTHER),
    ],
)
def test_answer_type_of_questions(question: str, kind: AnswerType) -> None:
    assert answer_type(question) is kind


def test_passages_that_cannot_hold_the_answer_type() -> None:
    assert holds(AnswerType.COUNT, "Die Bilanz: 164 Tote.")
    assert holds(AnswerType.COUNT, "Dreihundert Soldaten kamen.")
    assert not holds(AnswerType.COUNT, "Die Lage bleibt angespannt.")
    assert holds(AnswerType.DATE, "Am 5. Januar begannen die Proteste.")
    assert holds(AnswerType.DATE, "Seit 2014 ist die Krim besetzt.")
    assert not holds(AnswerType.DATE, "Die Proteste begannen in Almaty.")
    assert holds(AnswerType.OTHER, "Anything at all.")


def test_answer_type_weight_moves_only_passages_without_the_type(seed_index: qa.Index) -> None:
    question = "Wie viele Reservisten umfasst die Teilmobilmachung?"
    plain = seed_index.search(question, k=10)
    seed_index.fusion = dataclasses.replace(qa.Fusion(), answer_type_weight=0.5)
    try:
        weighed = seed_index.search(question, k=10)
    finally:
        seed_index.fusion = qa.Fusion()
    by_citation = {p.citation: p.score for p in plain}
    for p in weighed:
        if p.citation in by_citation and not holds(AnswerType.COUNT, p.text):
            assert p.score < by_citation[p.citation]
    assert any(not holds(AnswerType.COUNT, p.text) for p in plain)


def test_absent_numbers_are_those_no_passage_of_the_index_holds(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "wahl.txt", "Die Wahl im Jahr 2019 gewann die Partei mit 38 Prozent.\n")
    write(corpus / "hafen.txt", "Der Hafen wurde erweitert; die Arbeiten dauerten lange.\n")
    idx = qa.Index.build([corpus], tmp_path / "index")
    idf = idx._snapshot.idf

    def absent(question: str) -> float:
        return absent_numbers(tokenize(question), idf)

    assert absent("Wer gewann die Wahl 2019?") == 0.0
    assert absent("Wer gewann die Wahl 1850?") == 1.0
    assert absent("Wer gewann 2019 mit 41 Prozent?") == 0.5
    assert absent("Wer gewann die Wahl?") == 0.0  # no number: no evidence either way


def test_an_absent_number_lowers_relevance() -> None:
    at = FEATURES.index("absent_numbers")
    row = np.array([[0.5, 4.0, 0.0, 0.0]])
    assert FEATURES[:3] == ("coverage", "cosine_z", "cross_lingual")
    absent = row.copy()
    absent[0, at] = 1.0
    assert relevance(absent)[0] < relevance(row)[0]
    assert relevance(row)[0] > qa.MIN_RELEVANCE  # the same passage, its numbers present


def test_coverage_counts_a_term_held_through_its_lemma_synonym_or_translation() -> None:
    idf = {"congratul": 2.0, "putin": 1.0}
    weights = {"congratul": 1.0, "putin": 1.0}
    passage = frozenset({"putin", "gratuliert"})
    assert coverage(idf, weights, passage) == pytest.approx(1 / 3)
    alternatives = {"congratul": frozenset({"gratuliert", "beglückwunscht"})}
    assert coverage(idf, weights, passage, alternatives) == 1.0
    assert coverage(idf, weights, frozenset({"putin"}), alternatives) == pytest.approx(1 / 3)


def test_an_english_question_covers_german_words_through_the_dictionary() -> None:
    if not dictionary():
        pytest.skip("the Ding dictionary (trans-de-en) is not installed")
    query = _queries(DEFAULT_MODEL, ["Who did Putin congratulate?"], ())[0]
    german = frozenset(tokenize("Putin wollte Janukowitsch zur Wahl gratulieren."))
    idf = dict.fromkeys(query.weights, 1.0)
    assert coverage(idf, query.weights, german, query.alternatives) > coverage(
        idf, query.weights, german
    )
