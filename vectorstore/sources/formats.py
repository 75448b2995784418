"""Reading article files of each supported format as text that cites the file's own lines.

``parse`` turns a file into ``Block``s of readable text (paragraphs separated by blank
lines, no markup), each line of which knows the lines of the file that hold it, so that a
passage found in the readable text is cited at its place in the file:

- Plain text (``.txt``) is its own readable text, line for line.
- Markdown (``.md``, ``.markdown``) keeps its lines: readable line *i* is file line *i*
  with the markup taken out, and front matter and code-fence markers become blank lines.
  Headings thus become the short lines that the chunker takes as headings.
- HTML (``.html``, ``.htm``): trafilatura finds the article's main text (no navigation,
  scripts, banners or related links); each of its paragraphs is one readable line, which
  is then found in the file's visible text with a cursor that only moves forward. A
  paragraph that cannot be found there is left out with a warning rather than cited at
  a wrong line.
- PDF (``.pdf``): one block per page with text, as PDFium extracts it, cited by page
  and line of that text. qa does no OCR: a PDF without a text layer is unreadable.

The title and date of an article come from the format's metadata: Markdown front matter,
HTML ``og:title``/``<title>`` and ``article:published_time``/JSON-LD ``datePublished``,
the PDF's Title and CreationDate, or the first lines of a text file (``txt_metadata``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from vectorstore.kinds import Format, PassageKind
from vectorstore.sources.chunking import _classify, _paragraphs

__all__ = [
    "SUFFIXES",
    "Block",
    "Document",
    "Format",
    "UnreadableFile",
    "format_of",
    "parse",
    "txt_metadata",
]

log = logging.getLogger("qa")


SUFFIXES: dict[str, Format] = {
    ".txt": Format.TXT,
    ".md": Format.MARKDOWN,
    ".markdown": Format.MARKDOWN,
    ".html": Format.HTML,
    ".htm": Format.HTML,
    ".pdf": Format.PDF,
}

# What each text format is called in messages.
_KIND = {Format.TXT: "a text file", Format.MARKDOWN: "a Markdown file", Format.HTML: "an HTML file"}


@dataclass(frozen=True)
class Block:
    """Readable text of one part of a file (a PDF page, or the whole of another file).

    Attributes:
        text: The readable text: paragraphs separated by blank lines, no markup.
        lines: One ``(first, last)`` per line of ``text`` (blank lines too): the 1-based lines
            of the file (of a PDF: of the page's extracted text, which is ``text``) that
            hold that line's text. A blank line between paragraphs has the pair of the
            line before it, or ``(1, 1)`` at the start.
        page: The 1-based page of a PDF; None for other formats.
    """

    text: str
    lines: tuple[tuple[int, int], ...]
    page: int | None = None


@dataclass(frozen=True)
class Document:
    """An article as read from its file.

    Attributes:
        blocks: Its readable text, in file order.
        title: Its title, if the file says it.
        date: Its date as ISO ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``, as precise as the
            file says it.
    """

    blocks: tuple[Block, ...]
    title: str | None = None
    date: str | None = None


class UnreadableFile(Exception):
    """A file that holds no readable article; the message says why."""


def format_of(path: str | Path) -> Format | None:
    """Returns the format of a file by its suffix (any case), or None if unsupported."""
    return SUFFIXES.get(Path(path).suffix.lower())


def parse(path: Path, data: bytes, fmt: Format, encoding: str = "utf-8") -> Document:
    """Reads an article file as readable text with the file lines of each of its lines.

    Args:
        path: The file, for messages.
        data: Its bytes.
        fmt: Its format (see ``format_of``).
        encoding: The encoding its bytes decode with (``sources.scan`` finds it); not used
            for PDF.

    Returns:
        The article: one block (one a page with text for PDF), title and date.

    Raises:
        UnreadableFile: If the file holds binary data, no text, or is damaged; the
            message says which.
    """
    if fmt == Format.PDF:
        return _parse_pdf(data)
    text = _decode(data, encoding, fmt)
    if fmt == Format.TXT:
        title, date = txt_metadata(text)
        return Document((_identity_block(text),), title, date)
    if fmt == Format.MARKDOWN:
        return _parse_markdown(path, text)
    return _parse_html(path, text)


def _decode(data: bytes, encoding: str, fmt: Format) -> str:
    """Decodes a text format, refusing binary data."""
    if b"\x00" in data:
        raise UnreadableFile(f"binary data in {_KIND[fmt]} (it holds NUL bytes)")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"{_KIND[fmt]} that does not decode as {encoding} ({exc})") from exc
    if len(_CONTROL.findall(text)) > len(text) * _MAX_CONTROL_SHARE:
        raise UnreadableFile(f"binary data in {_KIND[fmt]} (it holds control characters)")
    return text


# Control characters that text does not hold (tabs, line and page breaks are fine).
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_MAX_CONTROL_SHARE = 0.01


def _identity_block(text: str, page: int | None = None) -> Block:
    """A block whose readable line *i* is line *i* of the file (or page)."""
    return Block(text, tuple((i, i) for i in range(1, text.count("\n") + 2)), page)


# --- dates ------------------------------------------------------------------------------

# An ISO date as precise as it is given: year, year and month, or a full date.
_ISO_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?!\d)")


def _iso_date(value: object) -> str | None:
    """Returns a date or datetime, or a string starting with an ISO date, as ISO text.

    A string keeps its precision (``"2022-01"`` stays a month); an impossible date
    (``"2022-13-01"``) is None.
    """
    if isinstance(value, dt.date):  # a datetime is a date too
        return value.isoformat()[:10]
    if not isinstance(value, str) or not (match := _ISO_DATE.match(value.strip())):
        return None
    year, month, day = match.groups()
    try:
        dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None
    return "-".join(part for part in (year, month, day) if part)


# --- plain text -------------------------------------------------------------------------

# "date 2022-01" or "Date 2022-01-15" at the very start of an article.
_TXT_DATE = re.compile(r"\s*date\s+(\d{4}-\d{2}(?:-\d{2})?)(?!\d)", re.IGNORECASE)
# Enough of the beginning to hold a heading-shaped first paragraph (at most 80 characters).
_TXT_HEAD_CHARS = 4096


def txt_metadata(text: str) -> tuple[str | None, str | None]:
    """Returns the title and date that a plain-text article states at its beginning.

    The date is a leading ``date YYYY-MM`` or ``date YYYY-MM-DD`` (any case, after
    optional white space). The title is the first paragraph after it when the chunker
    takes that paragraph for a heading (a short single line without a sentence end).

    Args:
        text: The article, or at least its first few thousand characters.

    Returns:
        ``(title, date)``, each None if the text does not state it.
    """
    date = None
    text = text.removeprefix("\ufeff")
    if match := _TXT_DATE.match(text):
        date = _iso_date(match[1])
        text = text[match.end() :]
    head = text[:_TXT_HEAD_CHARS]
    spans = _paragraphs(head)
    if spans:
        first = head[spans[0][0] : spans[0][1]]
        if _classify(first) is PassageKind.HEADING:
            return first, date
    return None, date


# --- Markdown ---------------------------------------------------------------------------

_FRONT_MATTER_OPEN = re.compile(r"---[ \t]*")
_FRONT_MATTER_CLOSE = re.compile(r"(?:---|\.\.\.)[ \t]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
_SETEXT_OR_RULE = re.compile(r" {0,3}(?:=+|-+|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})[ \t]*")
_BLOCKQUOTE = re.compile(r"^[ \t]*(?:>[ \t]?)+")
_LIST_MARKER = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?")
# An ordered-list marker other than 1, which cannot interrupt a paragraph (CommonMark).
_LATER_ITEM = re.compile(r"[ \t]*(?!0*1[.)])\d{1,9}[.)]")
_REFERENCE_DEFINITION = re.compile(r" {0,3}\[[^\]^][^\]]*\]:[ \t]*\S+.*")
_FOOTNOTE_DEFINITION = re.compile(r"^ {0,3}\[\^[^\]]+\]:[ \t]*")
_TABLE_SEPARATOR = re.compile(r"[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*")
# A backslash escapes ASCII punctuation; escaped characters stand in the private use area
# while markup is removed, so that they never count as markup.
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_PRIVATE = 0xE000
_CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)")
# Inline markup outside code spans, removed in this order: each pattern's text is kept.
_INLINE = [
    (re.compile(r"!\[([^\]]*)\]\((?:[^()]|\([^()]*\))*\)"), r"\1"),  # image
    (re.compile(r"!?\[([^\]]*)\]\[[^\]]*\]"), r"\1"),  # reference link or image
    (re.compile(r"\[([^\]]*)\]\((?:[^()]|\([^()]*\))*\)"), r"\1"),  # link
    (re.compile(r"<((?:https?|ftp|mailto):[^<>\s]+|[^<>\s@]+@[^<>\s@]+\.\w+)>"), r"\1"),
    (re.compile(r"<!--.*?-->|</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>"), ""),  # HTML
    (re.compile(r"\[\^[^\]]+\]"), ""),  # footnote reference
    (re.compile(r"\*\*\*(?=\S)(.+?)(?<=\S)\*\*\*"), r"\1"),
    (re.compile(r"(?<!\w)___(?=\S)(.+?)(?<=\S)___(?!\w)"), r"\1"),
    (re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"), r"\1"),
    (re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)"), r"\1"),
    (re.compile(r"(?<!\*)\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?!\*)"), r"\1"),
    (re.compile(r"(?<!\w)_(?=[^\s_])(.+?)(?<=[^\s_])_(?!\w)"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
]


def _parse_markdown(path: Path, text: str) -> Document:
    """Reads Markdown line for line: readable line *i* is file line *i* without markup."""
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    meta, body_start = _front_matter(path, lines)
    out = [""] * body_start
    title = meta.get("title")
    separators, rows = _tables(lines, body_start)
    fence = ""  # the marker of the open code fence
    for i in range(body_start, len(lines)):
        line = lines[i]
        if fence:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence, line = "", ""
        elif match := _FENCE.match(line):
            fence, line = match[1], ""
        elif i in separators:
            line = ""
        elif i in rows:
            line = " ".join(
                _inline(cell).strip() for cell in _escape(line).strip("| \t").split("|")
            )
        else:
            raw_previous = lines[i - 1] if i > body_start else ""
            line, heading = _markdown_line(line, out[-1] if out else "", raw_previous)
            title = title or heading or None
        out.append(line)
    readable = "\n".join(out)
    if not readable.strip():
        raise UnreadableFile("no readable text in the Markdown file")
    return Document((_identity_block(readable),), title, _iso_date(meta.get("date")))


def _front_matter(path: Path, lines: list[str]) -> tuple[dict[str, Any], int]:
    """Returns the front matter's title and date, and the first line after it."""
    if not lines or not _FRONT_MATTER_OPEN.fullmatch(lines[0]):
        return {}, 0
    end = next((i for i in range(1, len(lines)) if _FRONT_MATTER_CLOSE.fullmatch(lines[i])), 0)
    if not end:
        return {}, 0  # a thematic break, not front matter
    try:
        meta = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        log.warning("%s: its front matter is not YAML (%s); ignored it", path, exc)
        meta = None
    found: dict[str, Any] = {}
    if isinstance(meta, dict):
        title = meta.get("title")
        if title is not None and str(title).strip():
            found["title"] = " ".join(str(title).split())
        found["date"] = meta.get("date")
    return found, end + 1


def _tables(lines: list[str], start: int) -> tuple[set[int], set[int]]:
    """Returns the indexes of table separator rows and of the other table rows."""
    separators: set[int] = set()
    rows: set[int] = set()
    for i in range(start + 1, len(lines)):
        if _TABLE_SEPARATOR.fullmatch(lines[i]) and "|" in lines[i - 1]:
            separators.add(i)
            rows.add(i - 1)
            j = i + 1
            while j < len(lines) and "|" in lines[j] and lines[j].strip():
                rows.add(j)
                j += 1
    return separators, rows - separators


def _markdown_line(line: str, previous: str, raw_previous: str = "") -> tuple[str, str]:
    """Returns a line without block and inline markup, and the text of a top heading.

    Args:
        line: The line of the file.
        previous: The readable text of the line before it.
        raw_previous: The line before it as it stands in the file.

    Returns:
        The readable line, and the text of the level-1 heading that the line makes (as
        ``# Title``, or as the ``===`` under ``previous``), else "".
    """
    if _SETEXT_OR_RULE.fullmatch(line):
        return "", previous if line.strip()[0] == "=" else ""
    if _REFERENCE_DEFINITION.fullmatch(line):
        return "", ""
    line = _FOOTNOTE_DEFINITION.sub("", line, count=1)
    line = _BLOCKQUOTE.sub("", line, count=1)
    if heading := _ATX_HEADING.fullmatch(line):
        text = _inline(_escape(heading[2] or "")).strip()
        return text, text if len(heading[1]) == 1 else ""
    marker = _LIST_MARKER.match(line)
    if marker and previous and not _LIST_MARKER.match(raw_previous) and _LATER_ITEM.match(line):
        marker = None  # "8. Oktober" in a wrapped paragraph: only "1." starts a list there
    return _inline(_escape(line[marker.end() :] if marker else line)).strip(), ""


def _escape(line: str) -> str:
    """Puts escaped punctuation into the private use area (``_inline`` restores it)."""
    return _ESCAPED.sub(lambda m: chr(_PRIVATE + ord(m[1])), line)


def _inline(line: str) -> str:
    """Removes inline markup from a line, leaving code spans' text as it is."""
    parts, pos = [], 0
    for code in _CODE_SPAN.finditer(line):
        parts.append(_strip_inline(line[pos : code.start()]))
        parts.append(code[2].strip())
        pos = code.end()
    parts.append(_strip_inline(line[pos:]))
    return re.sub("[\ue000-\ue07f]", lambda m: chr(ord(m[0]) - _PRIVATE), "".join(parts))


def _strip_inline(text: str) -> str:
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return text


# --- HTML -------------------------------------------------------------------------------

# Elements whose text a reader does not see.
_HIDDEN = frozenset({"script", "style", "template", "noscript", "title"})
# Elements that do not separate words ("Stra<b>ß</b>e" is one word): every other tag does.
_INLINE_TAGS = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i"}
    | {"img", "ins", "kbd", "mark", "picture", "q", "s", "samp", "small", "source", "span"}
    | {"strong", "sub", "sup", "time", "tt", "u", "var", "wbr"}
)
_DATE_META = ("article:published_time", "datepublished")
# Characters that are not seen: soft hyphen, zero-width spaces and joiners, BOM.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")
_NON_WORD = re.compile(r"[\W_]+")


def _words(text: str) -> str:
    """Text reduced to what survives any extractor: lowercase words, one space between."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", _INVISIBLE.sub("", text)).casefold())


class _VisibleText(HTMLParser):
    """Walks an HTML file: its visible words with their lines, and its metadata.

    ``words`` is the visible text as ``_words`` makes it, starting and ending with a space;
    ``line_of`` gives the file line of one of its characters.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts = [" "]
        self._starts = [0]  # offset in ``words`` of each part
        self._lines = [1]  # file line of each part
        self._length = 1
        self._hidden: list[str] = []  # open hidden elements
        self._json_ld: list[str] | None = None  # text of an open JSON-LD script
        self._title: list[str] | None = None  # text of the open <title>
        self._body = False
        self.meta: dict[str, str] = {}
        self.title = ""
        self.json_ld: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Notes metadata, hidden elements and word breaks."""
        attributes = dict(attrs)
        if tag == "meta":
            key = attributes.get("property") or attributes.get("name") or attributes.get("itemprop")
            if key and attributes.get("content"):
                self.meta.setdefault(key.lower(), attributes["content"] or "")
        elif tag == "body":
            self._body = True
        if tag in _HIDDEN:
            self._hidden.append(tag)
            if tag == "script" and (attributes.get("type") or "").lower() == "application/ld+json":
                self._json_ld = []
            elif tag == "title" and not self._body and not self.title:
                self._title = []
        elif tag not in _INLINE_TAGS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        """Closes hidden elements; any other tag but an inline one breaks words."""
        if self._hidden and tag == self._hidden[-1]:
            self._hidden.pop()
            if self._json_ld is not None:
                self.json_ld.append("".join(self._json_ld))
                self._json_ld = None
            if self._title is not None:
                self.title = " ".join("".join(self._title).split())
                self._title = None
        elif tag not in _INLINE_TAGS:
            self._break()

    def handle_data(self, data: str) -> None:
        """Adds visible text, line by line, or collects the text of metadata elements."""
        if self._hidden:
            for collector in (self._json_ld, self._title):
                if collector is not None:
                    collector.append(data)
            return
        if data.isspace():
            self._break()
            return
        line = self.getpos()[0]
        for i, piece in enumerate(data.split("\n")):
            if i:
                self._break()
            self._add(_words(piece), line + i)

    def _break(self) -> None:
        """Separates words (its line does not matter: no span starts or ends on a space)."""
        self._add(" ", self._lines[-1])

    def _add(self, piece: str, line: int) -> None:
        if piece.startswith(" ") and self._parts[-1].endswith(" "):
            piece = piece[1:]
        if piece:
            self._parts.append(piece)
            self._starts.append(self._length)
            self._lines.append(line)
            self._length += len(piece)

    def words(self) -> str:
        """Returns the visible words, after ``close``."""
        return "".join(self._parts) + ("" if self._parts[-1].endswith(" ") else " ")

    def line_of(self, offset: int) -> int:
        """Returns the file line of the character at ``offset`` of ``words()``."""
        return self._lines[bisect.bisect_right(self._starts, offset) - 1]


def _parse_html(path: Path, text: str) -> Document:
    """Reads the main text of an HTML article, each paragraph cited at its file lines."""
    # Imported here: trafilatura and htmldate take a third of a second to load.
    import htmldate
    import trafilatura

    visible = _VisibleText()
    visible.feed(text)
    visible.close()
    # A tree, never a string: given a string that looks like a URL, htmldate downloads it.
    tree = trafilatura.load_html(text)
    if tree is None:  # trafilatura takes a fragment ("<p>…</p>" alone) for no HTML
        tree = trafilatura.load_html(f"<html><body>{text}</body></html>")
    extracted = trafilatura.bare_extraction(
        tree,
        favor_precision=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_formatting=False,
        include_links=False,
    )
    paragraphs = list(_paragraph_lines(extracted.body)) if extracted is not None else []
    if not paragraphs:
        raise UnreadableFile("no article text found in the HTML file")
    block = _locate(path, paragraphs, visible)
    title = " ".join(visible.meta.get("og:title", "").split()) or visible.title or None
    date = next(filter(None, map(_iso_date, map(visible.meta.get, _DATE_META))), None)
    date = date or _json_ld_date(visible.json_ld)
    if date is None:
        date = htmldate.find_date(tree, extensive_search=False, original_date=True)
    return Document((block,), title, date)


def _paragraph_lines(body: Any) -> Iterator[list[str]]:
    """Yields trafilatura's paragraphs, each as its readable lines.

    A paragraph or heading is one line (its line breaks become spaces); a list is one
    paragraph with a line per item (holding its sublists), a table one with a line per
    row, preformatted code one with its own lines.
    """
    for element in body:
        if element.tag == "list":
            lines = [_flat(item) for item in element.iterchildren("item")]
        elif element.tag == "table":
            rows = element.iterchildren("row")
            lines = [" ".join(_flat(cell) for cell in row.iterchildren("cell")) for row in rows]
        elif element.tag == "code":
            lines = [line.strip() for line in "".join(element.itertext()).split("\n")]
        elif element.tag == "quote" and any(child.tag in ("p", "list") for child in element):
            yield from _paragraph_lines(element)
            continue
        else:
            lines = [_flat(element)]
        if lines := [line for line in lines if line]:
            yield lines


def _flat(element: Any) -> str:
    """Returns an element's text on one line, without invisible characters.

    Elements inside it other than formatting and links (line breaks, the paragraphs of
    a list item or table cell) separate words: the element is changed for that.
    """
    for inner in element.iterdescendants():
        if inner.tag not in ("hi", "ref"):
            inner.text = " " + (inner.text or "")
            inner.tail = " " + (inner.tail or "")
    return " ".join(_INVISIBLE.sub("", "".join(element.itertext())).split())


def _locate(path: Path, paragraphs: list[list[str]], visible: _VisibleText) -> Block:
    """Finds each readable line in the visible text and builds the block in file order.

    trafilatura may put a paragraph out of the page's order (a sidebar box first); the
    paragraphs are sorted back into file order, so that a passage's lines go forward.
    """
    locator = _Locator(visible.words())
    located: list[list[tuple[int, str, tuple[int, int]]]] = []
    cursor = 0
    for lines in paragraphs:
        found = []
        for line in lines:
            needle = _words(line).strip()
            if not needle:
                continue
            span = locator.find(needle, cursor)
            if span is None:
                log.warning("%s: left out text not found in the HTML: %.60r", path, line)
                continue
            cursor = span[1]
            found.append((span[0], line, (visible.line_of(span[0]), visible.line_of(span[1] - 1))))
        if found:
            located.append(found)
    if not located:
        raise UnreadableFile("none of the article text was found in the HTML file")
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    for found in sorted(located, key=lambda found: found[0][0]):
        if out:
            out.append("")
            spans.append(spans[-1])
        for _, line, span in found:
            out.append(line)
            spans.append(span)
    return Block("\n".join(out), tuple(spans))


# A paragraph that differs from the page inside (trafilatura leaves out formulas, say) is
# found by its first and last words, if it has at least this many words...
_ANCHOR_WORDS = 3
_ANCHORED_MIN_WORDS = 8
# ... and its last words follow its first within this many characters per character of it.
_ANCHOR_SPREAD = 3


class _Locator:
    """Finds extracted text in the visible words of a page (see ``_words``).

    Offsets are those of the visible words; a span is ``(first, after last)``.
    """

    def __init__(self, words: str) -> None:
        self._words = words
        self._compact = words.replace(" ", "")
        self._positions = [i for i, c in enumerate(words) if c != " "]
        self._found: list[tuple[int, int]] = []

    def find(self, needle: str, cursor: int) -> tuple[int, int] | None:
        """Returns where ``needle`` (words, one space between) stands in the page.

        Tried in turn, each from ``cursor`` on: the words as they are; the letters without
        the spaces (trafilatura joins some words across tags, "WebIDEDevelop"); the first
        and last words (text left out inside). Failing that, anywhere in the page, the
        words or letters where they stand only once (trafilatura put them out of order).
        Text found before is not found again (trafilatura repeats a paragraph at times).

        Args:
            needle: The words to find.
            cursor: Where the previous text found ends.

        Returns:
            The span, or None if the needle is not there, stands only where text was found
            before, or is out of order and stands twice.
        """
        span = (
            self._exact(needle, cursor)
            or self._letters(needle, cursor)
            or self._anchored(needle, cursor)
            or self._unique(needle)
        )
        if span is None or any(a < span[1] and span[0] < b for a, b in self._found):
            return None
        self._found.append(span)
        return span

    def _unique(self, needle: str) -> tuple[int, int] | None:
        for method in (self._exact, self._letters):
            if (span := method(needle, 0)) is not None:
                return span if method(needle, span[0] + 1) is None else None
        return None

    def _exact(self, needle: str, start: int) -> tuple[int, int] | None:
        """The first span of ``needle``'s words that starts at ``start`` or later."""
        at = self._words.find(f" {needle} ", max(start - 1, 0))
        return None if at < 0 else (at + 1, at + 1 + len(needle))

    def _letters(self, needle: str, start: int) -> tuple[int, int] | None:
        letters = needle.replace(" ", "")
        at = self._compact.find(letters, bisect.bisect_left(self._positions, start))
        return None if at < 0 else self._span(at, at + len(letters))

    def _anchored(self, needle: str, start: int) -> tuple[int, int] | None:
        words = needle.split(" ")
        if len(words) < _ANCHORED_MIN_WORDS:
            return None
        head = self._exact(" ".join(words[:_ANCHOR_WORDS]), start)
        if head is None:
            return None
        tail = " ".join(words[-_ANCHOR_WORDS:])
        at = self._words.find(f" {tail} ", head[1], head[0] + _ANCHOR_SPREAD * len(needle))
        return None if at < 0 else (head[0], at + 1 + len(tail))

    def _span(self, first: int, after: int) -> tuple[int, int]:
        """The span of letters ``first`` to ``after - 1`` in the visible words."""
        return self._positions[first], self._positions[after - 1] + 1


def _json_ld_date(scripts: list[str]) -> str | None:
    """Returns the first ``datePublished`` in JSON-LD scripts, as an ISO date."""
    for script in scripts:
        try:
            data = json.loads(script)
        except json.JSONDecodeError:
            continue
        stack = [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, dict):
                if date := _iso_date(item.get("datePublished")):
                    return date
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
    return None


# --- PDF --------------------------------------------------------------------------------

_PDF_HEADER = b"%PDF-"
# A PDF's header is within its first 1024 bytes, and its last %%EOF within the last 1024.
_PDF_SLACK = 1024
_PDF_DATE = re.compile(r"(?:D:)?(\d{4})(\d{2})?(\d{2})?")


def _parse_pdf(data: bytes) -> Document:
    """Reads the text layer of a PDF, page by page."""
    import pypdfium2 as pdfium  # imported here: only PDFs need PDFium

    if _PDF_HEADER not in data[:_PDF_SLACK]:
        raise UnreadableFile(f"not a PDF ({_looks_like(data)})")
    if b"%%EOF" not in data[-_PDF_SLACK:]:
        raise UnreadableFile("a truncated PDF (it does not end with %%EOF)")
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        # PDFium's reason may be left over from an earlier file: say what the bytes show.
        if b"/Encrypt" in data:
            raise UnreadableFile("an encrypted PDF (it needs a password)") from exc
        raise UnreadableFile("a damaged PDF, or one without pages (PDFium cannot open it)") from exc
    try:
        blocks = []
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            text = textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
            text = text.replace("\ufffe", "-")  # PDFium's mark for a hyphen at a line break
            textpage.close()
            page.close()
            text = "\n".join(line.rstrip() for line in text.split("\n"))
            if text.strip():
                blocks.append(_identity_block(text, index + 1))
        meta = pdf.get_metadata_dict(skip_empty=True)
    finally:
        pdf.close()
    if not blocks:
        raise UnreadableFile("a scanned PDF with no text layer; qa does no OCR")
    title = " ".join(meta.get("Title", "").split()) or None
    match = _PDF_DATE.match(meta.get("CreationDate", "").strip())
    date = _iso_date("-".join(filter(None, match.groups()))) if match else None
    return Document(tuple(blocks), title, date)


def _looks_like(data: bytes) -> str:
    """Says what a file that is not a PDF starts like."""
    start = data[:_PDF_SLACK].lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "it starts like HTML"
    return "it has no %PDF- header"
