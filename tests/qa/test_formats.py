"""Articles in HTML, Markdown and PDF: exact citations, titles, dates and date filters."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import qa
from tests.conftest import REPO, write

FIXTURES = REPO / "tests/data/formats"
# Words that stand only in the news page's navigation, banner, scripts, styles, share
# buttons, related box and footer: none may be indexed.
JUNK = [
    "Startseite",
    "Politikressort",
    "Cookies",
    "Zustimmen",
    "Zählpixelkonto",
    "Werbeblockgeber",
    "Stilvorlagenkommentar",
    "Inlineskriptausgabe",
    "Twitterteilen",
    "Panzerhaubitzenlieferung",
    "Gasspeicherfüllstand",
    "Impressumsseite",
]
MARKDOWN = """---
title: "Bahnstreik legt den Verkehr lahm"
date: 2023-03-05
tags: [bahn, streik]
---

# Bahnstreik im ganzen Land

Die **Gewerkschaft** hat zu einem [Streik](https://example.org/streik) aufgerufen.
Züge im _Fernverkehr_ fallen aus.

## Folgen für Pendler

- Pendler warten stundenlang auf Ersatzbusse.
- Der Güterverkehr steht still.
"""


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, qa.Index]:
    root = tmp_path_factory.mktemp("archive")
    corpus = root / "c"
    shutil.copy(FIXTURES / "news.html", write(corpus / "news.html", ""))
    write(corpus / "streik.md", MARKDOWN)
    write(corpus / "plain.txt", "Ein Artikel ohne Datum über den Hafen von Hamburg.\n")
    write(corpus / "renamed.txt", "<!DOCTYPE html>\n<html><body><p>Markup</p></body></html>\n")
    write(corpus / "fake.pdf", "<html><body>Kein PDF</body></html>\n")
    return corpus, qa.Index.build([corpus], root / "index")


def test_every_html_passage_cites_the_lines_that_hold_its_text(archive) -> None:
    corpus, idx = archive
    name = f"{corpus}/news.html"
    html = (corpus / "news.html").read_text(encoding="utf-8").split("\n")
    hits = [p for p in idx.search("NATO Ostflanke", k=len(idx)) if p.source == name]
    assert len(hits) == idx.source_info(name).passages >= 4
    for p in hits:
        cited = re.sub(r"<[^>]+>", " ", " ".join(html[p.line_start - 1 : p.line_end]))
        cited = cited.replace("&bdquo;", "„").replace("&ldquo;", "“")
        assert _words(p.text) == [w for w in _words(cited) if w in set(_words(p.text))], p
        assert p.title == "NATO verstärkt ihre Ostflanke" and p.date == "2022-02-11"
    wrapped = next(p for p in hits if "Verteidigungsminister" in p.text)
    assert (wrapped.line_start, wrapped.line_end) == (30, 32)  # a <p> wrapped over 3 lines


def test_nothing_from_navigation_banners_or_scripts_is_indexed(archive) -> None:
    corpus, idx = archive
    text = "\n".join(line.text for line in idx.source_lines(f"{corpus}/news.html"))
    for word in JUNK:
        assert word not in text
        assert all(word not in p.text for p in idx.search(word, k=len(idx)))


def test_markdown_cites_its_own_lines_without_markup(archive) -> None:
    corpus, idx = archive
    name = f"{corpus}/streik.md"
    info = idx.source_info(name)
    assert (info.format, info.title, info.date) == (
        "md",
        "Bahnstreik legt den Verkehr lahm",
        "2023-03-05",
    )
    lines = MARKDOWN.split("\n")
    for p in (p for p in idx.search("Streik", k=len(idx)) if p.source == name):
        assert "**" not in p.text and "](" not in p.text and "title:" not in p.text
        assert set(_words(p.text)) <= set(_words("\n".join(lines[p.line_start - 1 : p.line_end])))
    hit = idx.search("Wie lange warten Pendler?", k=1)[0]
    assert hit.source == name and lines[hit.line_end - 1].startswith("- Der Güterverkehr")


def test_files_whose_content_is_not_their_suffix_are_skipped(archive) -> None:
    corpus, idx = archive
    skipped = dict(idx.build_report.skipped)
    assert "holds an HTML page" in skipped[f"{corpus}/renamed.txt"]
    assert "not a PDF" in skipped[f"{corpus}/fake.pdf"]
    assert set(idx.sources) == {f"{corpus}/{n}" for n in ("news.html", "plain.txt", "streik.md")}


def test_date_filters_are_exact_and_leave_out_undated_articles(archive) -> None:
    corpus, idx = archive

    def sources(**dates: str) -> set[str]:
        return {p.source for p in idx.search("Artikel", k=len(idx), **dates)}

    assert sources(since="2023-01-01") == {f"{corpus}/streik.md"}
    assert sources(until="2022-12-31") == {f"{corpus}/news.html"}
    assert sources(since="2022-02-11", until="2022-02-11") == {f"{corpus}/news.html"}
    assert sources(since="2022-02-12", until="2023-03-04") == set()
    assert sources(since="2022", until="2023") == {f"{corpus}/news.html", f"{corpus}/streik.md"}
    with pytest.raises(ValueError, match="since must be a date"):
        idx.search("Artikel", since="letzte Woche")


def test_formats_can_be_restricted_and_updates_keep_line_maps(archive, tmp_path: Path) -> None:
    corpus, _ = archive
    index_dir = tmp_path / "index"
    only_text = qa.Index.build([corpus], index_dir, formats=["txt", "md"])
    assert {Path(s).suffix for s in only_text.sources} == {".txt", ".md"}
    with pytest.raises(ValueError, match="unknown format 'docx'"):
        qa.Index.build([corpus], index_dir, formats=["docx"])
    full = qa.Index.build([corpus], index_dir)
    assert full.build_report.added == (f"{corpus}/news.html",)
    lines = full.source_lines(f"{corpus}/news.html")
    write(corpus / "plain.txt", "Ein Artikel ohne Datum über den Hafen von Kiel.\n")
    updated = qa.Index.build([corpus], index_dir)
    try:
        assert updated.build_report.changed == (f"{corpus}/plain.txt",)
        assert updated.build_report.embedded == 1
        assert updated.source_lines(f"{corpus}/news.html") == lines
        assert updated.source_info(f"{corpus}/news.html").title == "NATO verstärkt ihre Ostflanke"
    finally:
        write(corpus / "plain.txt", "Ein Artikel ohne Datum über den Hafen von Hamburg.\n")


def test_an_update_keeps_the_formats_the_index_was_built_with(archive, tmp_path: Path) -> None:
    corpus, _ = archive
    qa.Index.build([corpus], tmp_path / "index", formats=["txt", "md"])
    idx = qa.Index.load(tmp_path / "index")  # the formats come from the index itself
    before = set(idx.sources)
    report = idx.update()
    assert report.added == () and report.removed == () and not report.published
    assert set(idx.sources) == before
    assert {Path(s).suffix for s in idx.sources} == {".txt", ".md"}


def test_check_article_gives_the_reason_a_build_would_skip_a_file(
    chromium_pdf: tuple[bytes, set[str]], tmp_path: Path
) -> None:
    data, _ = chromium_pdf
    assert set(qa.ARTICLE_SUFFIXES) == {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}
    write(tmp_path / "streik.md", MARKDOWN)
    write(tmp_path / "bericht.pdf", data)
    qa.check_article(tmp_path / "streik.md")
    qa.check_article(tmp_path / "bericht.pdf")
    write(tmp_path / "kaputt.pdf", data[: len(data) // 2])
    with pytest.raises(qa.SourceError, match=r"^upload\.pdf: a truncated PDF"):
        qa.check_article(tmp_path / "kaputt.pdf", "upload.pdf")
    write(tmp_path / "seite.txt", "<!DOCTYPE html><html><body><p>Kein Text</p></body></html>\n")
    with pytest.raises(qa.SourceError, match=r"seite\.txt.*HTML"):
        qa.check_article(tmp_path / "seite.txt")


def test_read_lines_returns_the_readable_text_a_citation_names(archive) -> None:
    corpus, idx = archive
    name = f"{corpus}/news.html"
    text = idx.read_lines(name, 30, 32)
    assert text.startswith("Die Verteidigungsminister") and "<p>" not in text
    assert idx.read_lines(name, 31, 31) == text  # any line of a paragraph finds it
    with pytest.raises(KeyError, match="not an indexed source"):
        idx.read_lines("/etc/passwd", 1, 2)
    with pytest.raises(ValueError, match="line_start <= line_end"):
        idx.read_lines(name, 5, 2)


def test_a_seed_article_keeps_its_date_line(seed_index: qa.Index) -> None:
    dated = {s: seed_index.source_info(s).date for s in seed_index.sources}
    assert dated["seeds/002_20a6b0fe2192dee9.txt"] == "2022-01"
    hits = seed_index.search("NATO Ostflanke", k=5, since="2022-01", until="2022-01")
    assert hits and {p.source for p in hits} == {"seeds/002_20a6b0fe2192dee9.txt"}
    assert all(p.date == "2022-01" for p in hits)


def test_pdf_passages_cite_their_page_and_lines(
    chromium_pdf: tuple[bytes, set[str]], tmp_path: Path
) -> None:
    data, days = chromium_pdf
    write(tmp_path / "c/bericht.pdf", data)
    write(tmp_path / "c/kaputt.pdf", data[: len(data) // 2])
    idx = qa.Index.build([tmp_path / "c"], tmp_path / "index")
    assert "truncated PDF" in dict(idx.build_report.skipped)[f"{tmp_path}/c/kaputt.pdf"]
    name = f"{tmp_path}/c/bericht.pdf"
    hit = idx.search("Was nannte der Kreml eine Provokation?", k=1)[0]
    assert (hit.source, hit.page, hit.line_start, hit.line_end) == (name, 2, 1, 2)
    assert hit.citation == f"{name}:p2:1-2"
    assert hit.title == "Zwei Seiten über die Ostflanke" and hit.date in days
    assert [line.text for line in idx.source_lines(name, page=2)] == [
        "Zweite Seite",
        "Der Kreml nannte es eine „Provokation“.",
    ]
    assert idx.read_lines(name, 2, 2, page=1) == "Die Allianz schickt Soldaten."
    first = idx.search("Soldaten der Allianz", k=1)[0]
    assert first.page == 1 and "Die Allianz schickt Soldaten." in first.text
