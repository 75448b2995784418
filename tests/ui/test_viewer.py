"""ui.viewer: an article's lines, numbered, the cited ones marked; only indexed articles."""

from __future__ import annotations

import html
import re

import pytest

import qa
import ui
from tests.ui.markup import PAYLOAD, assert_inert, parse, shown_text


def _source_lines(text: str) -> list[qa.SourceLine]:
    """A text file's readable lines: each its own line of the file."""
    return [qa.SourceLine(i, i, line) for i, line in enumerate(text.split("\n"), 1)]


def _cited(viewer: str) -> list[str]:
    """The ``data-line`` of each cited row of the viewer."""
    return [
        dict(attrs)["data-line"]
        for tag, attrs in parse(viewer).tags
        if tag == "div" and "qa-cited" in (dict(attrs).get("class") or "")
    ]


def test_format_source_numbers_lines_and_marks_cited_ones():
    viewer = ui.format_source("evil/<b>.txt", _source_lines(PAYLOAD), 2, 3)
    assert_inert(viewer)
    assert _cited(viewer) == ["2", "3"]
    shown = shown_text(viewer)
    assert "<script>alert(1)</script>" in shown
    assert "evil/<b>.txt" in shown
    assert f"Zeilen 2–3 von {PAYLOAD.count(chr(10)) + 1}" in shown
    english = shown_text(ui.format_source("a.txt", _source_lines(PAYLOAD), 2, 3, "en"))
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
    assert_inert(viewer)
    assert _cited(viewer) == cited
    numbers = re.findall(r'<span class="qa-ln">([^<]*)</span>', viewer)
    assert numbers == ["26", "", "30–32", "", "33"]  # separators carry no number
    shown = shown_text(viewer)
    assert "Ein Absatz über <script>alert(1)</script> drei Zeilen." in shown
    assert f"page.html — Zeilen {start}–{end} (lesbarer Text, ohne Markup)" in shown
    english = shown_text(ui.format_source("page.html", HTML_LINES, start, end, "en"))
    assert f"lines {start}–{end} (readable text, without markup)" in english


def test_format_source_of_a_pdf_page_says_which_page():
    lines = [qa.SourceLine(i, i, f"Zeile {i}", 3) for i in range(1, 6)]
    viewer = ui.format_source("report.pdf", lines, 2, 3, page=3)
    assert _cited(viewer) == ["2", "3"]
    assert "report.pdf — Seite 3, Zeilen 2–3 von 5" in shown_text(viewer)
    assert "page 3, lines 2–3 of 5" in shown_text(ui.format_source("r.pdf", lines, 2, 3, "en", 3))


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
    assert_inert(viewer)
    assert "qa-error" in viewer and "ist kein Artikel im Index" in viewer
    assert "is not an indexed article" in ui.view_source(seed_index, source, 1, 1, "en")
