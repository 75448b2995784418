"""The UI's HTML formatting: everything from articles and users is inert text."""

from __future__ import annotations

import dataclasses
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

import qa
import ui
from tests.conftest import PASSAGE_FIELDS
from ui import texts

PAYLOAD = (
    "Vorher.\n<script>alert(1)</script>\n<img src=x onerror=alert(2)>\n"
    "[x](javascript:alert(1)) **fett** $$x^2$$ ${alert(3)} {{constructor}} `code` # h\n"
    "Reservisten sollen einberufen werden.\nNachher."
)
# The only markup the UI itself writes into chat answers and the viewer.
ALLOWED_TAGS = {"div", "p", "span", "code", "mark", "br"}
ALLOWED_ATTRS = {"class", "data-line"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        if tag == "br":
            self.text.append("\n")

    def handle_data(self, data):
        self.text.append(data)


def _parse(fragment: str) -> _Tags:
    parser = _Tags()
    parser.feed(fragment)
    parser.close()
    return parser


def _assert_inert(fragment: str) -> None:
    parsed = _parse(fragment)
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS, f"unexpected tag <{tag}> in {fragment!r}"
        for name, _ in attrs:
            assert name in ALLOWED_ATTRS, f"unexpected attribute {name} on <{tag}>"
    lowered = fragment.lower()
    for needle in ("<script", "<img", "onerror=", "javascript:", "](", "$$", "${", "{{", "**", "`"):
        assert needle not in lowered, f"{needle!r} survived escaping"


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


def _shown(fragment: str) -> str:
    return "".join(_parse(fragment).text)


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
    _assert_inert(answer)
    assert "\n" not in answer  # one line: the chatbot's dedenting cannot touch it
    shown = "".join(_parse(answer).text)
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
    _assert_inert(answer)
    assert "<img src=x onerror=alert(1)>:3-8" in "".join(_parse(answer).text)


@pytest.mark.parametrize("span", [(0, 0), (5, 2), (0, 10_000), (-1, 3)])
def test_format_answer_tolerates_odd_highlight_spans(span):
    answer = ui.format_answer([_passage("Ein Satz. Noch einer.", span)])
    assert "<mark" not in answer
    assert "Ein Satz. Noch einer." in html.unescape(answer)


def test_format_answer_without_passages():
    assert "No passages" in ui.format_answer([], "en")
    assert "keine Stellen" in ui.format_answer([])


def test_format_answer_shows_relevance_beside_each_citation():
    passages = [
        _passage("Eins.", (0, 5), relevance=0.734),
        _passage("Zwei.", (0, 5), relevance=1.0),
        _passage("Drei.", (0, 5), relevance=0.0),
    ]
    german = _shown(ui.format_answer(passages))
    assert "Relevanz 73 %" in german and "Relevanz 100 %" in german and "Relevanz 0 %" in german
    english = _shown(ui.format_answer(passages, "en"))
    assert "relevance 73%" in english and "relevance 100%" in english
    # Each badge stands in the citation line of its passage.
    cites = re.findall(r'<div class="qa-cite">(.*?)</div>', ui.format_answer(passages, "en"))
    assert ["relevance 73%" in c for c in cites] == [True, False, False]


@pytest.mark.parametrize("relevance", [float("nan"), -0.5, 1.5])
def test_format_answer_tolerates_odd_relevance(relevance):
    answer = ui.format_answer([_passage("Text.", (0, 5), relevance=relevance)], "en")
    _assert_inert(answer)
    assert re.search(r"relevance (0|100|\u2013)%", _shown(answer))


def test_answered_question_has_no_note_and_greys_weak_passages(monkeypatch):
    monkeypatch.setattr(qa, "MIN_RELEVANCE", 0.5)
    strong = _passage("Stark.", (0, 6), relevance=0.8)
    weak = _passage("Schwach.", (0, 8), relevance=0.2)
    answer = ui.format_answer([strong, weak])
    _assert_inert(answer)
    assert "qa-unanswered" not in answer
    assert texts.text("de", "top_many", count=2) in _shown(answer)
    classes = re.findall(r'<div class="(qa-passage[^"]*)">', answer)
    assert classes == ["qa-passage", "qa-passage qa-weak"]


@pytest.mark.parametrize("lang", ["de", "en"])
def test_not_answered_says_so_and_sets_the_candidates_apart(monkeypatch, lang):
    monkeypatch.setattr(qa, "MIN_RELEVANCE", 0.5)
    passages = [_passage("Fast.", (0, 5), relevance=0.49), _passage("Kaum.", (0, 5), relevance=0.1)]
    answer = ui.format_answer(passages, lang)
    _assert_inert(answer)
    shown = _shown(answer)
    note = texts.text(lang, "not_answered")
    assert '<p class="qa-unanswered">' in answer and note in shown
    assert shown.index(note) < shown.index(texts.text(lang, "candidates")) < shown.index("Fast.")
    assert texts.text(lang, "top_many", count=2) not in shown
    assert answer.count("qa-passage qa-weak") == 2


def test_not_answered_follows_the_threshold_of_the_qa_api(monkeypatch):
    passages = [_passage("Text.", (0, 5), relevance=0.7)]
    monkeypatch.setattr(qa, "MIN_RELEVANCE", 0.6)
    assert "qa-unanswered" not in ui.format_answer(passages)
    monkeypatch.setattr(qa, "MIN_RELEVANCE", 0.8)
    assert "qa-unanswered" in ui.format_answer(passages)


def test_format_question_escapes_and_shortens():
    _assert_inert(ui.format_question("<script>alert(1)</script> [x](javascript:alert(1))"))
    long = ui.format_question("Frage " * 20_000, "en")
    assert len(long) < 5_000 and "120,000 characters" in long
    assert "120.000 Zeichen" in ui.format_question("Frage " * 20_000)
    assert "empty" in ui.format_question("   ", "en")
    assert "leere Frage" in ui.format_question("   ")


def _source_lines(text: str) -> list[qa.SourceLine]:
    """A text file's readable lines: each its own line of the file."""
    return [qa.SourceLine(i, i, line) for i, line in enumerate(text.split("\n"), 1)]


def _cited(viewer: str) -> list[str]:
    """The ``data-line`` of each cited row of the viewer."""
    return [
        dict(attrs)["data-line"]
        for tag, attrs in _parse(viewer).tags
        if tag == "div" and "qa-cited" in (dict(attrs).get("class") or "")
    ]


def test_format_source_numbers_lines_and_marks_cited_ones():
    viewer = ui.format_source("evil/<b>.txt", _source_lines(PAYLOAD), 2, 3)
    _assert_inert(viewer)
    assert _cited(viewer) == ["2", "3"]
    shown = _shown(viewer)
    assert "<script>alert(1)</script>" in shown
    assert "evil/<b>.txt" in shown
    assert f"Zeilen 2–3 von {PAYLOAD.count(chr(10)) + 1}" in shown
    english = _shown(ui.format_source("a.txt", _source_lines(PAYLOAD), 2, 3, "en"))
    assert f"a.txt — lines 2–3 of {PAYLOAD.count(chr(10)) + 1}" in english


# Readable lines as an HTML page has them: a paragraph may stand on several lines of the
# file, and a blank line between paragraphs repeats the lines of the one before it.
HTML_LINES = [
    qa.SourceLine(26, 26, "Titel <b>fett</b>"),
    qa.SourceLine(26, 26, ""),
    qa.SourceLine(30, 32, "Ein Absatz über <script>alert(1)</script> drei Zeilen."),
    qa.SourceLine(30, 32, ""),
    qa.SourceLine(33, 33, "Der nächste."),
]


@pytest.mark.parametrize(
    ("start", "end", "cited"),
    [(31, 31, ["30"]), (26, 30, ["26", "30"]), (32, 40, ["30", "33"]), (27, 29, [])],
    ids=["inside", "into", "across", "between"],
)
def test_format_source_marks_the_readable_lines_on_the_cited_file_lines(start, end, cited):
    viewer = ui.format_source("page.html", HTML_LINES, start, end)
    _assert_inert(viewer)
    assert _cited(viewer) == cited
    numbers = re.findall(r'<span class="qa-ln">([^<]*)</span>', viewer)
    assert numbers == ["26", "", "30–32", "", "33"]  # separators carry no number
    shown = _shown(viewer)
    assert "Ein Absatz über <script>alert(1)</script> drei Zeilen." in shown
    assert f"page.html — Zeilen {start}–{end} (lesbarer Text, ohne Markup)" in shown
    english = _shown(ui.format_source("page.html", HTML_LINES, start, end, "en"))
    assert f"lines {start}–{end} (readable text, without markup)" in english


def test_format_source_of_a_pdf_page_says_which_page():
    lines = [qa.SourceLine(i, i, f"Zeile {i}", 3) for i in range(1, 6)]
    viewer = ui.format_source("report.pdf", lines, 2, 3, page=3)
    assert _cited(viewer) == ["2", "3"]
    assert "report.pdf — Seite 3, Zeilen 2–3 von 5" in _shown(viewer)
    assert "page 3, lines 2–3 of 5" in _shown(ui.format_source("r.pdf", lines, 2, 3, "en", 3))


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
    _assert_inert(answer)
    metas = re.findall(r'<div class="qa-meta">(.*?)</div>', answer)
    assert [html.unescape(m) for m in metas] == ["<script>alert(1)</script> **Titel** · 2022-01-15"]
    dated = dataclasses.replace(hostile, title=None, page=3)
    assert "p3:3-4" in _shown(ui.format_answer([dated]))
    assert "2022-01-15" in _shown(ui.format_answer([dated]))


def test_format_error_is_escaped():
    _assert_inert(ui.format_error("<script>alert(1)</script>"))


def test_real_answer_cites_every_passage(seed_index):
    passages = seed_index.search("Wie viele Reservisten sollen mobilisiert werden?", k=5)
    answer = ui.format_answer(passages)
    _assert_inert(answer)
    shown = "".join(_parse(answer).text)
    for p in passages:
        assert p.citation in shown
    assert answer.count("<mark") == sum(1 for p in passages if p.highlight)


@pytest.mark.parametrize(
    "question",
    [
        "",
        "   \t\n ",
        "Reservisten? " * 8_000,  # ~100 KB
        "Reservisten\x00\x07\x1b[31m Putin\x7f",
        "Сколько резервистов мобилизует Путин?",
        "普京动员了多少预备役人员\uff1f",
        "<img src=x onerror=alert(1)>",
    ],
    ids=["empty", "whitespace", "100kb", "control", "cyrillic", "chinese", "html"],
)
def test_chat_turn_never_raises(seed_index, question):
    answer, hits, asked = ui.chat_turn(seed_index, question, 5)
    _assert_inert(answer)
    if not question.strip() or len(question) > ui.MAX_QUESTION_CHARS:
        assert "qa-error" in answer and hits == [] and asked is None
    else:
        assert hits and all(h["source"] in seed_index.sources for h in hits)
        assert asked is not None and "\x00" not in asked


@pytest.mark.parametrize(
    ("question", "lang", "message"),
    [
        ("  ", "de", "Bitte geben Sie eine Frage ein."),
        ("  ", "en", "Please type a question."),
        ("Frage " * 1_000, "de", "Die Frage ist zu lang (6.000 Zeichen, höchstens 2.000)."),
        ("Frage " * 1_000, "en", "The question is too long (6,000 characters, at most 2,000)."),
    ],
    ids=["empty-de", "empty-en", "long-de", "long-en"],
)
def test_chat_turn_refuses_in_the_ui_language(seed_index, question, lang, message):
    turn = ui.chat_turn(seed_index, question, 5, lang=lang)
    assert _shown(turn.answer) == message and turn.question is None


@pytest.mark.parametrize("k", [0, -3, 2.5, "five", None, float("nan")])
def test_chat_turn_rejects_bad_k_with_a_message(seed_index, k):
    answer, hits, asked = ui.chat_turn(seed_index, "Wer ist Putin?", k)
    assert "qa-error" in answer and "k must" in html.unescape(answer)
    assert hits == [] and asked is None


def test_chat_turn_takes_context_from_the_history(seed_index):
    first = "Wen hat Putin zur Wahl beglückwünscht?"
    follow_up = "Und wo hat er sich mit ihm solidarisiert?"
    turn = ui.chat_turn(seed_index, follow_up, 5, history=[first])
    expected = seed_index.search(follow_up, k=5, history=[first])
    assert [h["citation"] for h in turn.hits] == [p.citation for p in expected]
    assert turn.answer == ui.format_answer(expected)
    assert turn.question == follow_up


def test_retrieve_returns_json_dicts(seed_index):
    rows = ui.retrieve(seed_index, "Wie viele Reservisten?", 3)
    assert len(rows) == 3
    for row in rows:
        assert set(row) == PASSAGE_FIELDS
        assert row["source"] in seed_index.sources
        assert row["highlight"] in row["text"]
        assert 0.0 <= row["relevance"] <= 1.0


def test_retrieve_passes_the_history(seed_index):
    first = "Wen hat Putin zur Wahl beglückwünscht?"
    follow_up = "Und wo hat er sich mit ihm solidarisiert?"
    rows = ui.retrieve(seed_index, follow_up, 3, [first])
    assert rows == [p.to_dict() for p in seed_index.search(follow_up, k=3, history=[first])]
    assert ui.retrieve(seed_index, follow_up, 3, None) == ui.retrieve(seed_index, follow_up, 3)
    with pytest.raises(ValueError, match="history"):
        ui.retrieve(seed_index, follow_up, 3, "not a list")


def test_view_source_shows_indexed_articles(seed_index):
    source = seed_index.sources[0]
    viewer = ui.view_source(seed_index, source, 1, 2)
    assert "qa-error" not in viewer and viewer.count("qa-cited") == 2
    assert seed_index.source_text(source).split("\n")[0] in html.unescape(viewer)


@pytest.mark.parametrize(
    "source", ["/etc/passwd", "pyproject.toml", "seeds/../pyproject.toml", "", "<b>x</b>"]
)
def test_view_source_refuses_anything_not_indexed(seed_index, source):
    viewer = ui.view_source(seed_index, source, 1, 1)
    _assert_inert(viewer)
    assert "qa-error" in viewer and "ist kein Artikel im Index" in viewer
    assert "is not an indexed article" in ui.view_source(seed_index, source, 1, 1, "en")


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
    _assert_inert(german)
    assert _shown(german) == (
        "Im Archiv: 2 Artikel, 12.345 Textstellen, zuletzt aktualisiert am 04.03.2026 um "
        "05:06 UTC.Stellen Sie eine Frage, oder wählen Sie ein Beispiel:"
    )
    english = _shown(ui.format_overview(index, "en", with_examples=False))
    assert english == (
        "In the archive: 2 articles, 12,345 passages, last updated 2026-03-04 at 05:06 UTC."
        "Ask a question."
    )
    single = _FakeIndex(("a.txt",), 1, datetime(2026, 3, 4, 5, 6, tzinfo=UTC))
    assert "1 article, 1 passage," in _shown(ui.format_overview(single, "en"))
    assert "1 Artikel, 1 Textstelle," in _shown(ui.format_overview(single))


def test_format_overview_of_the_seeds(seed_index):
    shown = _shown(ui.format_overview(seed_index))
    assert f"{len(seed_index.sources)} Artikel, {len(seed_index)} Textstellen" in shown
    assert seed_index.updated.astimezone(UTC).strftime("%d.%m.%Y um %H:%M UTC") in shown


def test_example_questions_are_derived_from_article_openings(seed_index):
    examples = ui.example_questions(seed_index)
    assert len(examples) == 3
    assert examples == ui.example_questions(seed_index)  # deterministic
    for example, source in zip(examples, seed_index.sources, strict=False):
        assert example.startswith("Wo steht „") and example.endswith("“?")
        opening = example.removeprefix("Wo steht „").removesuffix("“?")
        assert " ".join(opening.removesuffix(" …").split()) in " ".join(
            seed_index.source_text(source).split()
        )
        assert len(opening.split()) <= 11


def test_example_questions_skip_titles_and_datelines(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(
        " date 2022-01 Kurz\nTitel\n\nDie Regierung hat am Montag ein neues Gesetz "
        "für die Bahn beschlossen. Mehr folgt.\n",
        encoding="utf-8",
    )
    (corpus / "b.txt").write_text("Kurz.\n\nNur kurz.\n", encoding="utf-8")
    index = qa.Index.build([corpus], tmp_path / "index")
    assert ui.example_questions(index) == [
        "Wo steht „Die Regierung hat am Montag ein neues Gesetz für die …“?"
    ]


@pytest.mark.parametrize("examples", [[""], ["  "], ["x" * 3_000], "eine Frage", [None]])
def test_build_app_refuses_bad_examples(seed_index, examples):
    with pytest.raises(ValueError, match="example"):
        ui.build_app(seed_index, examples)


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("en-US,en;q=0.9", "en"),
        ("en", "en"),
        ("EN-gb", "en"),
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "de"),
        ("de;q=0.5,en;q=0.9", "en"),
        ("en;q=0,de", "de"),
        ("en;q=x", "de"),
        ("*", "de"),
        ("", "de"),
        (None, "de"),
    ],
)
def test_language_is_english_only_for_english_browsers(header, lang):
    assert texts.language(header) == lang


def test_both_languages_have_every_text():
    assert set(texts.TEXTS["de"]) == set(texts.TEXTS["en"])
