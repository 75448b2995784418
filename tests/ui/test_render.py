"""ui.render: answers, questions, errors and the overview are inert HTML."""

from __future__ import annotations

import dataclasses
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

import qa
import qa.relevance
import ui
from tests.ui.markup import PAYLOAD, assert_inert, parse, shown_text
from ui import texts


def _passage(
    text: str, span: tuple[int, int], source: str = "seeds/x.txt", relevance: float = 0.9
) -> qa.Passage:
    return qa.Passage(
        source=source,
        line_start=3,
        line_end=8,
        text=text,
        score=0.75,
        relevance=relevance,
        highlight_span=span,
    )


def test_escape_text_round_trips_and_holds_no_syntax():
    escaped = ui.escape_text(PAYLOAD)
    assert html.unescape(escaped) == PAYLOAD
    assert not set(escaped) & set("<>[]()*_`${}:\"'")


def test_escape_text_replaces_control_characters():
    escaped = ui.escape_text("a\x00b\x07c\r\nd\te")
    assert html.unescape(escaped) == "a\ufffdb\ufffdc\nd\te"


def test_format_answer_is_inert_and_shows_text_literally():
    start = PAYLOAD.index("Reservisten")
    end = PAYLOAD.index("werden.") + len("werden.")
    answer = ui.format_answer([_passage(PAYLOAD, (start, end))])
    assert_inert(answer)
    assert "\n" not in answer  # one line: the chatbot's dedenting cannot touch it
    shown = "".join(parse(answer).text)
    assert "<script>alert(1)</script>" in shown
    assert "[x](javascript:alert(1))" in shown
    assert "<img src=x onerror=alert(2)>" in shown


def test_format_answer_shows_citation_and_marks_highlight():
    start = PAYLOAD.index("Reservisten")
    end = PAYLOAD.index("werden.") + len("werden.")
    passage = _passage(PAYLOAD, (start, end))
    answer = ui.format_answer([passage])
    assert "seeds/x.txt:3-8" in html.unescape(answer)
    assert f'<mark class="qa-hl">{ui.escape_text(passage.highlight)}</mark>' in answer
    assert answer.count("<mark") == 1


def test_format_answer_escapes_hostile_source_names():
    answer = ui.format_answer([_passage("text", (0, 4), source="<img src=x onerror=alert(1)>")])
    assert_inert(answer)
    assert "<img src=x onerror=alert(1)>:3-8" in "".join(parse(answer).text)


@pytest.mark.parametrize("span", [(0, 0), (5, 2), (0, 10_000), (-1, 3)])
def test_format_answer_tolerates_odd_highlight_spans(span):
    answer = ui.format_answer([_passage("Ein Satz. Noch einer.", span)])
    assert "<mark" not in answer
    assert "Ein Satz. Noch einer." in html.unescape(answer)


def test_format_answer_without_passages():
    assert "No passages" in ui.format_answer([], "en")
    assert "keine Stellen" in ui.format_answer([])


def test_format_answer_shows_a_plain_label_beside_each_citation():
    between = (qa.MIN_RELEVANCE + qa.GOOD_RELEVANCE) / 2
    passages = [
        _passage("Eins.", (0, 5), relevance=qa.GOOD_RELEVANCE),
        _passage("Zwei.", (0, 5), relevance=between),
        _passage("Drei.", (0, 5), relevance=qa.MIN_RELEVANCE / 2),
    ]
    for lang, labels in (
        ("de", ["passt gut", "passt vielleicht", "passt kaum"]),
        ("en", ["good fit", "possible fit", "poor fit"]),
    ):
        answer = ui.format_answer(passages, lang)
        # Each badge stands in the citation line of its passage; no percentage anywhere.
        cites = re.findall(r'<div class="qa-cite">(.*?)</div>', answer)
        assert [re.findall(r'<span class="qa-rel[^"]*">([^<]*)</span>', c) for c in cites] == [
            [label] for label in labels
        ]
        assert "%" not in shown_text(answer)
        assert "qa-unanswered" not in answer


@pytest.mark.parametrize("relevance", [float("nan"), -0.5, 1.5])
def test_format_answer_tolerates_odd_relevance(relevance):
    answer = ui.format_answer([_passage("Text.", (0, 5), relevance=relevance)], "en")
    assert_inert(answer)
    shown = shown_text(answer)
    assert any(label in shown for label in ("good fit", "possible fit", "poor fit"))


def test_answered_question_has_no_note_and_greys_weak_passages():
    strong = _passage("Stark.", (0, 6), relevance=qa.MIN_RELEVANCE)
    weak = _passage("Schwach.", (0, 8), relevance=qa.MIN_RELEVANCE * 0.99)
    answer = ui.format_answer([strong, weak])
    assert_inert(answer)
    assert "qa-unanswered" not in answer
    assert texts.text("de", "top_many", count=2) in shown_text(answer)
    classes = re.findall(r'<div class="(qa-passage[^"]*)">', answer)
    assert classes == ["qa-passage", "qa-passage qa-weak"]


@pytest.mark.parametrize("lang", ["de", "en"])
def test_not_answered_says_so_and_sets_the_candidates_apart(lang):
    below = qa.MIN_RELEVANCE * 0.99
    passages = [
        _passage("Fast.", (0, 5), relevance=below),
        _passage("Kaum.", (0, 5), relevance=0.0),
    ]
    answer = ui.format_answer(passages, lang)
    assert_inert(answer)
    shown = shown_text(answer)
    note = texts.text(lang, "not_answered")
    assert '<p class="qa-unanswered">' in answer and note in shown
    assert shown.index(note) < shown.index(texts.text(lang, "candidates")) < shown.index("Fast.")
    assert texts.text(lang, "top_many", count=2) not in shown
    assert answer.count("qa-passage qa-weak") == 2


def test_not_answered_follows_the_threshold_of_the_qa_api(monkeypatch):
    passages = [_passage("Text.", (0, 5), relevance=0.3)]
    monkeypatch.setattr(qa.relevance, "MIN_RELEVANCE", 0.2)
    assert "qa-unanswered" not in ui.format_answer(passages)
    monkeypatch.setattr(qa.relevance, "MIN_RELEVANCE", 0.4)
    assert "qa-unanswered" in ui.format_answer(passages)


def test_format_question_escapes_and_shortens():
    assert_inert(ui.format_question("<script>alert(1)</script> [x](javascript:alert(1))"))
    long = ui.format_question("Frage " * 20_000, "en")
    assert len(long) < 5_000 and "120,000 characters" in long
    assert "120.000 Zeichen" in ui.format_question("Frage " * 20_000)
    assert "empty" in ui.format_question("   ", "en")
    assert "leere Frage" in ui.format_question("   ")


def test_format_answer_shows_title_and_date_escaped():
    hostile = qa.Passage(
        source="page.html",
        line_start=3,
        line_end=4,
        text="Text.",
        score=1.0,
        relevance=0.9,
        title="<script>alert(1)</script> **Titel**",
        date="2022-01-15",
    )
    answer = ui.format_answer([hostile, _passage("Ohne Titel.", (0, 5))])
    assert_inert(answer)
    metas = re.findall(r'<div class="qa-meta">(.*?)</div>', answer)
    assert [html.unescape(m) for m in metas] == ["<script>alert(1)</script> **Titel** · 2022-01-15"]
    dated = dataclasses.replace(hostile, title=None, page=3)
    assert "p3:3-4" in shown_text(ui.format_answer([dated]))
    assert "2022-01-15" in shown_text(ui.format_answer([dated]))


def test_format_error_is_escaped():
    assert_inert(ui.format_error("<script>alert(1)</script>"))


def test_real_answer_cites_every_passage(seed_index):
    passages = seed_index.search("Wie viele Reservisten sollen mobilisiert werden?", k=5)
    answer = ui.format_answer(passages)
    assert_inert(answer)
    shown = "".join(parse(answer).text)
    for p in passages:
        assert p.citation in shown
    assert answer.count("<mark") == sum(1 for p in passages if p.highlight)


@dataclass
class _FakeIndex:
    sources: tuple[str, ...]
    passages: int
    updated: datetime

    def __len__(self) -> int:
        return self.passages


def test_format_overview_says_what_is_indexed():
    index = _FakeIndex(("a.txt", "b.txt"), 12_345, datetime(2026, 3, 4, 5, 6, tzinfo=UTC))
    german = ui.format_overview(index)
    assert_inert(german)
    assert shown_text(german) == (
        "Im Archiv: 2 Artikel, 12.345 Textstellen, zuletzt aktualisiert am 04.03.2026 um "
        "05:06 UTC.Stellen Sie eine Frage, oder wählen Sie ein Beispiel:"
    )
    english = shown_text(ui.format_overview(index, "en", with_examples=False))
    assert english == (
        "In the archive: 2 articles, 12,345 passages, last updated 2026-03-04 at 05:06 UTC."
        "Ask a question."
    )
    single = _FakeIndex(("a.txt",), 1, datetime(2026, 3, 4, 5, 6, tzinfo=UTC))
    assert "1 article, 1 passage," in shown_text(ui.format_overview(single, "en"))
    assert "1 Artikel, 1 Textstelle," in shown_text(ui.format_overview(single))


def test_format_overview_of_the_seeds(seed_index):
    shown = shown_text(ui.format_overview(seed_index))
    assert f"{len(seed_index.sources)} Artikel, {len(seed_index)} Textstellen" in shown
    assert seed_index.updated.astimezone(UTC).strftime("%d.%m.%Y um %H:%M UTC") in shown
