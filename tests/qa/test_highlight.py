from __future__ import annotations

from qa.highlight import best_sentence, sentence_scores
from vectorstore.sources.sentences import sentence_spans
from vectorstore.sources.terms import tokenize


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


def test_best_sentence_takes_the_best_of_the_sentence_scores() -> None:
    text = "Die Reservisten kamen spät. Alle 300.000 Reservisten kamen."
    weights = {"reservist": 1.5}
    spans = sentence_spans(text)
    assert sentence_scores("Wie viele Reservisten?", weights, text, spans) == [1.5, 2.5]
    assert sentence_scores("Welche Reservisten?", weights, text, spans) == [1.5, 1.5]


def test_sentence_cosines_decide_where_the_words_do_not() -> None:
    text = "Putin sprach lange. Die Reservisten wurden eingezogen. Dann ging er."
    weights = {"reservist": 2.0, "conscript": 5.0}  # an English question's terms
    assert best_sentence("Who were conscripted?", {"conscript": 5.0}, text) == (0, 19)
    cosines = [0.80, 0.86, 0.81]
    start, end = best_sentence("Who were conscripted?", {"conscript": 5.0}, text, cosines)
    assert text[start:end] == "Die Reservisten wurden eingezogen."
    # A shared rare term (2 / 7 of the question's IDF) outweighs a small cosine difference.
    start, end = best_sentence("Reservisten?", weights, text, [0.86, 0.84, 0.80])
    assert text[start:end] == "Die Reservisten wurden eingezogen."
    assert best_sentence("Reservisten?", weights, "Nur einer", [0.5]) == (0, 9)
