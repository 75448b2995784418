from __future__ import annotations

import re

import pytest

from tests.conftest import SEEDS
from vectorstore.sources.chunking import Chunker, LineIndex, PassageKind, chunk_text, embedding_text

TEXT, CAPTION, HEADING = PassageKind.TEXT, PassageKind.CAPTION, PassageKind.HEADING


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _check(text: str, size: int = 1000, overlap: int = 100) -> list:
    chunks = chunk_text(text, size, overlap)
    for c in chunks:
        piece = text[c.start : c.end]
        assert 0 < len(piece) <= size
        assert piece == piece.strip()
        assert c.line_start == _line_of(text, c.start)
        assert c.line_end == _line_of(text, c.end - 1)
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    return chunks


def _passages(text: str, size: int = 1000) -> list[tuple[str, int, int, PassageKind, str]]:
    return [
        (text[c.start : c.end], c.line_start, c.line_end, c.kind, c.context)
        for c in _check(text, size)
    ]


def test_each_short_paragraph_is_one_passage_with_its_lines() -> None:
    text = "Ein Vorspann.\n\nErster Absatz.\nNoch eine Zeile.\n\n\n  Zweiter Absatz.  \n"
    chunks = _check(text)
    assert [(text[c.start : c.end], c.line_start, c.line_end) for c in chunks] == [
        ("Ein Vorspann.", 1, 1),
        ("Erster Absatz.\nNoch eine Zeile.", 3, 4),
        ("Zweiter Absatz.", 7, 7),
    ]


def test_long_paragraph_is_split_at_sentences_within_the_size() -> None:
    sentence = "Der Kanzler sprach lange über die Lage im Osten des Landes. "
    text = "Kopf\n\n" + sentence * 40
    chunks = _check(text, size=200, overlap=0)
    assert len(chunks) > 10
    assert all(text[c.start : c.end].endswith(".") for c in chunks[1:])
    # The title does not fit into a passage with the paragraph: a passage of its own, and
    # the context of every piece.
    assert (text[chunks[0].start : chunks[0].end], chunks[0].kind) == ("Kopf", HEADING)
    assert {(c.kind, c.context) for c in chunks[1:]} == {(TEXT, "Kopf")}


def test_a_heading_is_cited_with_the_paragraph_under_it_and_gives_its_section_context() -> None:
    text = (
        "Die Bahn streikt wieder.\n"
        "\n"
        "Lange Wartezeiten\n"
        "\n"
        "In Köln warteten Reisende am Montag stundenlang.\n"
        "Der Verkehr rollte erst am Abend.\n"
        "\n"
        "Die Gewerkschaft droht mit weiteren Streiks.\n"
        "\n"
        "Wie geht es weiter?\n"
        "\n"
        "„Der Tarifstreit“ im Überblick\n"
        "\n"
        "Am Donnerstag wird wieder verhandelt.\n"
        "\n"
        "Eine Einigung gilt als unwahrscheinlich.\n"
    )
    assert _passages(text) == [
        ("Die Bahn streikt wieder.", 1, 1, TEXT, ""),  # a sentence: no title
        (
            "Lange Wartezeiten\n\nIn Köln warteten Reisende am Montag stundenlang.\n"
            "Der Verkehr rollte erst am Abend.",
            3,
            6,
            TEXT,
            "",
        ),
        ("Die Gewerkschaft droht mit weiteren Streiks.", 8, 8, TEXT, "Lange Wartezeiten"),
        ("Wie geht es weiter?", 10, 10, TEXT, "Lange Wartezeiten"),
        (
            "„Der Tarifstreit“ im Überblick\n\nAm Donnerstag wird wieder verhandelt.",
            12,
            14,
            TEXT,
            "",
        ),
        (
            "Eine Einigung gilt als unwahrscheinlich.",
            16,
            16,
            TEXT,
            "„Der Tarifstreit“ im Überblick",
        ),
    ]


def test_a_short_first_line_is_the_title_of_every_passage() -> None:
    text = (
        "Streik bei der Bahn\n\nDie Bahn streikt.\n\nReisende warten.\n\n"
        "Ausblick\n\nAm Donnerstag wird verhandelt.\n\nEine Einigung ist fern.\n"
    )
    assert _passages(text) == [
        ("Streik bei der Bahn\n\nDie Bahn streikt.", 1, 3, TEXT, ""),
        ("Reisende warten.", 5, 5, TEXT, "Streik bei der Bahn"),
        ("Ausblick\n\nAm Donnerstag wird verhandelt.", 7, 9, TEXT, "Streik bei der Bahn"),
        ("Eine Einigung ist fern.", 11, 11, TEXT, "Streik bei der Bahn\nAusblick"),
    ]


def test_headings_that_cannot_be_folded_are_heading_passages() -> None:
    # A title followed by a heading, a heading followed by a caption, a heading at the end.
    text = (
        "Streik bei der Bahn\n\nLange Wartezeiten\n\nDie Bahn streikt.\n\n"
        "Bilder vom Bahnhof\n\nReisende warten am Gleis. Erika Muster / Agentur\n\nAusblick\n"
    )
    assert _passages(text) == [
        ("Streik bei der Bahn", 1, 1, HEADING, ""),
        ("Lange Wartezeiten\n\nDie Bahn streikt.", 3, 5, TEXT, "Streik bei der Bahn"),
        ("Bilder vom Bahnhof", 7, 7, HEADING, "Streik bei der Bahn"),
        (
            "Reisende warten am Gleis. Erika Muster / Agentur",
            9,
            9,
            CAPTION,
            "Streik bei der Bahn\nBilder vom Bahnhof",
        ),
        ("Ausblick", 11, 11, HEADING, "Streik bei der Bahn"),
    ]


@pytest.mark.parametrize(
    "caption",
    [
        "Reisende warten am Gleis in Köln. Erika Muster / Agentur",  # a credit after it
        "Reisende am Gleis: Sie warten seit Stunden.\nFoto: Agentur",  # on its own line
        "Reisende warten am Gleis. (Bild: Agentur) Erika Muster und Max Muster",
        # A line without a sentence, too long for a heading.
        "(Bild: Agentur) Reisende und Beschäftigte der Bahn warten am Montag auf dem Gleis",
        "Aus Köln berichtet: Erika Muster",  # a byline
        "Weitere Artikel 2/",  # a line that ends in a symbol
    ],
)
def test_captions_credits_and_bylines_are_captions(caption: str) -> None:
    text = f"Die Bahn streikt.\n\n{caption}\n\nDie Reisenden warten.\n"
    assert [c.kind for c in _check(text)] == [TEXT, CAPTION, TEXT]


@pytest.mark.parametrize(
    "paragraph",
    [
        "Der Sprecher sagte: „Wir bleiben hart.“",
        'Sie rief: "Nie wieder!"',
        "»Genug«, sagte sie. Dann ging sie.",
        "Die Zahl der Fahrgäste stieg bis 2014 auf 1.234.",
        "Der Umsatz wuchs um 3,5 Prozent (auf 12 Milliarden Euro).",
        "Er kam am 3. Oktober. Dr. Muster sprach um 9 Uhr über das Jahr 2014.",
        "Gleis 1\nGleis 2\nGleis 3",  # lines without sentences: a list
        "Ein Satz. " * 40 + "und ein langer Rest ohne Punkt",  # longer than a caption
    ],
)
def test_content_paragraphs_stay_text(paragraph: str) -> None:
    text = f"Die Bahn streikt.\n\n{paragraph}\n\nDie Reisenden warten.\n"
    assert [c.kind for c in _check(text)] == [TEXT, TEXT, TEXT]


@pytest.mark.parametrize(
    "heading", ["Dr. Muster im Gespräch", "Teil 2", '"Harte Zeiten"', "Streik (Teil 3)"]
)
def test_heading_shapes(heading: str) -> None:
    text = f"Die Bahn streikt.\n\n{heading}\n\nDie Reisenden warten.\n"
    assert _passages(text)[1] == (f"{heading}\n\nDie Reisenden warten.", 3, 5, TEXT, "")


def test_repeated_headings_are_cited_where_they_stand() -> None:
    text = "Nachrichten aus der Region.\n\n" + "Kurz gemeldet\n\nEine Meldung.\n\n" * 3
    assert _passages(text)[1:] == [
        ("Kurz gemeldet\n\nEine Meldung.", line, line + 2, TEXT, "") for line in (3, 7, 11)
    ]


def test_title_and_heading_carry_across_blocks() -> None:
    blocks = [
        "Streik bei der Bahn\n\nDie Bahn streikt.\n\nAusblick\n\nEs wird verhandelt.\n\n",
        "Eine Einigung ist fern.\n\nNeue Lage\n\n",  # ends in a heading: it cannot fold
        "Der Streik endet.\n",
    ]
    chunker = Chunker()
    chunks = [chunker.chunk(block) for block in blocks]
    assert [[(c.line_start, c.kind, c.context) for c in block] for block in chunks] == [
        [(1, TEXT, ""), (5, TEXT, "Streik bei der Bahn")],
        [(1, TEXT, "Streik bei der Bahn\nAusblick"), (3, HEADING, "Streik bei der Bahn")],
        [(1, TEXT, "Streik bei der Bahn\nNeue Lage")],
    ]
    # Read whole, the same article has the same contexts (and the heading folds).
    whole = chunk_text("".join(blocks))
    assert [c.context for c in whole] == [c.context for c in chunks[0] + chunks[1][:1]] + [
        "Streik bei der Bahn"
    ]


def test_embedding_text_puts_the_context_first_and_says_where_the_text_starts() -> None:
    assert embedding_text("Die Bahn streikt.", "") == ("Die Bahn streikt.", 0)
    embedded, offset = embedding_text("Die Bahn streikt.", "Titel\nAusblick")
    assert embedded == "Titel\nAusblick\nDie Bahn streikt."
    assert embedded[offset:] == "Die Bahn streikt."


def test_repeated_sentences_get_their_own_offsets() -> None:
    # The same sentence many times: a text.find() from the start would cite line 1 each time.
    text = "\n\n".join(["Das ist derselbe Satz."] * 5 + ["Ende."])
    chunks = _check(text)
    assert [c.line_start for c in chunks] == [1, 3, 5, 7, 9, 11]


@pytest.mark.parametrize("overlap", [0, 50])
def test_repeated_text_inside_a_long_paragraph(overlap: int) -> None:
    text = "Eins zwei drei vier. " * 100 + "\n" + "Eins zwei drei vier. " * 100
    chunks = _check(text, size=120, overlap=overlap)
    assert chunks[-1].end == len(text.rstrip())
    assert chunks[-1].line_end == 2


def test_unicode_crlf_and_other_scripts() -> None:
    text = "Москва́ — столица.\r\n\r\n北京是中国的首都。\r\n\r\nÄrger über Öl.\r\n"
    chunks = _check(text)
    assert [text[c.start : c.end] for c in chunks] == [
        "Москва́ — столица.",
        "北京是中国的首都。",
        "Ärger über Öl.",
    ]
    assert [c.line_start for c in chunks] == [1, 3, 5]


def test_every_seed_passage_stands_in_its_lines() -> None:
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for c in _check(text):
            lines = text.split("\n")[c.line_start - 1 : c.line_end]
            assert re.sub(r"\s+", " ", text[c.start : c.end]) in re.sub(
                r"\s+", " ", " ".join(lines)
            )


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        chunk_text("x", 0)
    with pytest.raises(ValueError, match="chunk_overlap"):
        chunk_text("x", 100, 100)


def test_line_index() -> None:
    idx = LineIndex("a\nbb\n\nc")
    assert [idx.line_of(i) for i in range(7)] == [1, 1, 2, 2, 2, 3, 4]


def test_lines_that_each_end_a_sentence_are_one_paragraph_a_line() -> None:
    text = (
        "Der Rat tagte am Montag in Brüssel.\n"
        "Er beschloss neue Hilfen für die Landwirtschaft.\n"
        "Die Opposition kritisierte das Verfahren scharf!\n"
        "Eine Einigung steht noch aus"
    )
    chunks = chunk_text(text)
    assert [(c.line_start, c.line_end) for c in chunks] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert [text[c.start : c.end] for c in chunks] == text.split("\n")


def test_hard_wrapped_prose_and_short_blocks_stay_one_paragraph() -> None:
    wrapped = (
        "Der Rat tagte am Montag in Brüssel und beschloss nach\n"
        "langer Debatte neue Hilfen für die Landwirtschaft. Die\n"
        "Opposition kritisierte das Verfahren."
    )
    two = "Der Rat tagte am Montag.\nEr beschloss neue Hilfen."
    for text in (wrapped, two):
        assert [(c.start, c.end) for c in chunk_text(text)] == [(0, len(text))]
