"""Generated news articles in the formats the parsing benchmark reads.

HTML, Markdown, text and PDF, made deterministically from the XQuAD-de paragraphs and
cached under ``benchmarks/data/parsing/``.
"""

from __future__ import annotations

import html
import json
import random
import shutil
import statistics
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.corpora import prepare_xquad
from common.paths import DATA, rel
from common.results import write_if_changed

__all__ = [
    "PARAGRAPHS",
    "PARSING",
    "PDF_PARAGRAPHS",
    "SEED",
    "Article",
    "Corpus",
    "html_page",
    "load_paragraphs",
    "make_article",
    "markdown_page",
    "pdf_corpus",
    "text_corpus",
    "text_page",
]

PARSING = DATA / "parsing"
CHROMIUM = Path("/usr/bin/chromium")
SEED = 13
PARAGRAPHS = (3, 8)  # paragraphs per generated HTML, Markdown and text file
PDF_PARAGRAPHS = (8, 14)  # paragraphs per printed PDF (several pages each)
SUFFIX = {"html": ".html", "md": ".md", "txt": ".txt", "pdf": ".pdf"}


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
