"""The UI, the API and the MCP tools over HTML, Markdown and PDF articles.

The index holds the HTML news page and the Markdown article of ``tests/data/formats`` and
a two-page PDF printed by headless Chromium; every expectation comes from ``qa.Index``.
"""

from __future__ import annotations

import html
import json
import re
import shutil

import pytest

import qa
import ui
from tests.conftest import REPO, write

FORMATS = REPO / "tests" / "data" / "formats"
KREMLIN = "Wie nannte der Kreml die Verlegung?"
# Text of the HTML page outside its article: navigation, cookie banner, scripts, styles,
# share buttons, related articles, footer. None of it may reach the viewer.
BOILERPLATE = (
    "Zählpixelkonto",
    "Werbeblockgeber",
    "Stilvorlagenkommentar",
    "Politikressort",
    "Wir verwenden Cookies",
    "Inlineskriptausgabe",
    "Twitterteilen",
    "Panzerhaubitzenlieferung",
    "Impressumsseite",
    "<p",
    "<script",
)


@pytest.fixture(scope="module")
def formats_index(tmp_path_factory, chromium_pdf) -> qa.Index:
    corpus = tmp_path_factory.mktemp("formats-corpus")
    for name in ("news.html", "article.md"):
        shutil.copy(FORMATS / name, corpus / name)
    write(corpus / "report.pdf", chromium_pdf[0])
    return qa.Index.build([corpus], tmp_path_factory.mktemp("formats-index") / "index")


def _source(index: qa.Index, suffix: str) -> str:
    return next(s for s in index.sources if s.endswith(suffix))


def _tool(index: qa.Index, name: str):
    return next(tool for tool in ui.mcp_tools(index) if tool.__name__ == name)


def _cited_rows(viewer: str) -> list[tuple[str, str]]:
    """(number, text) of each cited row of the viewer, as shown."""
    rows = re.findall(
        r'<div class="qa-line qa-cited" data-line="\d+"><span class="qa-ln">([^<]*)</span>'
        r'<span class="qa-lt">(.*?)</span></div>',
        viewer,
    )
    return [(html.unescape(number), html.unescape(text)) for number, text in rows]


def test_the_chat_cites_title_date_and_page(formats_index):
    turn = ui.chat_turn(formats_index, KREMLIN, 5)
    passages = formats_index.search(KREMLIN, k=5)
    assert turn.answer == ui.format_answer(passages)
    assert [h["page"] for h in turn.hits] == [p.page for p in passages]
    assert any(h["page"] for h in turn.hits) and any(h["page"] is None for h in turn.hits)
    shown = html.unescape(turn.answer)
    for p in passages:
        assert p.citation in shown
        if p.title and p.date:
            assert f"{p.title} \u00b7 {p.date}" in shown
    html_passage = next(p for p in passages if p.source.endswith(".html"))
    assert (html_passage.title, html_passage.date) == (
        "NATO verstärkt ihre Ostflanke",
        "2022-02-11",
    )


def test_the_viewer_shows_an_html_page_s_readable_text_with_the_file_s_lines(formats_index):
    source = _source(formats_index, "news.html")
    passage = formats_index.search(KREMLIN, k=1, sources=[source])[0]
    viewer = ui.view_source(formats_index, source, passage.line_start, passage.line_end)
    for word in BOILERPLATE:
        assert word not in html.unescape(viewer), word
    expected = [
        line
        for line in formats_index.source_lines(source)
        if line.text and line.line_start <= passage.line_end and line.line_end >= passage.line_start
    ]
    assert _cited_rows(viewer) == [
        (
            str(line.line_start)
            if line.line_start == line.line_end
            else f"{line.line_start}\u2013{line.line_end}",
            line.text,
        )
        for line in expected
    ]
    assert [text for _, text in _cited_rows(viewer)] == passage.text.split("\n\n")
    numbers = re.findall(r'<span class="qa-ln">([^<]*)</span>', viewer)
    assert "30\u201332" in numbers  # the paragraph that stands on three lines of the file


def test_the_viewer_shows_the_cited_pdf_page(formats_index):
    source = _source(formats_index, "report.pdf")
    passage = formats_index.search(KREMLIN, k=1, sources=[source])[0]
    assert passage.page == 2 and passage.citation.startswith(f"{source}:p2:")
    turn = ui.chat_turn(formats_index, KREMLIN, 1, sources=[source])
    assert turn.hits[0]["page"] == 2
    viewer = ui.view_source(
        formats_index, source, passage.line_start, passage.line_end, page=passage.page
    )
    page = formats_index.source_lines(source, 2)
    shown = html.unescape(viewer)
    assert f"Seite 2, Zeilen {passage.line_start}–{passage.line_end} von {len(page)}" in shown
    assert [text for _, text in _cited_rows(viewer)] == passage.text.split("\n")
    for line in formats_index.source_lines(source, 1):
        assert line.text not in shown  # only the cited page


def test_the_api_carries_page_title_and_date(formats_index):
    rows = ui.retrieve(formats_index, KREMLIN, 5)
    assert rows == [p.to_dict() for p in formats_index.search(KREMLIN, k=5)]
    dated = ui.retrieve(formats_index, KREMLIN, 5, since="2022-02-11", until="2022-02-11")
    assert dated == [
        p.to_dict() for p in formats_index.search(KREMLIN, k=5, since="2022-02-11", until="2022-02")
    ]
    assert {row["date"] for row in dated} == {"2022-02-11"}


def test_mcp_list_sources_names_format_title_and_date(formats_index):
    listed = json.loads(_tool(formats_index, "list_sources")())
    assert listed == [
        {
            "source": info.source,
            "format": info.format,
            "title": info.title,
            "date": info.date,
            "passages": info.passages,
        }
        for info in map(formats_index.source_info, formats_index.sources)
    ]
    assert {row["format"] for row in listed} == {"html", "md", "pdf"}


def test_mcp_read_lines_reads_an_html_page_s_article_text_by_the_file_s_lines(formats_index):
    source = _source(formats_index, "news.html")
    passage = formats_index.search(KREMLIN, k=1, sources=[source])[0]
    start, end = max(1, passage.line_start - 3), passage.line_end + 2
    read = json.loads(_tool(formats_index, "read_lines")(source, start, end))
    total = max(line.line_end for line in formats_index.source_lines(source))
    assert read["text"] == formats_index.read_lines(source, start, end)
    assert passage.text in read["text"]
    assert read["page"] is None and read["total_lines"] == total
    assert (read["line_start"], read["line_end"]) == (start, min(end, total))
    for word in BOILERPLATE:
        assert word not in read["text"]


def test_mcp_read_lines_reads_markdown_line_for_line(formats_index):
    source = _source(formats_index, "article.md")
    file_lines = (FORMATS / "article.md").read_text(encoding="utf-8").splitlines()
    read = json.loads(_tool(formats_index, "read_lines")(source, 1, 500))
    assert read["total_lines"] == read["line_end"] == len(file_lines)
    lines = formats_index.source_lines(source)[: len(file_lines)]
    assert read["text"] == "\n".join(line.text for line in lines)
    assert read["text"].split("\n")[6] == "Truppen für das Baltikum"  # line 7: "# Truppen …"
    assert "title:" not in read["text"] and "**" not in read["text"]  # no front matter, markup


def test_mcp_read_lines_reads_a_pdf_page(formats_index):
    source = _source(formats_index, "report.pdf")
    read_lines = _tool(formats_index, "read_lines")
    for page in (1, 2):
        lines = formats_index.source_lines(source, page)
        read = json.loads(read_lines(source, 1, 50, page))
        assert read == {
            "source": source,
            "page": page,
            "line_start": 1,
            "line_end": len(lines),
            "total_lines": len(lines),
            "text": formats_index.read_lines(source, 1, len(lines), page),
        }


@pytest.mark.parametrize(
    ("suffix", "page", "message"),
    [
        ("report.pdf", None, "is a PDF: give the page too"),
        ("report.pdf", 9, "has no page 9 with text"),
        ("report.pdf", 0, "page must be at least 1"),
        ("news.html", 1, "is not a PDF: leave page out"),
    ],
    ids=["pdf-without-page", "no-such-page", "page-zero", "page-of-html"],
)
def test_mcp_read_lines_needs_the_page_of_a_pdf_only(formats_index, suffix, page, message):
    with pytest.raises(ui.ToolError) as info:
        _tool(formats_index, "read_lines")(_source(formats_index, suffix), 1, 2, page)
    assert message in str(info.value)
