from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from vectorstore.sources.formats import (
    Block,
    Document,
    Format,
    UnreadableFile,
    _locate,
    _VisibleText,
    format_of,
    parse,
    txt_metadata,
)

FORMATS = Path(__file__).resolve().parents[2] / "data" / "formats"
NEWS = FORMATS / "news.html"
ARTICLE = FORMATS / "article.md"

# Words that stand only in the news page's menu, cookie banner, scripts, styles, share
# buttons, related articles and footer.
BOILERPLATE = [
    "Startseite",
    "Politikressort",
    "Sportressort",
    "Abonnement",
    "Cookies",
    "Zustimmen",
    "Ablehnen",
    "Datenschutzerklärung",
    "Zählpixelkonto",
    "Werbeblockgeber",
    "Stilvorlagenkommentar",
    "Inlineskriptausgabe",
    "Twitterteilen",
    "Facebookteilen",
    "Mailversand",
    "Mehr zum Thema",
    "Panzerhaubitzenlieferung",
    "Gasspeicherfüllstand",
    "Winterolympiadenbilanz",
    "Impressumsseite",
    "Kontaktformular",
]
# The news page's paragraphs, each with fragments of its first and last line in the file.
NEWS_PARAGRAPHS = [
    ("NATO verstärkt ihre Ostflanke", "<h1>NATO", "<h1>NATO"),
    (
        "Die Allianz schickt zusätzliche Soldaten nach Rumänien und in die baltischen Staaten.",
        "Die Allianz schickt",
        "Die Allianz schickt",
    ),
    (
        "Es war zu erwarten, dass die NATO ihre Ostflanke verstärken würde. Die Spannungen an "
        "der Grenze zur Ukraine sind so groß, dass die Allianz nicht um ein Signal herumkommt.",
        "Es war zu erwarten",
        "Es war zu erwarten",
    ),
    (
        "Die Verteidigungsminister wollen bei ihrem Treffen in Brüssel über weitere Schritte "
        "beraten. Dabei geht es um die Frage, wie lange die zusätzlichen Kräfte im Osten des "
        "Bündnisgebiets bleiben sollen.",
        "Die Verteidigungsminister",
        "bleiben sollen.",
    ),
    ("Reaktion aus Moskau", "<h2>Reaktion", "<h2>Reaktion"),
    (
        "Der Kreml nannte die Verlegung eine „Provokation“ und kündigte Gegenmaßnahmen an.",
        "Der Kreml nannte",
        "Der Kreml nannte",
    ),
    (
        "Beobachter rechnen dennoch damit, dass die Gespräche über eine neue "
        "Sicherheitsordnung in Europa weitergehen.",
        "Beobachter rechnen",
        "Beobachter rechnen",
    ),
]
PUBLISHED = '<meta property="article:published_time" content="2022-02-11T06:30:00+01:00">\n'
OG_TITLE = '<meta property="og:title" content="NATO verstärkt ihre Ostflanke">\n'


def _line(text: str, fragment: str) -> int:
    """The 1-based number of the one line of ``text`` that holds ``fragment``."""
    numbers = [i for i, line in enumerate(text.split("\n"), 1) if fragment in line]
    assert len(numbers) == 1, (fragment, numbers)
    return numbers[0]


def _paragraph_block(text: str, paragraphs: list[tuple[str, str, str]]) -> Block:
    """The block of one-line paragraphs found in ``text`` by their first and last lines."""
    lines: list[tuple[int, int]] = []
    for _, first, last in paragraphs:
        if lines:
            lines.append(lines[-1])
        lines.append((_line(text, first), _line(text, last)))
    return Block("\n\n".join(p for p, _, _ in paragraphs), tuple(lines))


def _identity(text: str, page: int | None = None) -> Block:
    return Block(text, tuple((i, i) for i in range(1, text.count("\n") + 2)), page)


def _parse_html(html: str) -> Document:
    return parse(Path("page.html"), html.encode(), Format.HTML)


def test_format_of_goes_by_suffix_in_any_case() -> None:
    assert [format_of(p) for p in ["a.txt", "b/C.MD", "d.markdown", "e.HTM", "f.html"]] == [
        Format.TXT,
        Format.MARKDOWN,
        Format.MARKDOWN,
        Format.HTML,
        Format.HTML,
    ]
    assert format_of(Path("g.Pdf")) is Format.PDF
    assert [format_of(p) for p in ["h.docx", "README", "i.txt.bak"]] == [None, None, None]


def test_txt_is_its_own_block_with_the_metadata_at_its_start() -> None:
    data = b"date 2022-01-15\nKrise im Osten\n\nDie Proteste gehen weiter.\n"
    assert parse(Path("a.txt"), data, Format.TXT) == Document(
        (_identity(data.decode()),), "Krise im Osten", "2022-01-15"
    )
    latin = "Überschrift\n\nText mit Umlauten: äöü.".encode("cp1252")
    assert parse(Path("b.txt"), latin, Format.TXT, "cp1252") == Document(
        (_identity(latin.decode("cp1252")),), "Überschrift", None
    )


def test_txt_metadata_of_the_seeds() -> None:
    found = {p.name: txt_metadata(p.read_text(encoding="utf-8")) for p in sorted(SEEDS.iterdir())}
    assert found == {
        "000_4e643a41be3c1e52.txt": (None, None),
        "001_ae2599aca4f170f4.txt": (None, None),
        "002_20a6b0fe2192dee9.txt": (None, "2022-01"),  # " date 2022-01 Mit seinem …"
        "003_2a0abf6ffe095541.txt": (None, None),
        "004_9b559d87cc15ea2d.txt": (None, None),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\ufeffKrise im Osten\n\nDie Proteste gehen weiter.", ("Krise im Osten", None)),
        ("  DATE 2022-03-05\n\nKrise im Osten\n\nText.", ("Krise im Osten", "2022-03-05")),
        # The first line is no heading: it ends like a sentence, or continues on the next.
        ("Die Proteste gehen weiter.\n\nMehr.", (None, None)),
        ("Krise im Osten\nund im Westen\n\nText.", (None, None)),
        ("date 2022-13 Die Proteste gehen weiter.", (None, None)),  # no month 13
        ("Daten: date 2022-01 und mehr.", (None, None)),  # the date must come first
    ],
)
def test_txt_metadata(text: str, expected: tuple[str | None, str | None]) -> None:
    assert txt_metadata(text) == expected


def test_markdown_keeps_its_lines_without_markup() -> None:
    doc = parse(ARTICLE, ARTICLE.read_bytes(), Format.MARKDOWN)
    readable = [
        "",  # front matter
        "",
        "",
        "",
        "",
        "",
        "Truppen für das Baltikum",
        "",
        "Die Allianz schickt zusätzliche Soldaten nach Rumänien und in die",
        "baltischen Staaten.",
        "",
        "Was beschlossen wurde",
        "",
        "Mehr Soldaten für Estland und Lettland",
        "Ein Stab in Bukarest",
        "Übungen im Frühjahr",
        "",
        "Es war zu erwarten, dass die NATO ihre Ostflanke verstärken würde.",
        "",
        "Land Soldaten",
        "",  # the table's separator row
        "Rumänien 1000",
        "",
        "",  # code fence
        'truppen = {"Rumänien": 1000}  # *kein* Markdown',
        "",
        "",
        "Panzer im Schnee Foto: Agentur",
        "Ein Satz mit NATO, 2 * 3 und alt neu.",
        "",
        "Reaktion aus Moskau",
        "",  # setext underline
        "",
        "Der Kreml nannte die Verlegung eine Provokation.",
        "",
        "",  # thematic break
        "",
        "",  # reference definition
        "Eine Fußnote.",
        "",
    ]
    assert ARTICLE.read_text(encoding="utf-8").count("\n") + 1 == len(readable)
    assert doc == Document(
        (_identity("\n".join(readable)),), "Die NATO und ihre Ostflanke", "2022-02-11"
    )


@pytest.mark.parametrize(
    ("text", "title", "date"),
    [
        ("# Erste *Überschrift*\n\nText.\n\n# Zweite\n", "Erste Überschrift", None),
        ("## Unterüberschrift\n\nText.\n\nTitel im Text\n=====\n", "Titel im Text", None),
        ("---\ndate: 2022-02\n---\n## Nur Ebene zwei\n", None, "2022-02"),
        ("---\ntitle: Vorne\ndate: 2022-02-11 08:30:00\n---\n# Hinten\n", "Vorne", "2022-02-11"),
        ("---\ntitle: [unclosed\n---\nText.\n", None, None),  # not YAML: ignored
        ("---\n\nText nach einer Linie.\n", None, None),  # a rule, not front matter
    ],
)
def test_markdown_title_and_date(text: str, title: str | None, date: str | None) -> None:
    doc = parse(Path("a.md"), text.encode(), Format.MARKDOWN)
    assert (doc.title, doc.date) == (title, date)
    assert len(doc.blocks[0].lines) == text.count("\n") + 1


def test_markdown_escapes_code_and_crlf() -> None:
    text = "Ein \\*Stern\\* und `*kein* [Link](x)` und\r\n**fett**_nicht_kursiv_\r\n"
    doc = parse(Path("a.md"), text.encode(), Format.MARKDOWN)
    assert doc.blocks[0].text == "Ein *Stern* und *kein* [Link](x) und\nfett_nicht_kursiv_\n"


def test_html_news_page_gives_the_article_paragraphs_at_their_lines() -> None:
    html = NEWS.read_text(encoding="utf-8")
    doc = parse(NEWS, NEWS.read_bytes(), Format.HTML)
    assert doc == Document(
        (_paragraph_block(html, NEWS_PARAGRAPHS),), "NATO verstärkt ihre Ostflanke", "2022-02-11"
    )
    # The paragraph wrapped over three lines of the file.
    assert doc.blocks[0].lines[6] == (30, 32)
    for word in BOILERPLATE:
        assert word not in doc.blocks[0].text
        assert word in html


def test_html_date_from_json_ld_and_title_from_the_title_element() -> None:
    json_ld = (
        '<script type="application/ld+json">\n'
        '{"@context": "https://schema.org", "@graph": [{"@type": "WebPage"},\n'
        ' {"@type": "NewsArticle", "headline": "NATO verstärkt ihre Ostflanke",\n'
        '  "datePublished": "2022-02-10T18:00:00Z"}]}\n'
        "</script>\n"
    )
    html = NEWS.read_text(encoding="utf-8").replace(OG_TITLE, "").replace(PUBLISHED, json_ld)
    assert _parse_html(html) == Document(
        (_paragraph_block(html, NEWS_PARAGRAPHS),),
        "Ostflanke: NATO verlegt Truppen | Tagesblatt",
        "2022-02-10",
    )


def test_html_date_found_by_htmldate_or_none() -> None:
    html = NEWS.read_text(encoding="utf-8")
    dated = html.replace(PUBLISHED, '<meta name="date" content="2022-02-09">\n')
    assert _parse_html(dated).date == "2022-02-09"
    assert _parse_html(html.replace(PUBLISHED, "")).date is None


def test_html_fragment_and_url() -> None:
    fragment = "<p>Ein Absatz allein, ohne Kopf und Körper,\nder trotzdem gelesen wird.</p>\n"
    assert _parse_html(fragment) == Document(
        (Block("Ein Absatz allein, ohne Kopf und Körper, der trotzdem gelesen wird.", ((1, 2),)),)
    )
    # htmldate would download a string that looks like a URL; qa gives it a parsed tree.
    with pytest.raises(UnreadableFile, match=r"^no article text found in the HTML file$"):
        _parse_html("https://example.org/artikel")


def test_html_finds_paragraphs_that_trafilatura_changed() -> None:
    html = (
        "<html><head><title>Quirks</title></head><body><article>\n"
        "<h1>Wie der Port gelang</h1>\n"
        "<p>Zuerst mussten alle Module sauber <code>import</code>ieren, bevor die Arbeit an\n"
        "den Tests beginnen konnte, sagte der Entwickler im Gespräch mit der Zeitung.</p>\n"
        "<p>Die Zahl der Soldaten <math><mi>N</mi><annotation encoding='application/x-tex'>"
        "{\\displaystyle N}</annotation></math> steigt nach Angaben der Allianz\n"
        "in den kommenden Wochen deutlich an, sagte ein Sprecher am Montag in Brüssel.</p>\n"
        "<ul>\n<li><h4>Frühwarnsystem</h4><p>Erkennt Raketenstarts früh.</p>\n"
        "<ul><li>Auch Drohnen.</li></ul></li>\n"
        "<li>Stra&szlig;e zur Gren<img src='x.png' alt=''>ze</li>\n</ul>\n"
        "<table><tr><th>Land und<br>Truppe</th><th>Zahl</th></tr>\n"
        "<tr><td>Rumänien</td><td>1000</td></tr></table>\n"
        "</article></body></html>\n"
    )
    assert _parse_html(html) == Document(
        (
            Block(
                "Wie der Port gelang\n\n"
                # trafilatura puts a space after inline code...
                "Zuerst mussten alle Module sauber import ieren, bevor die Arbeit an den Tests "
                "beginnen konnte, sagte der Entwickler im Gespräch mit der Zeitung.\n\n"
                # ... and a formula's TeX for its MathML.
                "Die Zahl der Soldaten \\({\\displaystyle N}\\) steigt nach Angaben der Allianz "
                "in den kommenden Wochen deutlich an, sagte ein Sprecher am Montag in Brüssel.\n\n"
                "Frühwarnsystem Erkennt Raketenstarts früh. Auch Drohnen.\n"
                "Straße zur Grenze\n\n"
                "Land und Truppe Zahl\n"
                "Rumänien 1000",
                (
                    *((2, 2), (2, 2), (3, 4), (3, 4), (5, 6), (5, 6)),
                    *((8, 9), (10, 10), (10, 10), (12, 12), (13, 13)),
                ),
            ),
        ),
        "Quirks",
        None,
    )


def test_html_paragraphs_out_of_order_are_sorted_and_repeated_ones_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    visible = _VisibleText()
    visible.feed(
        "<p>Mehr</p>\n<p>Erster Absatz hier.</p>\n<p>Mehr</p>\n<p>Zweiter &amp; letzter.</p>\n"
    )
    visible.close()
    # As trafilatura might give them: the second paragraph first, then a word that stands
    # twice before it, then one that stands once before it, then the second one again.
    paragraphs = [["Zweiter & letzter."], ["Mehr"], ["Erster Absatz hier."], ["Zweiter & letzter."]]
    with caplog.at_level(logging.WARNING, logger="qa"):
        block = _locate(Path("p.html"), paragraphs, visible)
    assert block == Block("Erster Absatz hier.\n\nZweiter & letzter.", ((2, 2), (2, 2), (4, 4)))
    assert caplog.messages == [
        "p.html: left out text not found in the HTML: 'Mehr'",
        "p.html: left out text not found in the HTML: 'Zweiter & letzter.'",
    ]
    with pytest.raises(UnreadableFile, match=r"^none of the article text was found"):
        _locate(Path("p.html"), [["Nirgends"]], visible)


@pytest.mark.parametrize(
    ("fmt", "data", "encoding", "reason"),
    [
        (
            Format.HTML,
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "utf-8",
            "binary data in an HTML file (it holds NUL bytes)",
        ),
        (
            Format.HTML,
            bytes(range(1, 256)) * 8,
            "latin-1",
            "binary data in an HTML file (it holds control characters)",
        ),
        (Format.HTML, b"\xff\xfe<html>", "utf-8", "an HTML file that does not decode as utf-8 ("),
        (
            Format.HTML,
            b"<html><body><nav><a href='/'>Start</a></nav></body></html>",
            "utf-8",
            "no article text found in the HTML file",
        ),
        (
            Format.MARKDOWN,
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "utf-8",
            "binary data in a Markdown file (it holds NUL bytes)",
        ),
        (
            Format.MARKDOWN,
            b"---\ntitle: Leer\n---\n\n```\n```\n",
            "utf-8",
            "no readable text in the Markdown file",
        ),
        (
            Format.PDF,
            b"<!DOCTYPE html>\n<html><body>PDF</body></html>",
            "utf-8",
            "not a PDF (it starts like HTML)",
        ),
        (
            Format.PDF,
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "utf-8",
            "not a PDF (it has no %PDF- header)",
        ),
        (
            Format.PDF,
            b"%PDF-1.7\n" + bytes(range(256)) + b"\n%%EOF\n",
            "utf-8",
            "a damaged PDF, or one without pages (PDFium cannot open it)",
        ),
    ],
)
def test_unreadable_files_say_why(fmt: Format, data: bytes, encoding: str, reason: str) -> None:
    with pytest.raises(UnreadableFile) as raised:
        parse(Path(f"a.{fmt}"), data, fmt, encoding)
    assert str(raised.value).startswith(reason)


def _pdf(pages: list[list[str] | None], info: str = "", trailer: str = "") -> bytes:
    """A minimal PDF: each page shows its lines in Helvetica, or (None) only an image.

    ``info`` is its document information dictionary, ``trailer`` more trailer entries.
    """
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]  # the page tree comes below
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    objects.append(
        b"<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray"
        b" /BitsPerComponent 8 /Length 4 >>\nstream\n\x00\xff\xff\x00\nendstream"
    )
    kids = []
    for lines in pages:
        if lines is None:
            content = b"q 400 0 0 400 100 200 cm /Im1 Do Q"
        else:
            shown = b" 0 -20 Td ".join(b"(%s) Tj" % line.encode("cp1252") for line in lines)
            content = b"BT /F1 12 Tf 72 720 Td " + shown + b" ET"
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R"
            b" /Resources << /Font << /F1 3 0 R >> /XObject << /Im1 4 0 R >> >> >>" % (len(objects))
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    entries = b"/Root 1 0 R " + trailer.encode("latin-1")
    if info:
        objects.append(info.encode("latin-1"))
        entries += b" /Info %d 0 R" % len(objects)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        entries,
        xref,
    )
    return bytes(out)


def test_pdf_pages_with_text_and_the_metadata() -> None:
    info = "<< /Title (Ostflanke: Lage) /CreationDate (D:20220315093000+01'00') >>"
    data = _pdf([None, ["Die Allianz schickt Soldaten.", "Nach Rumänien."]], info)
    assert parse(Path("a.pdf"), data, Format.PDF) == Document(
        (_identity("Die Allianz schickt Soldaten.\nNach Rumänien.", page=2),),
        "Ostflanke: Lage",
        "2022-03-15",
    )


# A user password that the empty one does not match.
ENCRYPT = (
    f"/Encrypt << /Filter /Standard /V 1 /R 2 /P -44 /O <{'11' * 32}> /U <{'22' * 32}> >>"
    f" /ID [<{'33' * 16}> <{'33' * 16}>]"
)


@pytest.mark.parametrize(
    ("pdf", "reason"),
    [
        (_pdf([None, None]), "a scanned PDF with no text layer; qa does no OCR"),
        (_pdf([]), "a damaged PDF, or one without pages (PDFium cannot open it)"),
        (_pdf([["Geheim."]], trailer=ENCRYPT), "an encrypted PDF (it needs a password)"),
    ],
)
def test_pdf_without_text(pdf: bytes, reason: str) -> None:
    with pytest.raises(UnreadableFile) as raised:
        parse(Path("a.pdf"), pdf, Format.PDF)
    assert str(raised.value) == reason


def test_pdf_printed_by_chromium_has_a_block_per_page(
    chromium_pdf: tuple[bytes, set[str]],
) -> None:
    data, days = chromium_pdf
    doc = parse(Path("a.pdf"), data, Format.PDF)
    assert doc.blocks == (
        _identity("Erste Seite\nDie Allianz schickt Soldaten.\nEin zweiter Absatz.", page=1),
        _identity("Zweite Seite\nDer Kreml nannte es eine „Provokation“.", page=2),
    )
    assert doc.title == "Zwei Seiten über die Ostflanke"
    assert doc.date in days  # Chromium dates the PDF when it prints it, in UTC


def test_truncated_pdf(chromium_pdf: tuple[bytes, set[str]]) -> None:
    data, _ = chromium_pdf
    with pytest.raises(UnreadableFile, match=r"^a truncated PDF"):
        parse(Path("a.pdf"), data[: len(data) // 2], Format.PDF)


def test_markdown_numbers_that_wrap_into_a_line_are_no_list() -> None:
    text = "Am Montag, dem\n8. Oktober, begann es.\n\n1. erstens\n2. zweitens\n"
    block = parse(Path("a.md"), text.encode(), Format.MARKDOWN).blocks[0]
    assert block.text.split("\n") == [
        "Am Montag, dem",
        "8. Oktober, begann es.",
        "",
        "erstens",
        "zweitens",
        "",
    ]
