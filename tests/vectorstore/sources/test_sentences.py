"""The sentence splitter, moved from qa.highlight: the same spans as before."""

from __future__ import annotations

import pytest

from vectorstore.sources.sentences import sentence_spans


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Am 3. Oktober sagte Dr. Müller z. B. etwas. Dann ging er. „Wirklich?“ Ja!\nNeu",
            [
                "Am 3. Oktober sagte Dr. Müller z. B. etwas.",
                "Dann ging er.",
                "„Wirklich?“",
                "Ja!",
                "Neu",
            ],
        ),
        (
            "Müller & Co. KG wuchs ca. 5 Prozent, d. h. mehr als 2021. Prof. Schmidt lobte das.",
            [
                "Müller & Co. KG wuchs ca. 5 Prozent, d. h. mehr als 2021.",
                "Prof. Schmidt lobte das.",
            ],
        ),
        (
            'Er sagte: "Das ist gut." Dann ging er. (Siehe Abb. 3.) Mehr dazu im 2. Teil.',
            ['Er sagte: "Das ist gut."', "Dann ging er.", "(Siehe Abb. 3.) Mehr dazu im 2. Teil."],
        ),
        (
            "Im 19. Jh. gab es u. a. viele Bauten. 1990 kam die Einheit. 3.000 Menschen kamen!",
            [
                "Im 19. Jh. gab es u. a. viele Bauten.",
                "1990 kam die Einheit.",
                "3.000 Menschen kamen!",
            ],
        ),
        (
            "Der 1. FC Köln spielte am 12. 3. gegen den 3. Platz. Danach: Pause.",
            ["Der 1. FC Köln spielte am 12. 3. gegen den 3. Platz.", "Danach: Pause."],
        ),
        ("Kommt er?! »Nein«, sagte sie. … Ende.", ["Kommt er?!", "»Nein«, sagte sie. …", "Ende."]),
        (
            "J. R. R. Tolkien schrieb viel. Mr. Smith vs. Mrs. Jones: Nr. 5 gewann.",
            ["J. R. R. Tolkien schrieb viel.", "Mr. Smith vs. Mrs. Jones: Nr. 5 gewann."],
        ),
        (
            "Zeile eins\nZeile zwei.\n\nAbsatz drei. kleiner Anfang. Großer Anfang",
            ["Zeile eins", "Zeile zwei.", "Absatz drei. kleiner Anfang.", "Großer Anfang"],
        ),
        ("Frage? Antwort. [Anmerkung.] Ende", ["Frage?", "Antwort.", "[Anmerkung.]", "Ende"]),
        ("", []),
        ("   \n  \n", []),
    ],
)
def test_sentences_respect_abbreviations_ordinals_and_quotes(
    text: str, expected: list[str]
) -> None:
    assert _sentences(text) == expected


def test_spans_keep_the_whitespace_inside_the_text() -> None:
    assert sentence_spans("  Leerzeichen vorne.  Und hinten.  ") == [(0, 20), (22, 35)]
