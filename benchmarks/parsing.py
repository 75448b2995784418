"""Parsing benchmark: throughput of reading each article format, against embedding (issue #13).

Target: parsing must not become the bottleneck of indexing: HTML and Markdown are parsed
at least 10× faster than the same readable text is embedded.

Generates, deterministically, a corpus of at least 1,000 files per format from the
XQuAD-de paragraphs (``xquad_de.prepare_xquad``; runs of 3–8 consecutive paragraphs per
file), cached under ``benchmarks/data/parsing/``:

- ``html``: news pages with a head of meta/Open Graph tags, JSON-LD, a style and scripts,
  a navigation menu, a cookie banner, the article (h1, byline, h2 subheadings, paragraphs
  with links and emphasis, some wrapped over several lines), a share box, a related-articles
  aside and a footer;
- ``md``: front matter, headings, emphasis, links, a bullet list, a quote, some paragraphs
  hard-wrapped;
- ``txt``: a title line (half of the files with a ``date`` line), paragraphs, some wrapped;
- ``pdf``: a few dozen longer news pages (8–14 paragraphs) printed by headless Chromium
  (``--print-to-pdf``), each copied in turn to make up the file count: the distinct PDFs
  and the copies are counted apart in the results.

Times ``vectorstore.formats.parse`` over every file of each format (in-process, one
thread, the bytes read beforehand, after a warm-up), in rounds interleaved with the
embedding rounds; for ``.txt`` also the builder's own read path (``sources.read_text`` and
``txt_metadata``, from the page cache), which is what indexing runs for text files. The
embedding side chunks the readable text of a sample of the HTML files as the builder does
(``Chunker``, ``embedding_text``, ``sentence_spans``) and embeds it with the default model's
``encode_passages_with_spans`` in the builder's batches. Both are reported per character
of readable text. Finally ``qa.Index.build`` over a folder of HTML files shows parsing's
share of a real build.

Writes ``benchmarks/results/parsing.json`` and the "Parsing" section of
``benchmarks/RESULTS.md`` (``--quick``: 100 files per format and small samples,
``parsing-quick.json`` only).

Usage:
    .venv/bin/python benchmarks/parsing.py [--quick] [--files N] [--rounds N]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import html
import json
import logging
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.args import arg_parser
from common.corpora import normalise, prepare_xquad
from common.derived import TimingEmbedder
from common.machine import (
    describe_machine,
    provenance,
    set_environment,
)
from common.paths import DATA, REPO, RESULTS, rel
from common.results import publish, write_if_changed, write_json
from common.tables import fmt as figure
from common.tables import markdown_table
from common.tiers import embedding_with, timed_build

PARSING = DATA / "parsing"
SECTION = "Parsing"
CHROMIUM = Path("/usr/bin/chromium")
SEED = 13
PARAGRAPHS = (3, 8)  # paragraphs per generated HTML, Markdown and text file
PDF_PARAGRAPHS = (8, 14)  # paragraphs per printed PDF (several pages each)
TARGET_RATIO = 10.0  # parsing at least this many times faster than embedding
TARGETED = ("html", "md")
FORMATS = ("html", "md", "txt", "pdf")
SUFFIX = {"html": ".html", "md": ".md", "txt": ".txt", "pdf": ".pdf"}
LABELS = {
    "html": "HTML",
    "md": "Markdown",
    "txt": "text",
    "txt-read": "text, builder read path",
    "pdf": "PDF",
}
WARMUP_FILES = 20
KB, MB = 1_000, 1_000_000


# --- the corpora ------------------------------------------------------------------------


@dataclass(frozen=True)
class Article:
    """A run of XQuAD-de paragraphs made into one generated file.

    Attributes:
        title: The XQuAD article of its first paragraph, as a headline.
        date: Its publication date, ISO.
        paragraphs: Its paragraphs (each one line of text).
        related: Headlines of other articles, for link lists.
    """

    title: str
    date: str
    paragraphs: tuple[str, ...]
    related: tuple[str, ...]


def load_paragraphs(xquad: Path) -> list[tuple[str, str]]:
    """Returns every XQuAD-de paragraph with its article's title, in corpus order.

    The article files are the ones the quality benchmark indexes (``prepare_xquad``).
    """
    folder = DATA / "xquad-de"
    prepare_xquad(xquad, folder)
    out = []
    for path in sorted(folder.glob("*.txt")):
        title = path.stem.split("_", 1)[1].replace("_", " ")
        text = path.read_text(encoding="utf-8")
        paragraphs = text.replace("\ufeff", "").split("\n\n")
        out += [(title, " ".join(p.split())) for p in paragraphs if p.strip()]
    return out


def make_article(pool: Sequence[tuple[str, str]], rng: random.Random, count: int) -> Article:
    """Picks a run of ``count`` consecutive paragraphs (crossing article ends) and a date."""
    start = rng.randrange(len(pool))
    picked = [pool[(start + i) % len(pool)] for i in range(count)]
    titles = sorted({t for t, _ in pool} - {picked[0][0]})
    date = f"{rng.randint(2019, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return Article(picked[0][0], date, tuple(p for _, p in picked), tuple(rng.sample(titles, 4)))


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def _phrase(paragraph: str, rng: random.Random) -> str:
    """A subheading: the first few words of a paragraph."""
    words = paragraph.split()[: rng.randint(3, 6)]
    return " ".join(words).rstrip(",.;:–-")


def _wrap(text: str, width: int) -> str:
    """Breaks text into lines at spaces only (a break at a hyphen would change the words)."""
    return textwrap.fill(text, width=width, break_on_hyphens=False, break_long_words=False)


def _first_sentence(paragraph: str) -> str:
    end = paragraph.find(". ")
    return paragraph if end < 0 else paragraph[: end + 1]


SECTIONS = ("Politik", "Wirtschaft", "Wissen", "Kultur", "Sport", "Panorama", "Digital")
AUTHORS = ("Anna Keller", "Jonas Brandt", "Miriam Roth", "Felix Neumann", "Sara Yilmaz")

_STYLE = """\
  :root { --accent: #b3001b; --text: #1a1a1a; --muted: #6b6b6b; }
  body { margin: 0; font: 17px/1.6 Georgia, "Times New Roman", serif; color: var(--text); }
  .site-header { display: flex; align-items: center; gap: 2rem; padding: .5rem 1rem;
    border-bottom: 3px solid var(--accent); }
  .main-nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; }
  .main-nav a { color: inherit; text-decoration: none; font-family: Arial, sans-serif; }
  .cookie-banner { position: fixed; bottom: 0; left: 0; right: 0; padding: 1rem;
    background: #f4f4f4; box-shadow: 0 -2px 8px rgba(0, 0, 0, .2); z-index: 1000; }
  article { max-width: 42rem; margin: 2rem auto; }
  .kicker { color: var(--accent); text-transform: uppercase; letter-spacing: .05em; }
  .byline, .breadcrumb { color: var(--muted); font: 14px Arial, sans-serif; }
  .share-box { display: flex; gap: .75rem; margin: 2rem 0; font-family: Arial; }
  .related { max-width: 42rem; margin: 0 auto 3rem; border-top: 1px solid #ddd; }
  .site-footer { background: #222; color: #ccc; padding: 2rem 1rem; font-size: 14px; }
  @media print { .cookie-banner { position: static; } }
"""

_SCRIPT = """\
  window.dataLayer = window.dataLayer || [];
  function gtag() { dataLayer.push(arguments); }
  gtag("js", new Date());
  gtag("config", "G-RS{id}", { anonymize_ip: true, page_type: "article" });
  (function () {
    var consent = document.cookie.match(/(?:^|; )rs_consent=([^;]*)/);
    if (consent && consent[1] === "all") {
      document.documentElement.classList.add("consent-given");
    }
    document.addEventListener("DOMContentLoaded", function () {
      var banner = document.getElementById("cookie-banner");
      if (!banner) return;
      banner.querySelectorAll("button").forEach(function (button) {
        button.addEventListener("click", function () {
          document.cookie = "rs_consent=" + button.dataset.choice + "; path=/; max-age=31536000";
          banner.remove();
        });
      });
    });
  })();
"""


def _inline_html(paragraph: str, rng: random.Random) -> str:
    """The paragraph as HTML, with a link and emphasis on some word runs."""
    words = [html.escape(w, quote=False) for w in paragraph.split()]
    if len(words) > 12 and rng.random() < 0.6:
        i = rng.randrange(len(words) - 3)
        j = i + rng.randint(1, 3)
        href = f"https://www.rundschau.example/thema/{_slug(' '.join(words[i:j]))[:40]}"
        words[i] = f'<a href="{href}">{words[i]}'
        words[j - 1] += "</a>"
    if len(words) > 12 and rng.random() < 0.4:
        i = rng.randrange(len(words) - 2)
        tag = rng.choice(("em", "strong"))
        if "<" not in words[i] and "<" not in words[i + 1]:
            words[i] = f"<{tag}>{words[i]}"
            words[i + 1] += f"</{tag}>"
    return " ".join(words)


def html_page(article: Article, number: int, rng: random.Random) -> str:
    """A news page holding the article among the usual page furniture."""
    title = html.escape(article.title)
    section = rng.choice(SECTIONS)
    author = rng.choice(AUTHORS)
    url = f"https://www.rundschau.example/{section.lower()}/{_slug(article.title)}-{number}.html"
    description = html.escape(_first_sentence(article.paragraphs[0]))
    year, month, day = article.date.split("-")
    json_ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": article.title,
            "datePublished": f"{article.date}T08:{rng.randint(0, 59):02d}:00+01:00",
            "author": {"@type": "Person", "name": author},
            "publisher": {"@type": "Organization", "name": "Rundschau Online"},
        },
        ensure_ascii=False,
    )
    body = []
    for i, paragraph in enumerate(article.paragraphs):
        if i and rng.random() < 0.3:
            body.append(f"      <h2>{html.escape(_phrase(paragraph, rng))}</h2>")
        text = _inline_html(paragraph, rng)
        if i == 0:
            body.append(f'      <p class="lead"><strong>{text}</strong></p>')
        elif rng.random() < 0.4:  # wrapped over several lines, as some editors write it
            wrapped = _wrap(text, rng.randint(70, 110))
            body.append("      <p>\n" + textwrap.indent(wrapped, "        ") + "\n      </p>")
        else:
            body.append(f"      <p>{text}</p>")
    related = "\n".join(
        f'        <li><a href="/{_slug(t)}-{rng.randint(1000, 9999)}.html">{html.escape(t)}: '
        f"Was jetzt wichtig ist</a></li>"
        for t in article.related
    )
    menu = "\n".join(
        f'        <li><a href="/{s.lower()}/">{s}</a></li>'
        for s in (*SECTIONS, "Video", "Podcasts")
    )
    return f"""<!DOCTYPE html>
<html lang="de">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} | Rundschau Online</title>
  <meta name="description" content="{description}">
  <meta name="robots" content="index, follow, max-image-preview:large">
  <meta property="og:type" content="article">
  <meta property="og:site_name" content="Rundschau Online">
  <meta property="og:title" content="{title}">
  <meta property="og:description" content="{description}">
  <meta property="og:url" content="{url}">
  <meta property="og:image" content="https://img.rundschau.example/{number}/teaser.jpg">
  <meta property="article:published_time" content="{article.date}T08:00:00+01:00">
  <meta property="article:section" content="{section}">
  <meta name="twitter:card" content="summary_large_image">
  <link rel="canonical" href="{url}">
  <link rel="stylesheet" href="/static/css/main.4f2a9c.css">
  <style>
{_STYLE}  </style>
  <script type="application/ld+json">{json_ld}</script>
  <script>
{_SCRIPT.replace("{id}", str(number))}  </script>
</head>
<body class="page-article section-{section.lower()}">
  <header class="site-header">
    <a class="logo" href="/" aria-label="Rundschau Online, zur Startseite">Rundschau</a>
    <nav class="main-nav" aria-label="Hauptmenü">
      <ul>
{menu}
      </ul>
    </nav>
    <form class="search" action="/suche"><input type="search" name="q" placeholder="Suche">
    <button type="submit">Suchen</button></form>
  </header>
  <div id="cookie-banner" class="cookie-banner" role="dialog" aria-label="Datenschutz">
    <p>Wir verwenden Cookies und ähnliche Technologien, um Inhalte und Werbung zu
    personalisieren und die Zugriffe auf unsere Website zu analysieren. Mit „Alle
    akzeptieren“ stimmen Sie der Verarbeitung zu; in den Einstellungen können Sie
    auswählen. <a href="/datenschutz">Mehr erfahren</a></p>
    <button data-choice="all">Alle akzeptieren</button>
    <button data-choice="necessary">Nur notwendige</button>
    <button data-choice="settings">Einstellungen</button>
  </div>
  <main id="content">
    <nav class="breadcrumb"><a href="/">Startseite</a> › <a href="/{section.lower()}/">{section}</a>
      › {title}</nav>
    <article class="article" itemscope itemtype="https://schema.org/NewsArticle">
      <header>
        <p class="kicker">{section}</p>
        <h1 class="headline" itemprop="headline">{title}</h1>
        <p class="byline">Von <a href="/autoren/{_slug(author)}">{author}</a> ·
          <time datetime="{article.date}">{int(day)}.{int(month)}.{year}</time></p>
      </header>
      <div class="article-body" itemprop="articleBody">
{chr(10).join(body)}
      </div>
      <div class="share-box">
        <span>Artikel teilen:</span>
        <a href="https://www.facebook.com/sharer/sharer.php?u={url}">Facebook</a>
        <a href="https://x.com/intent/tweet?url={url}">X</a>
        <a href="mailto:?subject={title}&amp;body={url}">E-Mail</a>
        <button class="copy-link">Link kopieren</button>
      </div>
    </article>
    <aside class="related" aria-label="Mehr zum Thema">
      <h2>Mehr zum Thema</h2>
      <ul>
{related}
      </ul>
    </aside>
  </main>
  <footer class="site-footer">
    <nav aria-label="Service">
      <a href="/impressum">Impressum</a> <a href="/datenschutz">Datenschutz</a>
      <a href="/kontakt">Kontakt</a> <a href="/agb">AGB</a>
      <a href="#" onclick="showConsent()">Cookie-Einstellungen</a>
    </nav>
    <p>© {year} Rundschau Medien GmbH. Alle Rechte vorbehalten.</p>
  </footer>
  <script src="/static/js/app.91bd3e.js" defer></script>
</body>
</html>
"""


def _inline_markdown(paragraph: str, rng: random.Random) -> str:
    words = paragraph.split()
    if len(words) > 12 and rng.random() < 0.6:
        i = rng.randrange(len(words) - 3)
        j = i + rng.randint(1, 3)
        words[i] = "[" + words[i]
        words[j - 1] += f"](https://www.rundschau.example/thema/{_slug(words[i])[:30]})"
    if len(words) > 12 and rng.random() < 0.5:
        i = rng.randrange(len(words) - 2)
        mark = rng.choice(("*", "**", "_"))
        if not any(c in words[i] + words[i + 1] for c in "[]()*_"):
            words[i] = mark + words[i]
            words[i + 1] += mark
    return " ".join(words)


def markdown_page(article: Article, number: int, rng: random.Random) -> str:
    """A Markdown article with front matter and the usual markup."""
    section = rng.choice(SECTIONS)
    out = [
        "---",
        f"title: {json.dumps(article.title, ensure_ascii=False)}",
        f"date: {article.date}",
        f"author: {rng.choice(AUTHORS)}",
        f"tags: [{section.lower()}, {_slug(article.title)}]",
        f"description: {json.dumps(_first_sentence(article.paragraphs[0]), ensure_ascii=False)}",
        "---",
        "",
        f"# {article.title}",
        "",
        f"*{section} · {article.date}*",
        "",
    ]
    for i, paragraph in enumerate(article.paragraphs):
        if i and rng.random() < 0.35:
            out += [f"## {_phrase(paragraph, rng)}", ""]
        text = _inline_markdown(paragraph, rng)
        out += [_wrap(text, 80) if rng.random() < 0.4 else text, ""]
        if i == 1:
            out += ["**Das Wichtigste in Kürze:**", ""]
            out += [f"- {_first_sentence(p)}" for p in article.paragraphs[:3]]
            out.append("")
        if i == 2 and rng.random() < 0.5:
            out += [f"> {_first_sentence(paragraph)}", ""]
    out += ["---", "", "Mehr zum Thema:", ""]
    out += [f"1. [{t}](/{_slug(t)}.html)" for t in article.related[:3]]
    return "\n".join(out) + "\n"


def text_page(article: Article, number: int, rng: random.Random) -> str:
    """A plain-text article: a title line (sometimes a date line), then paragraphs."""
    out = [f"date {article.date}", ""] if number % 2 == 0 else []
    out += [article.title, ""]
    for paragraph in article.paragraphs:
        out += [_wrap(paragraph, 72) if rng.random() < 0.3 else paragraph, ""]
    return "\n".join(out)


PAGES: dict[str, Callable[[Article, int, random.Random], str]] = {
    "html": html_page,
    "md": markdown_page,
    "txt": text_page,
}


@dataclass
class Corpus:
    """One format's generated files.

    Attributes:
        fmt: The format (``html``, ``md``, ``txt``, ``pdf``).
        files: The files, in order.
        paragraphs: For each file, the XQuAD paragraphs it holds.
        distinct: How many of the files differ (all but for PDF).
    """

    fmt: str
    files: list[Path]
    paragraphs: list[tuple[str, ...]]
    distinct: int


def _rng(fmt: str, number: int) -> random.Random:
    return random.Random(f"{SEED}-{fmt}-{number}")


def text_corpus(fmt: str, pool: Sequence[tuple[str, str]], files: int) -> tuple[Corpus, int]:
    """Writes (where changed) ``files`` generated files of a text format.

    Returns:
        The corpus, and how many files were written.
    """
    folder = PARSING / fmt
    paths, paragraphs, written = [], [], 0
    for number in range(files):
        rng = _rng(fmt, number)
        article = make_article(pool, rng, rng.randint(*PARAGRAPHS))
        path = folder / f"{fmt}{number:05d}{SUFFIX[fmt]}"
        written += write_if_changed(path, PAGES[fmt](article, number, rng))
        paths.append(path)
        paragraphs.append(article.paragraphs)
    return Corpus(fmt, paths, paragraphs, files), written


def _print_pdf(page: Path, out: Path) -> None:
    """Prints an HTML file to PDF with headless Chromium (as ``tests/conftest.py``)."""
    with tempfile.TemporaryDirectory(prefix="parsing-chromium-") as profile:
        subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={out}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    if not out.exists() or not out.read_bytes().startswith(b"%PDF-"):
        raise RuntimeError(f"Chromium printed no PDF for {rel(page)}")


def pdf_corpus(
    pool: Sequence[tuple[str, str]], files: int, distinct: int
) -> tuple[Corpus, dict[str, Any]]:
    """Prints ``distinct`` news pages to PDF (cached) and copies them in turn to ``files``.

    A PDF is printed again only when its page changed. Returns the corpus and facts about
    the printing (how many printed now, the seconds it took, pages per PDF).
    """
    import pypdfium2 as pdfium

    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: `make browser` installs it")
    source = PARSING / "pdf-source"
    printed, seconds, pages, texts = 0, 0.0, [], []
    for number in range(distinct):
        rng = _rng("pdf", number)
        article = make_article(pool, rng, rng.randint(*PDF_PARAGRAPHS))
        page = source / f"page{number:03d}.html"
        out = page.with_suffix(".pdf")
        if write_if_changed(page, html_page(article, number, rng)) or not out.exists():
            start = time.perf_counter()
            _print_pdf(page, out)
            seconds += time.perf_counter() - start
            printed += 1
        pdf = pdfium.PdfDocument(out.read_bytes())
        pages.append(len(pdf))
        pdf.close()
        texts.append(article.paragraphs)
    folder = PARSING / "pdf"
    folder.mkdir(parents=True, exist_ok=True)
    paths, paragraphs = [], []
    for number in range(files):
        original = source / f"page{number % distinct:03d}.pdf"
        path = folder / f"pdf{number:05d}.pdf"
        if not path.exists() or path.read_bytes() != original.read_bytes():
            shutil.copyfile(original, path)
        paths.append(path)
        paragraphs.append(texts[number % distinct])
    facts = {
        "distinct": distinct,
        "printed_now": printed,
        "print_seconds": seconds,
        "pages_per_pdf": {"min": min(pages), "mean": statistics.mean(pages), "max": max(pages)},
        "paragraphs_per_pdf": list(PDF_PARAGRAPHS),
    }
    return Corpus("pdf", paths, paragraphs, distinct), facts


# --- measuring --------------------------------------------------------------------------


class _Counter(logging.Handler):
    """Counts warnings of the ``qa`` logger (HTML text left out, say)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@contextlib.contextmanager
def _counting() -> Iterator[_Counter]:
    logger = logging.getLogger("qa")
    counter = _Counter()
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)


def _readable(document: Any) -> str:
    return "\n".join(block.text for block in document.blocks)


# Characters that no reader sees (XQuAD holds a few zero-width spaces; parse drops them).
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060\ufeff]")


def _plain(text: str) -> str:
    return normalise(_INVISIBLE.sub("", text))


def recovered(corpus: Corpus, texts: Sequence[str]) -> float:
    """The share of the generated paragraphs that the readable text holds, word for word."""
    found = total = 0
    for paragraphs, text in zip(corpus.paragraphs, texts, strict=True):
        readable = _plain(text)
        found += sum(_plain(p) in readable for p in paragraphs)
        total += len(paragraphs)
    return found / total


@dataclass
class ParseTiming:
    """What one format's parsing measured.

    Attributes:
        seconds: Wall time of each round over all files.
        per_file: Seconds per file of the first round.
        texts: The readable text of each file (first round).
        warnings: Warnings logged in the first round.
        failures: Files that raised ``UnreadableFile`` (first round).
    """

    seconds: list[float]
    per_file: list[float]
    texts: list[str]
    warnings: int = 0
    failures: int = 0


class ParseBench:
    """Times ``parse`` (or the text read path) over one corpus, a round at a time."""

    def __init__(self, corpus: Corpus, read_path: bool = False) -> None:
        from vectorstore.formats import Format

        self.corpus = corpus
        self.read_path = read_path
        self.fmt = Format(corpus.fmt)
        self.data = [(p, p.read_bytes()) for p in corpus.files]
        self.timing = ParseTiming([], [], [])
        if read_path:
            from vectorstore.sources import scan

            self.sources = [scan(str(p), p) for p in corpus.files]

    def _one(self, index: int) -> str:
        from vectorstore.formats import parse

        if self.read_path:
            from vectorstore.builder import _BLOCK_CHARS
            from vectorstore.formats import txt_metadata
            from vectorstore.sources import read_text

            blocks = []
            for block in read_text(self.sources[index], hashlib.sha256(), _BLOCK_CHARS):
                if not blocks:
                    txt_metadata(block)
                blocks.append(block)
            return "".join(blocks)
        path, data = self.data[index]
        return _readable(parse(path, data, self.fmt))

    def warm_up(self) -> None:
        """Parses the first files untimed: imports, caches and the allocator settle."""
        for i in range(min(WARMUP_FILES, len(self.data))):
            self._one(i)

    def round(self) -> float:
        """Parses every file once; the first round also keeps texts and per-file times."""
        from vectorstore.formats import UnreadableFile

        first = not self.timing.seconds
        per_file, texts, failures = [], [], 0
        with _counting() as counter:
            start = time.perf_counter()
            for i in range(len(self.data)):
                t0 = time.perf_counter()
                try:
                    text = self._one(i)
                except UnreadableFile:
                    text, failures = "", failures + 1
                per_file.append(time.perf_counter() - t0)
                if first:
                    texts.append(text)
            seconds = time.perf_counter() - start
        self.timing.seconds.append(seconds)
        if first:
            self.timing.per_file, self.timing.texts = per_file, texts
            self.timing.warnings, self.timing.failures = counter.count, failures
        return seconds

    def figures(self) -> dict[str, Any]:
        """Throughputs over the median round, and the first round's facts."""
        t = self.timing
        seconds = statistics.median(t.seconds)
        files = len(self.data)
        in_bytes = sum(len(d) for _, d in self.data)
        chars = sum(len(x) for x in t.texts)
        out_bytes = sum(len(x.encode("utf-8")) for x in t.texts)
        ms = sorted(x * 1000 for x in t.per_file)
        return {
            "files": files,
            "distinct_files": self.corpus.distinct,
            "input_bytes": in_bytes,
            "readable_chars": chars,
            "readable_bytes": out_bytes,
            "round_seconds": t.seconds,
            "seconds": seconds,
            "files_per_s": files / seconds,
            "input_mb_per_s": in_bytes / MB / seconds,
            "readable_kb_per_s": out_bytes / KB / seconds,
            "readable_chars_per_s": chars / seconds,
            "ms_per_file_p50": ms[len(ms) // 2],
            "ms_per_file_p95": ms[min(len(ms) - 1, int(0.95 * len(ms)))],
            "ms_per_file_max": ms[-1],
            "paragraphs_recovered": recovered(self.corpus, t.texts),
            "u_fffe_chars": sum(x.count("\ufffe") for x in t.texts),
            "link_markup_left": sum(x.count("](") for x in t.texts),
            "warnings": t.warnings,
            "unreadable": t.failures,
        }


class EmbedBench:
    """Embeds the readable text of a sample of files as the builder does, a round at a time."""

    def __init__(self, texts: Sequence[str], model: str) -> None:
        from vectorstore.builder import BuildSettings
        from vectorstore.chunking import Chunker, embedding_text
        from vectorstore.embedding import get_embedder
        from vectorstore.sentences import sentence_spans

        settings = BuildSettings(model=model)
        start = time.perf_counter()
        self.passages: list[tuple[str, list[tuple[int, int]]]] = []
        for text in texts:
            chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
            for c in chunker.chunk(text):
                passage = text[c.start : c.end]
                embedded, at = embedding_text(passage, c.context)
                spans = [(at + a, at + b) for a, b in sentence_spans(passage)]
                self.passages.append((embedded, spans))
        self.chunk_seconds = time.perf_counter() - start
        self.chars = sum(len(t) for t in texts)
        self.bytes = sum(len(t.encode("utf-8")) for t in texts)
        self.embedded_chars = sum(len(t) for t, _ in self.passages)
        start = time.perf_counter()
        self.embedder = get_embedder(model)
        self.embedder.encode_passages_with_spans(*zip(*self.passages[:8], strict=True))
        self.load_seconds = time.perf_counter() - start
        self.model = model
        self.seconds: list[float] = []

    def round(self) -> float:
        """Embeds every passage once, in the builder's batches."""
        from vectorstore.builder import _EMBED_BATCH

        start = time.perf_counter()
        for at in range(0, len(self.passages), _EMBED_BATCH):
            texts, spans = zip(*self.passages[at : at + _EMBED_BATCH], strict=True)
            self.embedder.encode_passages_with_spans(texts, spans)
        seconds = time.perf_counter() - start
        self.seconds.append(seconds)
        return seconds

    def figures(self, files: int) -> dict[str, Any]:
        """Throughputs over the median round; ``files`` is how many files the text is of."""
        seconds = statistics.median(self.seconds)
        return {
            "model": self.model,
            "files": files,
            "passages": len(self.passages),
            "readable_chars": self.chars,
            "readable_bytes": self.bytes,
            "embedded_chars": self.embedded_chars,
            "round_seconds": self.seconds,
            "seconds": seconds,
            "passages_per_s": len(self.passages) / seconds,
            "readable_chars_per_s": self.chars / seconds,
            "readable_kb_per_s": self.bytes / KB / seconds,
            "chunk_seconds": self.chunk_seconds,
            "chunk_chars_per_s": self.chars / self.chunk_seconds,
            "model_load_seconds": self.load_seconds,
        }


def measure_build(qa_mod: Any, corpus: Corpus, files: int) -> dict[str, Any]:
    """``qa.Index.build --rebuild`` over a folder of the first HTML files, timing its parts.

    Parsing is timed by wrapping ``vectorstore.builder.parse``; embedding by a
    ``TimingEmbedder`` around the default model.
    """
    import vectorstore.builder as builder
    from vectorstore.embedding import get_embedder

    folder = PARSING / f"build-html-{files}"
    folder.mkdir(parents=True, exist_ok=True)
    for path in corpus.files[:files]:
        target = folder / path.name
        if not target.exists() or target.read_bytes() != path.read_bytes():
            shutil.copyfile(path, target)
    index_dir = PARSING / f"index-html-{files}"
    model = qa_mod.DEFAULT_MODEL
    inner = get_embedder(model)
    timing = TimingEmbedder(inner)
    parse_seconds = [0.0]
    original = builder.parse

    def timed_parse(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            parse_seconds[0] += time.perf_counter() - start

    builder.parse = timed_parse  # type: ignore[assignment]
    try:
        with embedding_with(model, timing, inner):
            index, seconds = timed_build(qa_mod, folder, index_dir, model, rebuild=True)
    finally:
        builder.parse = original
    out = {
        "files": len(index.sources),
        "passages": len(index),
        "seconds": seconds,
        "parse_seconds": parse_seconds[0],
        "embed_seconds": timing.seconds,
        "rest_seconds": seconds - parse_seconds[0] - timing.seconds,
        "parse_share": parse_seconds[0] / seconds,
        "embed_share": timing.seconds / seconds,
        "model": model,
    }
    del index
    gc.collect()
    return out


# --- reports ----------------------------------------------------------------------------


def ratios(results: dict[str, Any]) -> dict[str, float]:
    """Parsing throughput ÷ embedding throughput, per readable character, per row."""
    embed = results["embedding"]["readable_chars_per_s"]
    return {k: v["readable_chars_per_s"] / embed for k, v in results["parse"].items()}


def worst_ratios(results: dict[str, Any]) -> dict[str, float]:
    """The ratios of the slowest parsing round against the fastest embedding round."""
    e = results["embedding"]
    embed = e["readable_chars"] / min(e["round_seconds"])
    return {
        k: v["readable_chars"] / max(v["round_seconds"]) / embed
        for k, v in results["parse"].items()
    }


def verdicts(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The target per targeted format (on the median rounds): label, value, met."""
    r, worst = ratios(results), worst_ratios(results)
    out = []
    for fmt in TARGETED:
        if fmt in r:
            out.append(
                (
                    f"{LABELS[fmt]} parses ≥ {TARGET_RATIO:g}× faster than embedding the same text",
                    f"{r[fmt]:,.0f}× (median rounds; {worst[fmt]:,.0f}× for its slowest "
                    "parsing round against the fastest embedding round)",
                    r[fmt] >= TARGET_RATIO,
                )
            )
    return out


def table(results: dict[str, Any]) -> str:
    """The throughput table."""
    r = ratios(results)
    rows = []
    for key, v in results["parse"].items():
        files = f"{v['files']:,}"
        if v["distinct_files"] != v["files"]:
            files += f" ({v['distinct_files']} distinct)"
        verdict = "–"
        if key in TARGETED:
            verdict = "PASS" if r[key] >= TARGET_RATIO else "FAIL"
        rows.append(
            [
                LABELS[key],
                files,
                figure(v["input_bytes"] / KB / v["files"], 1),
                figure(v["files_per_s"], 0),
                figure(v["input_mb_per_s"], 1),
                figure(v["readable_kb_per_s"], 0),
                f"{v['ms_per_file_p50']:.2f} / {v['ms_per_file_p95']:.2f}",
                f"{v['paragraphs_recovered']:.1%}",
                f"{r[key]:,.0f}×",
                verdict,
            ]
        )
    e = results["embedding"]
    rows.append(
        [
            f"embedding ({e['model']})",
            f"{e['files']} HTML texts",
            "–",
            figure(e["files"] / e["seconds"], 1),
            "–",
            figure(e["readable_kb_per_s"], 1),
            "–",
            "–",
            "1×",
            "–",
        ]
    )
    return markdown_table(
        [
            "format",
            "files",
            "kB per file",
            "files/s",
            "input MB/s",
            "readable kB/s out",
            "ms per file p50 / p95",
            "paragraphs recovered",
            "× embedding (chars/s)",
            f"≥ {TARGET_RATIO:g}×",
        ],
        rows,
    )


def report_markdown(results: dict[str, Any]) -> str:
    """The section body."""
    m = results["machine"]
    e = results["embedding"]
    c = results["corpora"]
    pdf = c.get("pdf", {})
    lines = [
        f"Last run {results['date']}: `{results['command']}` ({results['wall_seconds']:.0f} s). "
        f"Machine: {describe_machine(m)} (the machine is shared).",
        "",
        f"Corpora (generated with seed {SEED} from the {c['xquad_paragraphs']} XQuAD-de "
        f"paragraphs, cached in `benchmarks/data/parsing/`): {c['files']:,} files per format, "
        f"each a run of {PARAGRAPHS[0]}–{PARAGRAPHS[1]} consecutive paragraphs. HTML: news "
        "pages with meta/Open Graph tags, JSON-LD, a style and scripts, a navigation menu, "
        "a cookie banner, the article (h1, byline, h2, paragraphs with links and emphasis, "
        "40% of them wrapped over several lines), a share box, a related-articles aside and "
        "a footer. Markdown: front matter, headings, emphasis, links, a bullet list, quotes, "
        "hard-wrapped paragraphs. Text: a title line, half with a `date` line. PDF: "
        f"{pdf.get('distinct', 0)} distinct news pages of {PDF_PARAGRAPHS[0]}–"
        f"{PDF_PARAGRAPHS[1]} paragraphs printed by headless Chromium "
        f"({pdf.get('pages_per_pdf', {}).get('min', 0)}–"
        f"{pdf.get('pages_per_pdf', {}).get('max', 0)} pages, mean "
        f"{pdf.get('pages_per_pdf', {}).get('mean', 0):.1f}), each copied in turn to make "
        f"up the {c['files']:,} files (so {c['files']:,} parses of {pdf.get('distinct', 0)} "
        "different PDFs).",
        "",
        f"Parsing: `vectorstore.formats.parse(path, data, fmt)` over every file, in-process "
        f"and single-threaded, the bytes read beforehand, after a warm-up of "
        f"{WARMUP_FILES} files; median of {results['rounds']} rounds, interleaved with the "
        "embedding rounds. `text, builder read path` is what indexing runs for `.txt` "
        "(`sources.read_text` in blocks and `txt_metadata`, reading the file from the page "
        "cache); `text` is `parse()` on text, a proxy for it. Input MB/s counts file bytes, "
        "readable kB/s the UTF-8 bytes of the readable text parse returns (1 kB = 1,000 "
        "bytes). Paragraphs recovered: the share of the generated paragraphs that the "
        "readable text holds word for word (whitespace and case normalised, zero-width "
        "characters removed). Left over in the readable text: "
        f"{results['parse']['pdf']['u_fffe_chars']:,} U+FFFE characters from the PDFs "
        "(PDFium's mark for a hyphen at a line end, which parse keeps) and "
        f"{results['parse']['md']['link_markup_left']:,} `](` of link markup from the "
        "Markdown files (links whose text is wrapped over two lines).",
        "",
        f"Embedding: the readable text of the first {e['files']} HTML files "
        f"({e['readable_chars']:,} characters), chunked as the builder does into "
        f"{e['passages']} passages and embedded with `{e['model']}` "
        "(`encode_passages_with_spans`, the builder's batches, onnxruntime on all cores): "
        f"{e['readable_chars_per_s']:,.0f} readable characters/s, "
        f"{e['passages_per_s']:.1f} passages/s (median of {results['rounds']} rounds). "
        f"Chunking the same text ran at {e['chunk_chars_per_s'] / MB:.1f} M characters/s. "
        "× embedding = parsing's readable characters/s ÷ embedding's.",
        "",
        table(results),
        "",
    ]
    b = results.get("build")
    if b:
        lines += [
            f"A full `qa.Index.build(..., rebuild=True)` over {b['files']} of the HTML files "
            f"({b['passages']:,} passages, `{b['model']}`): {b['seconds']:.1f} s, of which "
            f"parsing {b['parse_seconds']:.2f} s ({b['parse_share']:.1%}), embedding "
            f"{b['embed_seconds']:.1f} s ({b['embed_share']:.1%}), the rest (scanning, "
            f"chunking, BM25 terms, writing) {b['rest_seconds']:.2f} s.",
            "",
        ]
    for label, value, met in verdicts(results):
        lines.append(f"- {'✅' if met else '❌'} {label}: {value}")
    lines += ["", "Raw figures: `benchmarks/results/parsing.json`."]
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = arg_parser(__doc__)
    parser.add_argument("--files", type=int, default=None, help="files per format (1,000)")
    parser.add_argument("--pdfs", type=int, default=None, help="distinct PDFs printed (40)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (3)")
    parser.add_argument(
        "--embed-files", type=int, default=None, help="HTML files whose text is embedded (60)"
    )
    parser.add_argument(
        "--build-files", type=int, default=None, help="HTML files indexed by a build (200; 0: none)"
    )
    parser.add_argument("--quick", action="store_true", help="small corpora; RESULTS.md untouched")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the reports from the results file"
    )
    return parser.parse_args(argv)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Generates the corpora and times parsing, embedding and a build."""
    import qa  # after set_environment

    quick = args.quick
    files = args.files or (100 if quick else 1_000)
    distinct = args.pdfs or (6 if quick else 40)
    rounds = args.rounds or (1 if quick else 3)
    embed_files = args.embed_files or (20 if quick else 60)
    build_files = args.build_files if args.build_files is not None else (40 if quick else 200)

    pool = load_paragraphs(args.xquad.resolve())
    corpora: dict[str, Corpus] = {}
    facts: dict[str, Any] = {"files": files, "xquad_paragraphs": len(pool)}
    for fmt in ("html", "md", "txt"):
        start = time.perf_counter()
        corpora[fmt], written = text_corpus(fmt, pool, files)
        facts[fmt] = {"written": written, "seconds": time.perf_counter() - start}
        print(f"{fmt}: {files} files in {rel(PARSING / fmt)} ({written} written)")
    corpora["pdf"], facts["pdf"] = pdf_corpus(pool, files, distinct)
    print(
        f"pdf: {files} files in {rel(PARSING / 'pdf')}, copies of {distinct} printed PDFs "
        f"({facts['pdf']['printed_now']} printed now, {facts['pdf']['print_seconds']:.0f} s)"
    )

    benches = {fmt: ParseBench(corpora[fmt]) for fmt in FORMATS}
    benches["txt-read"] = ParseBench(corpora["txt"], read_path=True)
    for bench in benches.values():
        bench.warm_up()
    embed: EmbedBench | None = None
    for r in range(rounds):
        for key, bench in benches.items():
            seconds = bench.round()
            print(f"round {r + 1}/{rounds}: {key} {len(bench.data)} files in {seconds:.2f} s")
        if embed is None:  # the sample's texts come from the first HTML round
            embed = EmbedBench(benches["html"].timing.texts[:embed_files], qa.DEFAULT_MODEL)
        seconds = embed.round()
        print(
            f"round {r + 1}/{rounds}: embedding {len(embed.passages)} passages in {seconds:.1f} s"
        )
    assert embed is not None
    results: dict[str, Any] = {
        "rounds": rounds,
        "corpora": facts,
        "parse": {key: benches[key].figures() for key in ("html", "md", "txt", "txt-read", "pdf")},
        "embedding": embed.figures(min(embed_files, files)),
    }
    del benches
    gc.collect()
    if build_files:
        print(f"building an index over {build_files} HTML files…")
        results["build"] = measure_build(qa, corpora["html"], min(build_files, files))
    results["targets"] = {"ratio": TARGET_RATIO, "formats": list(TARGETED)}
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Measures, prints the table and writes the results; returns the exit status."""
    args = parse_args(argv)
    set_environment()
    path = RESULTS / f"{'parsing-quick' if args.quick else 'parsing'}.json"
    if not args.report_only:
        started = time.perf_counter()
        stamp = provenance(quick=args.quick)
        os.chdir(REPO)
        results = stamp | measure(args)
        results["wall_seconds"] = time.perf_counter() - started
        write_json(path, results)
    results = json.loads(path.read_text(encoding="utf-8"))
    print(f"\n{table(results)}\n")
    b = results.get("build")
    if b:
        print(
            f"build over {b['files']} HTML files: {b['seconds']:.1f} s, parsing "
            f"{b['parse_share']:.1%}, embedding {b['embed_share']:.1%}\n"
        )
    for label, value, met in verdicts(results):
        print(f"{'PASS' if met else 'FAIL'}  {label}: {value}")
    publish(SECTION, report_markdown(results), [rel(path)], args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
