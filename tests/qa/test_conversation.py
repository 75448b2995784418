"""Follow-up questions and the relevance threshold, through the public API."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import qa
from qa.conversation import dependence
from qa.relevance import cross_lingual, language

Q1 = "Wen hat Putin zur Wahl beglückwünscht?"
SEED_000 = "seeds/000_4e643a41be3c1e52.txt"


def _citations(hits: list[qa.Passage]) -> list[str]:
    return [h.citation for h in hits]


def test_an_empty_history_gives_exactly_the_results_of_the_question_alone(
    seed_index: qa.Index,
) -> None:
    alone = seed_index.search("Und wann war das?", k=5)
    assert seed_index.search("Und wann war das?", k=5, history=[]) == alone
    assert seed_index.search("Und wann war das?", k=5, history=["", "  "]) == alone


def test_a_question_that_stands_alone_ignores_the_history(seed_index: qa.Index) -> None:
    question = "Womit unterstützt die Türkei die Ukraine militärisch?"
    assert dependence(question) == 0
    assert seed_index.search(question, k=5, history=[Q1]) == seed_index.search(question, k=5)


def test_a_follow_up_takes_its_subject_from_the_previous_question(seed_index: qa.Index) -> None:
    follow_up = "Und wo hat er sich mit ihm solidarisiert?"
    alone = seed_index.search(follow_up, k=3)
    hits = seed_index.search(follow_up, k=3, history=[Q1])
    assert hits[0].source == SEED_000, _citations(hits)
    assert hits[0].line_start <= 4 <= hits[0].line_end, _citations(hits)
    assert hits != alone


def test_batch_search_asks_every_question_after_the_same_history(seed_index: qa.Index) -> None:
    questions = ["Und wo hat er sich mit ihm solidarisiert?", "Womit unterstützt die Türkei?"]
    batch = seed_index.batch_search(questions, k=3, history=[Q1])
    assert batch == [seed_index.search(q, k=3, history=[Q1]) for q in questions]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Und wann war das?", 1.0),
        ("Warum?", 1.0),
        ("What about India?", 1.0),
        ("Wie viele Soldaten schickte er?", 1.0),
        ("When did it happen?", 1.0),
        ("Wie viele Soldaten stehen an der ukrainischen Grenze?", 0.0),
        ("Gibt es Gespräche zwischen den USA und Russland in Genf?", 0.0),
        ("Wann war das Treffen von Putin und Xi in Samarkand?", 0.0),
    ],
)
def test_dependence_is_read_from_the_question_itself(question: str, expected: float) -> None:
    assert dependence(question) == expected


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ("Wer kommentiert?", "must be a list"),
        (None, "must be a list"),
        ([1, 2], "entry 1 must be a string"),
        (["Putin", b"bytes"], "entry 2 must be a string"),
        (["x" * (qa.MAX_QUESTION_CHARS + 1)], "entry 1 is too long"),
        (["Putin"] * (qa.MAX_HISTORY_TURNS + 1), "at most"),
    ],
)
def test_bad_history_is_a_clear_error(seed_index: qa.Index, history: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        seed_index.search("Und wann?", history=history)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        qa.retrieve("Und wann?", history=history)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), "0.5", True])
def test_min_relevance_outside_zero_to_one_is_a_clear_error(
    seed_index: qa.Index, value: object
) -> None:
    with pytest.raises(ValueError, match="min_relevance"):
        seed_index.search("Putin", min_relevance=value)  # type: ignore[arg-type]


def test_relevance_is_absolute_and_min_relevance_drops_passages_below_it(
    seed_index: qa.Index,
) -> None:
    hits = seed_index.search("Wie viele Reservisten umfasst die Teilmobilmachung?", k=10)
    assert all(0.0 <= h.relevance <= 1.0 for h in hits)
    assert hits[0].relevance >= qa.MIN_RELEVANCE
    threshold = (hits[0].relevance + min(h.relevance for h in hits)) / 2
    kept = seed_index.search(
        "Wie viele Reservisten umfasst die Teilmobilmachung?", k=10, min_relevance=threshold
    )
    assert kept == [h for h in hits if h.relevance >= threshold]
    assert 0 < len(kept) < len(hits)
    assert seed_index.search("Putin", k=5, min_relevance=0.0) == seed_index.search("Putin", k=5)


def test_a_question_no_article_answers_falls_below_the_threshold(seed_index: qa.Index) -> None:
    hits = seed_index.search("Wer hat die Fußball-WM 2014 gewonnen?", k=5)
    assert hits[0].relevance < qa.MIN_RELEVANCE, [(h.citation, h.relevance) for h in hits]
    assert (
        seed_index.search("Wer hat die Fußball-WM 2014 gewonnen?", min_relevance=qa.MIN_RELEVANCE)
        == []
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wie viele Männer wurden entsandt?", "de"),
        ("Was ist Sepsis?", "de"),  # "was" is English too: it does not count
        ("How many men were sent?", "en"),
        ("And when was that?", "en"),
        ("Putin?", None),
        ("", None),
    ],
)
def test_language_is_told_from_function_words(text: str, expected: str | None) -> None:
    assert language(text) == expected


def test_english_questions_over_german_articles_keep_their_answer(seed_index: qa.Index) -> None:
    german = "Der Kreml hat die Teilmobilmachung angekündigt."
    assert cross_lingual("How many reservists are called up?", german) == 1.0
    assert cross_lingual("Wie viele Reservisten?", german) == 0.0
    assert cross_lingual("Putin?", german) == 0.0  # too short to tell: no evidence
    hits = seed_index.search("How many reservists does the partial mobilisation cover?", k=3)
    assert hits[0].source.endswith("003_2a0abf6ffe095541.txt") and hits[0].line_start == 1
    assert hits[0].relevance >= qa.MIN_RELEVANCE


@pytest.mark.xfail(
    strict=True,
    reason="known and measured: with MIN_RELEVANCE set to keep 97% of right first passages "
    "on every natural set, only 0.39 of English off-topic questions fall below it "
    "(benchmarks/RESULTS.md, 'Relevance'); this one scores about 0.02",
)
def test_an_english_off_topic_question_falls_below_the_line(seed_index: qa.Index) -> None:
    off_topic = seed_index.search("Who won the 2014 football World Cup?", k=3)
    assert off_topic[0].relevance < qa.MIN_RELEVANCE


BRIDGES = {
    "altdorf.txt": "Altdorf feiert\n\nBürgermeister Hans Weber eröffnete am Samstag das "
    "Stadtfest.\n\nDer Neubau über den Fluss verschlang drei Millionen Euro.\n",
    "neustadt.txt": "Neustadt baut\n\nWas hat die Brücke gekostet? Die neue Brücke hat "
    "fünf Millionen Euro gekostet.\n",
}


@pytest.fixture(scope="module")
def bridges(tmp_path_factory: pytest.TempPathFactory) -> qa.Index:
    folder = tmp_path_factory.mktemp("bridges")
    for name, text in BRIDGES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return qa.Index.build([folder], tmp_path_factory.mktemp("bridges-index"))


def test_a_follow_up_leans_on_the_article_that_answered_before(bridges: qa.Index) -> None:
    first = "Wer hat das Stadtfest eröffnet?"
    follow_up = "Und was hat die Brücke dort gekostet?"
    assert Path(bridges.search(first, k=1)[0].source).name == "altdorf.txt"
    assert dependence(follow_up) == 1.0
    weight = bridges.fusion.source_weight
    assert weight > 0
    on = {p.citation: p.score for p in bridges.search(follow_up, k=3, history=[first])}
    bridges.fusion = dataclasses.replace(bridges.fusion, source_weight=0.0)
    try:
        off = {p.citation: p.score for p in bridges.search(follow_up, k=3, history=[first])}
        alone = "Was kostete die neue Brücke in Neustadt?"
        assert dependence(alone) == 0.0
        unaffected = bridges.search(alone, k=3, history=[first])
    finally:
        bridges.fusion = dataclasses.replace(bridges.fusion, source_weight=weight)
    # Every passage of the tiny corpus is a candidate either way, so the lever is all
    # that differs: the previous answer's article gains weight × dependence, no other.
    assert on.keys() == off.keys() and len(on) == 3
    for citation, score in on.items():
        expected = weight if "altdorf" in citation else 0.0
        assert score - off[citation] == pytest.approx(expected), citation
    # A question that stands alone is searched as if asked alone, the lever or not.
    assert bridges.search(alone, k=3, history=[first]) == unaffected == bridges.search(alone, k=3)
