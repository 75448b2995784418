from __future__ import annotations

import re

import pytest

from tests.conftest import SEEDS
from vectorstore.chunking import LineIndex, chunk_text


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


def test_each_short_paragraph_is_one_passage_with_its_lines() -> None:
    text = "Titel\n\nErster Absatz.\nNoch eine Zeile.\n\n\n  Zweiter Absatz.  \n"
    chunks = _check(text)
    assert [(text[c.start : c.end], c.line_start, c.line_end) for c in chunks] == [
        ("Titel", 1, 1),
        ("Erster Absatz.\nNoch eine Zeile.", 3, 4),
        ("Zweiter Absatz.", 7, 7),
    ]


def test_long_paragraph_is_split_at_sentences_within_the_size() -> None:
    sentence = "Der Kanzler sprach lange über die Lage im Osten des Landes. "
    text = "Kopf\n\n" + sentence * 40
    chunks = _check(text, size=200, overlap=0)
    assert len(chunks) > 10
    assert all(text[c.start : c.end].endswith(".") for c in chunks[1:])


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
