"""The UI's HTML formatting: everything from articles and users is inert text."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import pytest

import qa
import ui

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


def _passage(text: str, span: tuple[int, int], source: str = "seeds/x.txt") -> qa.Passage:
    return qa.Passage(
        source=source, line_start=3, line_end=8, text=text, score=0.75, highlight_span=span
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
    assert "No passages" in ui.format_answer([])


def test_format_question_escapes_and_shortens():
    _assert_inert(ui.format_question("<script>alert(1)</script> [x](javascript:alert(1))"))
    long = ui.format_question("Frage " * 20_000)
    assert len(long) < 5_000 and "120,000 characters" in long
    assert "empty" in ui.format_question("   ")


def test_format_source_numbers_lines_and_marks_cited_ones():
    viewer = ui.format_source("evil/<b>.txt", PAYLOAD, 2, 3)
    _assert_inert(viewer)
    parsed = _parse(viewer)
    cited = [
        dict(attrs)["data-line"]
        for tag, attrs in parsed.tags
        if tag == "div" and "qa-cited" in (dict(attrs).get("class") or "")
    ]
    assert cited == ["2", "3"]
    shown = "".join(parsed.text)
    assert "<script>alert(1)</script>" in shown
    assert "evil/<b>.txt" in shown
    assert f"of {PAYLOAD.count(chr(10)) + 1}" in shown


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
    answer, hits = ui.chat_turn(seed_index, question, 5)
    _assert_inert(answer)
    if not question.strip() or len(question) > ui.MAX_QUESTION_CHARS:
        assert "qa-error" in answer and hits == []
    else:
        assert hits and all(h["source"] in seed_index.sources for h in hits)


@pytest.mark.parametrize("k", [0, -3, 2.5, "five", None, float("nan")])
def test_chat_turn_rejects_bad_k_with_a_message(seed_index, k):
    answer, hits = ui.chat_turn(seed_index, "Wer ist Putin?", k)
    assert "qa-error" in answer and "k must" in html.unescape(answer)
    assert hits == []


def test_retrieve_returns_json_dicts(seed_index):
    rows = ui.retrieve(seed_index, "Wie viele Reservisten?", 3)
    assert len(rows) == 3
    for row in rows:
        assert set(row) == {"source", "line_start", "line_end", "text", "score", "highlight"}
        assert row["source"] in seed_index.sources
        assert row["highlight"] in row["text"]


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
    assert "qa-error" in viewer and "not an indexed source" in viewer
