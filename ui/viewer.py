"""The source viewer: an indexed article's readable text, numbered, the cited lines marked.

It shows only what ``Index.source_lines`` gives for an indexed source (never markup or
scripts, never a file that is not in the index), escaped as :mod:`ui.render` escapes.
"""

from __future__ import annotations

from collections.abc import Sequence

import qa
from ui import texts
from ui.render import escape_text, format_error
from ui.texts import DEFAULT_LANGUAGE, Language

__all__ = ["format_source", "view_source"]


_VIEWER_CSS = """
.qa-viewer-head { font-weight: 600; margin-bottom: .4em; overflow-wrap: anywhere; }
.qa-article { position: relative; max-height: min(560px, 70vh); overflow: auto;
              border: 1px solid #d1d5db; border-radius: 6px;
              font-family: ui-monospace, monospace; font-size: .85em; }
.qa-line { display: flex; }
.qa-ln { flex: 0 0 3.5em; text-align: right; padding-right: .75em; color: #9ca3af;
         user-select: none; white-space: nowrap; }
.qa-spans .qa-ln { flex-basis: 7.5em; }
.qa-lt { flex: 1 1 auto; min-width: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.qa-cited { background: #fef3c7; }
.qa-cited .qa-ln { color: #92400e; font-weight: 700; }
.qa-cited .qa-lt { font-weight: 600; }
.qa-error { color: #b91c1c; font-weight: 600; }
.qa-note { color: #6b7280; }
"""

# Runs in the browser whenever the viewer's value changes: scroll the article box (and only
# it: the page stays where it is) so that the cited lines are in view, centred if they fit.
_VIEWER_JS = """
watch('value', () => {
  const box = element.querySelector('.qa-article');
  const cited = element.querySelectorAll('.qa-cited');
  if (!box || !cited.length) { return; }
  const top = cited[0].offsetTop;
  const height = cited[cited.length - 1].offsetTop + cited[cited.length - 1].offsetHeight - top;
  box.scrollTop = Math.max(0, top - Math.max(0, (box.clientHeight - height) / 2));
});
"""


def _separator(previous: qa.SourceLine | None, line: qa.SourceLine) -> bool:
    """Whether ``line`` only separates paragraphs: blank, on the lines of the one before.

    An HTML page's readable text has one line per paragraph and a blank line between
    them, which stands on no line of the file of its own.
    """
    return (
        not line.text
        and previous is not None
        and (previous.line_start, previous.line_end, previous.page)
        == (line.line_start, line.line_end, line.page)
    )


def _file_lines(line: qa.SourceLine) -> str:
    """The file lines a readable line stands on: ``30``, or ``30–32``."""
    if line.line_start == line.line_end:
        return str(line.line_start)
    return f"{line.line_start}\u2013{line.line_end}"


def format_source(
    source: str,
    lines: Sequence[qa.SourceLine],
    line_start: int,
    line_end: int,
    lang: Language = DEFAULT_LANGUAGE,
    page: int | None = None,
) -> str:
    """Formats an article's readable text, each line numbered, the cited lines emphasised.

    Each line carries the numbers of the file lines it stands on (as
    ``Index.source_lines`` gives them: an HTML paragraph may stand on ``30–32``); a line
    is cited when those overlap ``line_start``–``line_end``. Blank lines that only
    separate paragraphs get no number.

    Args:
        source: The source name, shown as the heading.
        lines: The article's readable lines (of one page, for a PDF).
        line_start: First cited line, 1-based inclusive.
        line_end: Last cited line, 1-based inclusive.
        lang: The UI language.
        page: The PDF page the lines are from, or None.

    Returns:
        HTML for the viewer; every cited line carries the class ``qa-cited`` and, as
        ``data-line``, the first file line it stands on.
    """
    rows, previous, one_to_one = [], None, True
    for line in lines:
        if _separator(previous, line):
            rows.append(
                '<div class="qa-line"><span class="qa-ln"></span>'
                '<span class="qa-lt">&#8203;</span></div>'
            )
            one_to_one = False
        else:
            cited = line.line_start <= line_end and line.line_end >= line_start
            cls = "qa-line qa-cited" if cited else "qa-line"
            one_to_one = one_to_one and line.line_start == line.line_end
            rows.append(
                f'<div class="{cls}" data-line="{line.line_start}">'
                f'<span class="qa-ln">{_file_lines(line)}</span>'
                f'<span class="qa-lt">{escape_text(line.text.rstrip(chr(13))) or "&#8203;"}'
                "</span></div>"
            )
        previous = line
    total = lines[-1].line_end if lines else 0
    if page is not None:
        where = texts.text(
            lang, "page_lines", page=page, start=line_start, end=line_end, total=total
        )
    elif one_to_one:
        where = texts.text(lang, "lines", start=line_start, end=line_end, total=total)
    else:
        where = texts.text(lang, "readable_lines", start=line_start, end=line_end)
    head = f'<div class="qa-viewer-head">{escape_text(source)} &#8212; {where}</div>'
    # Numbers such as "30–32" need a wider column.
    article = "qa-article" if one_to_one else "qa-article qa-spans"
    return f'<div class="qa-viewer">{head}<div class="{article}">{"".join(rows)}</div></div>'


def _viewer_placeholder(lang: Language) -> str:
    """The viewer's content before a citation is opened."""
    return f'<p class="qa-note">{texts.text(lang, "viewer_placeholder")}</p>'


def _article_lines(index: qa.Index, source: str, page: int | None = None) -> list[qa.SourceLine]:
    """An article's readable lines (of one PDF page), as ``Index.source_lines`` gives them.

    A final newline ends the last line; it does not start another.

    Raises:
        KeyError: If ``source`` is not indexed.
    """
    lines = index.source_lines(source, page)
    if len(lines) > 1 and not lines[-1].text:
        lines.pop()
    return lines


def view_source(
    index: qa.Index,
    source: str,
    line_start: int,
    line_end: int,
    lang: Language = DEFAULT_LANGUAGE,
    page: int | None = None,
) -> str:
    """Renders an indexed article for the viewer; anything not in the index is refused.

    The viewer shows the article's readable text (never markup or scripts), from
    ``Index.source_lines``: for a PDF, the text of the cited page.

    Args:
        index: The loaded index.
        source: A source name as cited.
        line_start: First cited line.
        line_end: Last cited line.
        lang: The UI language.
        page: The cited PDF page, or None.

    Returns:
        The viewer HTML, or an error message if ``source`` is not an indexed source.
    """
    refused = format_error(texts.text(lang, "error_not_indexed", source=repr(source)))
    if not isinstance(source, str) or source not in index.sources:
        return refused
    try:
        lines = _article_lines(index, source, page)
    except KeyError:
        return refused
    return format_source(source, lines, line_start, line_end, lang, page)
