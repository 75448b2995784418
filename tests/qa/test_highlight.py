from __future__ import annotations

from qa.highlight import best_sentence, sentence_spans
from vectorstore.lexical import tokenize


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def test_sentences_respect_abbreviations_ordinals_and_quotes() -> None:
    text = "Am 3. Oktober sagte Dr. Müller z. B. etwas. Dann ging er. „Wirklich?“ Ja!\nNeu"
    assert _sentences(text) == [
        "Am 3. Oktober sagte Dr. Müller z. B. etwas.",
        "Dann ging er.",
        "„Wirklich?“",
        "Ja!",
        "Neu",
    ]


def test_best_sentence_weighs_rare_terms() -> None:
    text = "Putin sprach lange. Die Teilmobilmachung betrifft 300.000 Reservisten. Putin ging."
    weights = {"putin": 0.1, "reservist": 3.0, "teilmobilmach": 2.0}
    start, end = best_sentence("Wie heißt das?", weights, text)
    assert text[start:end] == "Die Teilmobilmachung betrifft 300.000 Reservisten."
    assert set(weights) >= set(tokenize("Putin Reservisten Teilmobilmachung"))


def test_no_shared_term_gives_the_first_sentence() -> None:
    text = "Erster Satz. Zweiter Satz."
    assert best_sentence("Katze?", {"katz": 1.0}, text) == (0, len("Erster Satz."))
    assert best_sentence("Katze?", {}, "Nur einer") == (0, len("Nur einer"))


def test_compounds_match_in_part() -> None:
    text = "Putin sprach. Die Mobilmachung wurde verkündet. Ende."
    weights = {"teilmobilmach": 2.0, "putin": 0.5}
    start, end = best_sentence("Teilmobilmachung Putin", weights, text)
    assert text[start:end] == "Die Mobilmachung wurde verkündet."


def test_questions_for_numbers_prefer_sentences_with_numbers() -> None:
    text = "Die Reservisten kamen spät. Alle 300.000 Reservisten kamen."
    weights = {"reservist": 1.5}
    first, second = sentence_spans(text)
    assert best_sentence("Wie viele Reservisten?", weights, text) == second
    assert best_sentence("How many reservists?", weights, text) == second
    assert best_sentence("Welche Reservisten?", weights, text) == first


def test_question_terms_match_inside_longer_words() -> None:
    text = "Putin sprach. Die Teilmobilmachung wurde verkündet. Ende."
    weights = {"mobilmach": 2.0, "putin": 0.5}
    start, end = best_sentence("Mobilmachung Putin", weights, text)
    assert text[start:end] == "Die Teilmobilmachung wurde verkündet."


def test_short_words_do_not_match_in_part() -> None:
    text = "Putin sprach. Der Mob tobte."
    assert "mob" in tokenize(text)
    weights = {"teilmobilmach": 2.0, "putin": 0.5}
    start, end = best_sentence("Teilmobilmachung Putin", weights, text)
    assert text[start:end] == "Putin sprach."
