"""The Gradio web UI of qa: a chat that answers with cited passages, and a source viewer.

Security model: every piece of text that comes from an article or from the user (questions,
passage texts, source names) is passed through :func:`escape_text` before it reaches the
browser. That function HTML-escapes it and turns every ASCII punctuation character into a
numeric character reference, so the result holds no HTML tag, no Markdown syntax, no LaTeX
delimiter and no template placeholder: it can only ever display as literal text. On top of
that the chatbot is configured with Markdown and LaTeX rendering off and HTML sanitising on,
so the only markup the browser sees is the handful of tags this module writes itself.

The chat keeps each session's conversation (the questions it answered) on the server in a
``gr.State`` and passes it to the search as ``history``, so follow-up questions work; a
choice of articles limits the search to them. Texts are German or English (see
:mod:`ui.texts`).

Other tools call the named endpoint ``/retrieve``. With ``mcp=True`` the app also offers
the MCP tools ``retrieve``, ``list_sources`` and ``read_lines`` (:func:`mcp_tools`), served
by Gradio's MCP server at ``/gradio_api/mcp/`` when launched with ``mcp_server=True``;
they are the only tools there, and a login protects them as it protects the rest.

With an upload folder (``qa serve --allow-upload DIR``) the chat page has an upload
control: :mod:`ui.upload` checks, saves and indexes the files. Either way the server
serves no file from disk, and without one it takes no uploads (:class:`_ServeNoFiles`).

This module holds no retrieval logic: it only calls the public ``qa`` API
(``Index.search``, ``Index.sources``, ``Index.source_info``, ``Index.source_lines``,
``Index.source_text``, ``Index.updated``, ``Index.generation``, ``Passage`` and
``qa.MIN_RELEVANCE``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import importlib.util
import inspect
import itertools
import json
import math
import os
import re
import string
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr
from gradio import utils as gr_utils
from gradio.components.api_component import Api
from gradio.route_utils import API_PREFIX
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

import qa
from ui import texts
from ui.texts import DEFAULT_LANGUAGE, Language
from ui.upload import ALLOWED_SUFFIXES, DEFAULT_MAX_UPLOAD_MB, Outcome, Refusal, Uploads

__all__ = [
    "DEFAULT_K",
    "MAX_K",
    "MAX_QUESTION_CHARS",
    "MAX_READ_LINES",
    "MCP_PATH",
    "ChatTurn",
    "QABlocks",
    "ToolError",
    "build_app",
    "chat_turn",
    "escape_text",
    "example_questions",
    "format_answer",
    "format_error",
    "format_overview",
    "format_question",
    "format_source",
    "format_upload",
    "launch",
    "mcp_tools",
    "retrieve",
    "source_pattern",
    "view_source",
]

DEFAULT_K = 5
MAX_K = 20
MAX_QUESTION_CHARS = qa.MAX_QUESTION_CHARS
_QUESTION_PREVIEW_CHARS = 300
_EXAMPLE_COUNT = 3  # examples derived from the index when none are given
_OPENING_WORDS = 10  # words of an article's opening sentence quoted in a derived example
_MIN_OPENING_WORDS = 5  # shorter lines (titles, datelines) are not an opening sentence
MAX_READ_LINES = 200  # lines one read_lines call returns at most
MCP_PATH = f"{API_PREFIX}/mcp"  # where Gradio serves MCP (streamable HTTP at MCP_PATH + "/")

# C0/C1 control characters other than tab and newline display as U+FFFD; CR is dropped.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Every ASCII punctuation character (this covers & < > " ' and all Markdown, LaTeX and
# template syntax) becomes a numeric character reference: the browser shows the character,
# no parser sees syntax.
_ENTITIES = str.maketrans({c: f"&#{ord(c)};" for c in string.punctuation})
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
_GLOB_CHARACTER = re.compile(r"([*?[])")
# The texts of ui.texts that label components (through Gradio's i18n, see _translations).
_LABELS = (
    "heading",
    "answers",
    "question_placeholder",
    "ask",
    "passages_per_answer",
    "only_articles",
    "only_articles_info",
    "clear",
    "open_citation",
    "upload_button",
)

CSS = """
.qa-answer, .qa-user { line-height: 1.5; }
.qa-intro { margin: 0 0 .5em 0; }
.qa-passage { border-left: 3px solid #9ca3af; padding: .25em 0 .25em .75em; margin: .6em 0; }
.qa-cite { font-size: .9em; margin-bottom: .25em; overflow-wrap: anywhere; }
.qa-cite code { font-weight: 600; }
.qa-meta { font-size: .85em; color: #4b5563; margin-bottom: .25em; overflow-wrap: anywhere; }
.qa-rank { font-weight: 700; margin-right: .35em; }
.qa-rel { display: inline-block; margin-left: .5em; padding: 0 .45em; border-radius: 999px;
          font-size: .85em; white-space: nowrap; background: #dcfce7; color: #166534; }
.qa-weak { border-left-style: dashed; color: #6b7280; }
.qa-weak .qa-rel { background: #f3f4f6; color: #6b7280; }
.qa-text { white-space: pre-wrap; overflow-wrap: anywhere; }
mark.qa-hl { background: #fde68a; color: inherit; font-weight: 700; padding: 0 .1em; }
.qa-weak mark.qa-hl { background: #f3f4f6; }
.qa-unanswered { margin: 0 0 .5em 0; padding: .4em .6em; border-radius: 6px; font-weight: 600;
                 background: #fffbeb; border: 1px solid #fcd34d; color: #92400e; }
.qa-candidates { margin: .5em 0 0 0; color: #6b7280; font-size: .9em; }
.qa-error { color: #b91c1c; font-weight: 600; }
.qa-note { color: #6b7280; }
.qa-overview { padding-top: 2.25em; }
.qa-overview p { margin: 0 0 .6em 0; }
.qa-label { font-weight: 700; }
.qa-upload p { margin: .3em 0; overflow-wrap: anywhere; }
.qa-added .qa-label { color: #166534; }
.qa-refused .qa-label { color: #b91c1c; }
@media (max-width: 640px) {
  #qa-heading h2 { font-size: 1.25em; margin-bottom: .25em; }
  #qa-heading p { font-size: .9em; }
}
"""

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

# Runs in the browser after each answer: scroll the chat (not the page) so that the latest
# question is at its top and the answer starts right below it.
_SHOW_LATEST_JS = """
() => {
  setTimeout(() => {
    const asked = document.querySelectorAll('#qa-chat .qa-user');
    const last = asked[asked.length - 1];
    let box = last && last.parentElement;
    while (box && !['auto', 'scroll'].includes(getComputedStyle(box).overflowY)) {
      box = box.parentElement;
    }
    if (!box || !box.closest('#qa-chat')) { return; }
    const offset = last.getBoundingClientRect().top - box.getBoundingClientRect().top;
    box.scrollTop += offset - 40;  // below the chat's label
  }, 50);
}
"""


def escape_text(text: str) -> str:
    """Returns ``text`` as inert HTML that displays exactly as the characters it holds.

    Control characters (other than tab and newline) are replaced, carriage returns dropped,
    and every ASCII punctuation character is written as a numeric character reference.
    Newlines are kept as newlines; callers decide how to display them.

    Args:
        text: Untrusted text from an article or a user.

    Returns:
        A string free of HTML tags, Markdown, LaTeX and template syntax.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("\ufffd", text)
    return text.translate(_ENTITIES)


def _lines_html(text: str) -> str:
    """Escapes ``text`` and keeps its line breaks as ``<br>``, giving one line of HTML."""
    return escape_text(text).replace("\n", "<br>")


def format_question(question: str, lang: Language = DEFAULT_LANGUAGE) -> str:
    """Formats the user's question for the chat: escaped, and shortened if very long.

    Args:
        question: The question as typed.
        lang: The UI language.

    Returns:
        One line of HTML.
    """
    if not question.strip():
        return f'<span class="qa-user qa-note">{texts.text(lang, "empty_question")}</span>'
    if len(question) > _QUESTION_PREVIEW_CHARS:
        shown = _lines_html(question[:_QUESTION_PREVIEW_CHARS])
        count = texts.text(lang, "characters", count=texts.format_number(len(question), lang))
        return f'<span class="qa-user">{shown}&#8230; <span class="qa-note">({count})</span></span>'
    return f'<span class="qa-user">{_lines_html(question)}</span>'


def format_error(message: str) -> str:
    """Formats an error message for the chat or the viewer, escaped.

    Args:
        message: A human-readable message.

    Returns:
        One line of HTML.
    """
    return f'<p class="qa-error">{_lines_html(message)}</p>'


def _passage_text_html(passage: qa.Passage) -> str:
    """The passage text, escaped, with its highlight span wrapped in ``<mark>``."""
    text = passage.text
    try:
        start, end = (int(x) for x in passage.highlight_span)
    except (TypeError, ValueError):
        return _lines_html(text)
    if not 0 <= start < end <= len(text):
        return _lines_html(text)
    return (
        _lines_html(text[:start])
        + f'<mark class="qa-hl">{_lines_html(text[start:end])}</mark>'
        + _lines_html(text[end:])
    )


def _relevance_html(relevance: float, lang: Language) -> str:
    """The passage's relevance as a percentage badge."""
    percent = str(round(min(max(relevance, 0.0), 1.0) * 100)) if math.isfinite(relevance) else "–"
    return f'<span class="qa-rel">{texts.text(lang, "relevance", percent=percent)}</span>'


def _meta_html(title: str | None, date: str | None) -> str:
    """The article's title and date (``Titel · 2022-01-15``), escaped; empty if it has neither."""
    shown = " \u00b7 ".join(escape_text(x) for x in (title, date) if x)
    return f'<div class="qa-meta">{shown}</div>' if shown else ""


def _answers(passage: qa.Passage) -> bool:
    """Whether the passage's relevance reaches ``qa.MIN_RELEVANCE`` (NaN does not)."""
    return passage.relevance >= qa.MIN_RELEVANCE


def format_answer(passages: Sequence[qa.Passage], lang: Language = DEFAULT_LANGUAGE) -> str:
    """Formats retrieved passages as one chat answer.

    Each passage shows its rank, its citation (``source:line_start-line_end``, for a PDF
    ``source:pPAGE:line_start-line_end``), its relevance, its article's title and date
    when it has them, and its text, with the sentence that best matches the question
    marked; passages below ``qa.MIN_RELEVANCE`` are greyed (class ``qa-weak``). When even
    the best one is below it, the answer says first that the articles do not seem to
    answer the question (class ``qa-unanswered``) and sets the passages apart as mere
    candidates. All text is escaped.

    Args:
        passages: The passages, best first.
        lang: The UI language.

    Returns:
        One line of HTML (no newlines, so the chatbot's dedenting cannot alter it).
    """
    if not passages:
        return f'<p class="qa-note">{texts.text(lang, "no_passages")}</p>'
    if _answers(passages[0]):
        intro = (
            texts.text(lang, "top_one")
            if len(passages) == 1
            else texts.text(lang, "top_many", count=len(passages))
        )
        parts = [f'<div class="qa-answer"><p class="qa-intro">{intro}</p>']
    else:
        parts = [
            '<div class="qa-answer">'
            f'<p class="qa-unanswered">{texts.text(lang, "not_answered")}</p>'
            f'<p class="qa-candidates">{texts.text(lang, "candidates")}</p>'
        ]
    for rank, passage in enumerate(passages, start=1):
        cls = "qa-passage" if _answers(passage) else "qa-passage qa-weak"
        parts.append(
            f'<div class="{cls}">'
            f'<div class="qa-cite"><span class="qa-rank">[{rank}]</span> '
            f"<code>{escape_text(passage.citation)}</code>"
            f"{_relevance_html(passage.relevance, lang)}</div>"
            f"{_meta_html(passage.title, passage.date)}"
            f'<div class="qa-text">{_passage_text_html(passage)}</div>'
            "</div>"
        )
    parts.append("</div>")
    return "".join(parts)


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


# How often an open page checks whether the server loaded a new generation.
_FOLLOW_SECONDS = 5.0


def format_overview(
    index: qa.Index, lang: Language = DEFAULT_LANGUAGE, with_examples: bool = True
) -> str:
    """Says what is indexed: articles, passages and when the index was last updated.

    Args:
        index: The loaded index.
        lang: The UI language.
        with_examples: Whether example questions follow (the text then points to them).

    Returns:
        HTML for the empty chat (it holds only numbers and a date, no article text).
    """
    articles, passages = len(index.sources), len(index)
    summary = texts.text(
        lang,
        "archive_summary",
        articles=texts.format_number(articles, lang),
        articles_noun=texts.text(lang, "article" if articles == 1 else "articles"),
        passages=texts.format_number(passages, lang),
        passages_noun=texts.text(lang, "passage" if passages == 1 else "passages"),
        updated=texts.format_date(index.updated, lang),
    )
    hint = texts.text(lang, "ask_or_pick_hint" if with_examples else "ask_hint")
    return (
        f'<div class="qa-overview"><p><span class="qa-label">{texts.text(lang, "archive")}</span> '
        f"{summary}</p><p>{hint}</p></div>"
    )


def _viewer_placeholder(lang: Language) -> str:
    """The viewer's content before a citation is opened."""
    return f'<p class="qa-note">{texts.text(lang, "viewer_placeholder")}</p>'


def _opening(article: str) -> str | None:
    """The start of an article's first sentence, or None if no line reads like one.

    Titles and datelines are skipped: the first line that starts with a capital letter and
    holds at least ``_MIN_OPENING_WORDS`` words is taken, cut to ``_OPENING_WORDS`` words.
    """
    for line in article.splitlines():
        words = line.split()
        if len(words) < _MIN_OPENING_WORDS or not words[0][0].isupper():
            continue
        words = _SENTENCE_END.split(" ".join(words), maxsplit=1)[0].rstrip(".!?").split()
        if len(words) <= _OPENING_WORDS:
            return " ".join(words)
        return " ".join(words[:_OPENING_WORDS]).rstrip(",;:") + " …"
    return None


def example_questions(index: qa.Index, count: int = _EXAMPLE_COUNT) -> list[str]:
    """Derives example questions from the index: where one article's opening stands.

    The answer to such a question is a citation, which is what qa gives. The articles are
    taken in the order of ``index.sources`` (sorted), so the examples are the same on
    every start. The questions are German, like the articles they quote.

    Args:
        index: The loaded index.
        count: How many examples at most.

    Returns:
        Up to ``count`` questions such as ``Wo steht „Der Präsident hat am Mittwoch …“?``.
    """
    questions: list[str] = []
    for source in index.sources:
        if len(questions) == count:
            break
        opening = _opening(index.source_text(source))
        if opening:
            questions.append(f"Wo steht „{opening}“?")
    return questions


def _check_examples(examples: Sequence[str]) -> list[str]:
    """Returns the example questions if each is a non-empty question of allowed length.

    Raises:
        ValueError: Naming the first bad example.
    """
    if isinstance(examples, str):
        raise ValueError("examples must be a list of questions, not one string")
    for number, example in enumerate(examples, 1):
        if not isinstance(example, str) or not example.strip():
            raise ValueError(f"example question {number} is empty or not text")
        if len(example) > MAX_QUESTION_CHARS:
            raise ValueError(
                f"example question {number} is too long ({len(example):,} characters; "
                f"at most {MAX_QUESTION_CHARS:,})"
            )
    return list(examples)


def _clean_question(question: Any) -> str:
    """Returns the question with control characters replaced by spaces.

    Emptiness and length are checked by ``qa`` itself, which raises ``ValueError``.

    Raises:
        ValueError: If the question is not a string.
    """
    if not isinstance(question, str):
        raise ValueError("The question must be text.")
    return _CONTROL.sub(" ", question.replace("\r", " "))


def _whole_number(value: Any, name: str, high: int | None = None) -> int:
    """Validates a whole number of at least 1 (and at most ``high``).

    Raises:
        ValueError: Naming ``name``, if ``value`` is not such a number.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number.") from None
    if not math.isfinite(number) or number != int(number):
        raise ValueError(f"{name} must be a whole number.")
    if number < 1:
        raise ValueError(f"{name} must be at least 1.")
    if high is not None and number > high:
        raise ValueError(f"{name} must be at most {high}.")
    return int(number)


def _clean_k(k: Any) -> int:
    """Validates the number of passages to return.

    Raises:
        ValueError: If ``k`` is not a whole number between 1 and ``MAX_K``.
    """
    return _whole_number(k, "k", MAX_K)


def source_pattern(source: str) -> str:
    """Returns a glob pattern that matches exactly the source name ``source``.

    ``*``, ``?`` and ``[`` become ``[*]``, ``[?]`` and ``[[]``; any other name is a pattern
    that matches only itself already.

    Args:
        source: A source name as cited, e.g. ``seeds/003_2a0abf6ffe095541.txt``.
    """
    return _GLOB_CHARACTER.sub(r"[\1]", source)


def _search(
    index: qa.Index,
    question: Any,
    k: Any,
    history: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[qa.Passage]:
    """Searches the index with the question and ``k`` checked as the UI's limits say.

    Raises:
        ValueError: For a bad question, ``k``, ``history``, ``sources`` or date bound.
        qa.QAError: If the index fails.
    """
    return index.search(
        _clean_question(question),
        k=_clean_k(k),
        history=() if history is None else history,
        sources=sources,
        since=since,
        until=until,
    )


def retrieve(
    index: qa.Index,
    question: str,
    k: int = DEFAULT_K,
    history: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[dict[str, Any]]:
    """Searches the index and returns the passages as JSON-safe dicts.

    Args:
        index: The loaded index.
        question: The question.
        k: How many passages to return.
        history: The earlier questions of the same conversation, oldest first, or None.
        sources: Glob patterns over source names (``"seeds/003_*"``): search only the
            sources matching one of them. None or empty: all.
        since: Only articles dated on or after this day (``YYYY[-MM[-DD]]``), or None.
        until: Only articles dated on or before this day (``YYYY[-MM[-DD]]``), or None.
            With either bound, articles without a date are left out.

    Returns:
        A list of dicts with the fields of ``qa.Passage.to_dict()``: source, line_start,
        line_end, text, score, relevance, highlight, page, title and date.

    Raises:
        ValueError: For an empty or over-long question, a bad ``k``, a bad ``history``,
            ``sources`` that are not patterns or of which one matches no source, or a
            date bound that is not a date.
        qa.QAError: If the index fails.
    """
    return [hit.to_dict() for hit in _search(index, question, k, history, sources, since, until)]


class ChatTurn(NamedTuple):
    """One answered (or refused) chat question.

    Attributes:
        answer: The answer's HTML.
        hits: The citations it shows: dicts with citation, source, line_start, line_end
            and page (empty on error).
        question: The question as searched, to pass as history with the next questions;
            None when it was not searched (empty, too long, an error).
    """

    answer: str
    hits: list[dict[str, Any]]
    question: str | None


def chat_turn(
    index: qa.Index,
    question: str,
    k: Any = DEFAULT_K,
    history: Sequence[str] = (),
    lang: Language = DEFAULT_LANGUAGE,
    sources: Sequence[str] | None = None,
) -> ChatTurn:
    """Answers one chat question, taking context from the conversation's earlier questions.

    Bad input (empty, over-long, bad ``k``, a pattern that matches no source) and index
    errors become an error message in the answer rather than an exception.

    Args:
        index: The loaded index.
        question: The question as typed.
        k: How many passages to show.
        history: The earlier questions of the conversation that were answered, oldest first.
        lang: The UI language.
        sources: Glob patterns over source names: answer only from the matching sources
            (:func:`source_pattern` turns a chosen name into one). None or empty: all.

    Returns:
        The answer, its citations and the question as searched.
    """
    try:
        question = _clean_question(question)
        k = _clean_k(k)
    except ValueError as exc:
        return ChatTurn(format_error(str(exc)), [], None)
    if not question.strip():
        return ChatTurn(format_error(texts.text(lang, "error_empty")), [], None)
    if len(question) > MAX_QUESTION_CHARS:
        count, limit = (texts.format_number(n, lang) for n in (len(question), MAX_QUESTION_CHARS))
        message = texts.text(lang, "error_too_long", count=count, limit=limit)
        return ChatTurn(format_error(message), [], None)
    try:
        passages = index.search(question, k=k, history=history, sources=sources)
    except (ValueError, qa.QAError) as exc:
        return ChatTurn(format_error(str(exc) or type(exc).__name__), [], None)
    hits = [
        {
            "citation": p.citation,
            "source": p.source,
            "line_start": p.line_start,
            "line_end": p.line_end,
            "page": p.page,
        }
        for p in passages
    ]
    return ChatTurn(format_answer(passages, lang), hits, question)


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


class ToolError(gr.Error):
    """A ``gr.Error`` whose ``str`` is its message, as MCP clients get it.

    Gradio's MCP server passes a failed tool's ``str(exception)`` on, and ``gr.Error``'s is
    the message's ``repr``, quotes and escapes included.
    """

    def __str__(self) -> str:
        return str(self.message)


def _tool_error(exc: Exception) -> ToolError:
    """The error an MCP tool raises for ``exc``, with its message (no traceback)."""
    return ToolError(str(exc) or type(exc).__name__, print_exception=False)


def _read(lines: Sequence[qa.SourceLine], line_start: int, line_end: int) -> list[qa.SourceLine]:
    """The readable lines that stand on file lines ``line_start``–``line_end``.

    Blank lines that only separate paragraphs are kept between two lines taken, not
    before the first or after the last.
    """
    taken, previous = [], None
    for line in lines:
        if line.line_start <= line_end and line.line_end >= line_start:
            taken.append((line, _separator(previous, line)))
        previous = line
    while taken and taken[0][1]:
        taken.pop(0)
    while taken and taken[-1][1]:
        taken.pop()
    return [line for line, _ in taken]


def mcp_tools(index: qa.Index) -> list[Callable[..., str]]:
    """Returns the MCP tools over ``index``: ``retrieve``, ``list_sources``, ``read_lines``.

    Gradio's MCP server names a tool after its function and describes it with the
    docstring (the text before ``Args:``, and one line per argument), so those are
    written for a language model deciding which tool to call. Each tool returns JSON text
    (MCP hands a result on as text) and raises :class:`ToolError` on bad input.

    Args:
        index: The loaded index.
    """

    def retrieve(
        question: str,
        k: int = DEFAULT_K,
        sources: list[str] | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> str:
        """Searches the indexed articles for the passages that best answer a question.

        Call it for any question the articles might answer; ask in German, English or
        another language. Returns a JSON list of passages, best first, each with citation
        ("source:line_start-line_end", or "source:pPAGE:line_start-line_end" for a PDF:
        cite it with whatever you take from the passage), source, line_start and line_end
        (line numbers from 1, inclusive), page (PDF only, else null), text (the readable
        text of those lines), highlight (the sentence that answers best), title and date
        of the article (ISO, or null), relevance and score. relevance (0 to 1) estimates
        the chance that the passage answers the question and is comparable across
        questions: when even the first passage is below {min_relevance}, the articles do not
        seem to answer the question, so say that rather than answer from the passages. score only
        orders the passages of one answer. Each call stands alone: name who or what a
        follow-up question is about. To read the lines around a passage, call read_lines;
        to search only some articles, pass sources; only some dates, since and/or until
        (articles without a date are then left out).

        Args:
            question: The question, self-contained, in plain words.
            k: How many passages to return, 1 to 20 (default 5).
            sources: Only these articles: names from list_sources or globs such as "seeds/003_*".
            since: Only articles dated on or after this day (YYYY-MM-DD, YYYY-MM or YYYY).
            until: Only articles dated on or before this day (YYYY-MM-DD, YYYY-MM or YYYY).
        """
        try:
            passages = _search(index, question, k, sources=sources, since=since, until=until)
        except (ValueError, qa.QAError) as exc:
            raise _tool_error(exc) from None
        found = [{**p.to_dict(), "citation": p.citation} for p in passages]
        return json.dumps(found, ensure_ascii=False)

    # The description names the threshold qa has (qa.MIN_RELEVANCE), whatever it is.
    retrieve.__doc__ = (retrieve.__doc__ or "").format(min_relevance=qa.MIN_RELEVANCE)

    def list_sources() -> str:
        """Lists the indexed articles, sorted by name, with their format, title and date.

        Returns a JSON list of {"source": name, "format": "txt", "md", "html" or "pdf",
        "title": title or null, "date": ISO date or null, "passages": count}. Call it to
        learn what the archive holds, or to find the names that retrieve's sources and
        read_lines take. Names are the ones citations start with.
        """
        listed = []
        for source in index.sources:
            info = index.source_info(source)
            listed.append(
                {
                    "source": source,
                    "format": info.format,
                    "title": info.title,
                    "date": info.date,
                    "passages": info.passages,
                }
            )
        return json.dumps(listed, ensure_ascii=False)

    def read_lines(source: str, line_start: int, line_end: int, page: int | None = None) -> str:
        """Reads lines of an indexed article, numbered from 1 as in citations.

        Use it to read the context of a passage that retrieve cited (a few lines before
        and after its line_start-line_end), or a whole short article; for a PDF, pass the
        page of its citation ("report.pdf:p3:12-15" is page 3, lines 12-15 of that page).
        Returns JSON {"source", "page", "line_start", "line_end", "total_lines", "text"}:
        text holds the readable text that stands on those lines, line by line (for an
        HTML page only its article text, one line per paragraph, never its markup).
        One call covers at most 200 lines: a range that is longer or runs past the
        article's end is cut short, and line_end says where the text stops; total_lines
        is the last line the article's text stands on. Only indexed articles can be read.

        Args:
            source: The article's name exactly as cited, e.g. "seeds/003_2a0abf6ffe095541.txt".
            line_start: The first line to read, from 1.
            line_end: The last line to read (inclusive).
            page: A PDF's page (from 1), as in its citations; leave it out for other formats.
        """
        if not isinstance(source, str) or source not in index.sources:
            message = f"{source!r} is not an indexed article; list_sources names them"
            raise ToolError(message, print_exception=False)
        try:
            start = _whole_number(line_start, "line_start")
            end = _whole_number(line_end, "line_end")
            if end < start:
                raise ValueError(f"line_end ({end}) must not be before line_start ({start}).")
            if index.source_info(source).format == "pdf":
                if page is None:
                    raise ValueError(
                        f"{source} is a PDF: give the page too, as its citations do "
                        "(source:pPAGE:line_start-line_end)."
                    )
                page = _whole_number(page, "page")
            elif page is not None:
                raise ValueError(f"{source} is not a PDF: leave page out.")
            lines = _article_lines(index, source, page)
            if not lines:
                raise ValueError(f"{source} has no page {page} with text.")
            total = lines[-1].line_end
            if start > total:
                raise ValueError(
                    f"line_start ({start}) is past the article's end: its text ends at "
                    f"line {total}."
                )
        except (ValueError, KeyError, qa.QAError) as exc:
            raise _tool_error(exc) from None
        end = min(end, total, start + MAX_READ_LINES - 1)
        read = {
            "source": source,
            "page": page,
            "line_start": start,
            "line_end": end,
            "total_lines": total,
            "text": "\n".join(line.text for line in _read(lines, start, end)),
        }
        return json.dumps(read, ensure_ascii=False)

    return [retrieve, list_sources, read_lines]


async def _logged_in(server: Any, connection: HTTPConnection) -> bool:
    """Whether a request carries a login that Gradio's app ``server`` accepts.

    That is the cookie Gradio's ``/login`` sets, or HTTP Basic credentials of one of its
    users (an MCP client can send a fixed header; it cannot fill in a login form).
    """
    cookies = (f"access-token-{server.cookie_id}", f"access-token-unsecure-{server.cookie_id}")
    if any(connection.cookies.get(name) in server.tokens for name in cookies):
        return True
    scheme, _, encoded = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    if not sep:
        return False
    if callable(server.auth):
        accepted = server.auth(user, password)
        return bool(await accepted if inspect.isawaitable(accepted) else accepted)
    expected = server.auth.get(user)
    return expected is not None and hmac.compare_digest(expected.encode(), password.encode())


def _login_required(inner: ASGIApp, server: Any) -> ASGIApp:
    """Wraps ``inner`` so that only requests with a login of Gradio's app ``server`` pass.

    Others get 401 (HTTP) or a closed connection (WebSocket).
    """

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if await _logged_in(server, HTTPConnection(scope)):
            await inner(scope, receive, send)
        elif scope["type"] == "http":
            refusal = JSONResponse(
                {"detail": "Not authenticated: send HTTP Basic credentials or the login cookie"},
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="qa"'},
            )
            await refusal(scope, receive, send)
        else:
            await send({"type": "websocket.close", "code": 1008})

    return guarded


_ORPHAN_UPLOADS = (900, 3600)  # Gradio's delete_cache: every 15 min, files older than 1 h
_UPLOAD_ROUTES = re.compile(rf"{re.escape(API_PREFIX)}/upload(?:_progress)?/?$")


class _ServeNoFiles:
    """ASGI middleware: no file from disk is served, and no upload taken unless allowed.

    Gradio serves files through ``/gradio_api/file=PATH`` (uploads among them); qa
    answers every such request with 403, whatever Gradio's own path rules would allow.
    Without an upload control, Gradio's upload routes answer 404 as well.

    Args:
        app: The app it guards.
        uploads: Whether the app takes uploads.
    """

    def __init__(self, app: ASGIApp, uploads: bool) -> None:
        self.app = app
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuses file and (without uploads) upload requests; passes on the others."""
        if scope["type"] == "http":
            path = scope["path"]
            if "/file=" in path:
                refusal = JSONResponse({"detail": "qa serves no files"}, status_code=403)
                await refusal(scope, receive, send)
                return
            if not self.uploads and _UPLOAD_ROUTES.search(path):
                await JSONResponse({"detail": "Not Found"}, status_code=404)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _with_defaults(block_fn: Any, inputs: list[Any]) -> list[Any]:
    """The inputs of a call, with the defaults of the trailing API parameters it left out.

    Only for ``gr.api`` endpoints (whose parameters are their inputs, in order), and only
    when every missing parameter has a default; other calls are returned as they are.
    """
    if len(inputs) >= len(block_fn.inputs) or not all(
        isinstance(block, Api) for block in block_fn.inputs
    ):
        return inputs
    missing = list(inspect.signature(block_fn.fn).parameters.values())[len(inputs) :]
    if len(inputs) + len(missing) != len(block_fn.inputs) or any(
        parameter.default is parameter.empty for parameter in missing
    ):
        return inputs
    return [*inputs, *(parameter.default for parameter in missing)]


class QABlocks(gr.Blocks):
    """A ``gr.Blocks`` whose ``launch`` never shares and serves nothing beyond the UI.

    It serves no file from disk (:class:`_ServeNoFiles`), and takes uploads only when it
    has an upload control.

    Attributes:
        translations: The UI's texts for Gradio's i18n, passed to ``launch``.
        mcp_endpoints: The MCP tools the app offers: tool name to API endpoint ("/name").
        upload_limit: The largest file the upload control takes, in bytes; None when the
            app has none (then Gradio's upload route answers 404).
    """

    translations: gr.I18n | None = None
    mcp_endpoints: dict[str, str] | None = None
    upload_limit: int | None = None

    def launch(self, *args: Any, mcp_server: bool = False, **kwargs: Any) -> Any:
        """Launches the app with qa's safe settings; refuses ``share=True``.

        Args:
            *args: Passed to ``gr.Blocks.launch``.
            mcp_server: Also serve the app's MCP tools (see :func:`build_app`'s ``mcp``) at
                ``/gradio_api/mcp/``, as the only tools there and behind the same login
                as the rest of the app.
            **kwargs: Passed to ``gr.Blocks.launch``; unset safety settings get qa's defaults.

        Returns:
            Whatever ``gr.Blocks.launch`` returns.

        Raises:
            ValueError: If a share link is requested, or MCP from an app without tools.
            ImportError: If MCP is requested and the ``mcp`` package is missing.
        """
        if args:
            raise TypeError("QABlocks.launch takes keyword arguments only")
        if kwargs.get("share"):
            raise ValueError("qa never creates a public share link")
        if mcp_server:
            if not self.mcp_endpoints:
                raise ValueError(
                    "this app has no MCP tools: build it with build_app(..., mcp=True)"
                )
            if importlib.util.find_spec("mcp") is None:
                raise ImportError("serving MCP needs the mcp package: pip install 'qa[mcp]'")
            kwargs["app_kwargs"] = {**(kwargs.get("app_kwargs") or {}), "lifespan": self._mcp}
        app_kwargs = kwargs.get("app_kwargs") or {}
        guard = Middleware(_ServeNoFiles, uploads=self.upload_limit is not None)
        kwargs["app_kwargs"] = {
            **app_kwargs,
            "middleware": [*app_kwargs.get("middleware", ()), guard],
        }
        kwargs["share"] = False
        kwargs["mcp_server"] = mcp_server
        for key, value in _launch_defaults(self.upload_limit).items():
            kwargs.setdefault(key, value)
        kwargs.setdefault("i18n", self.translations)
        return super().launch(**kwargs)

    async def preprocess_data(
        self, block_fn: Any, inputs: list[Any], state: Any, explicit_call: bool = False
    ) -> list[Any]:
        """Completes an API call that leaves out trailing parameters with their defaults.

        gradio_client sends every parameter, a plain HTTP call only those it lists:
        ``{"data": ["Wer kommentiert?", 3]}`` asks ``/retrieve`` with the default
        ``history`` and ``sources``, as such a call could before they were added.
        Gradio alone would refuse it for want of input values.

        Args:
            block_fn: The event's function (Gradio's ``BlockFunction``).
            inputs: The values the call sent.
            state: The session state.
            explicit_call: Passed to Gradio.

        Returns:
            The preprocessed inputs, as ``gr.Blocks.preprocess_data`` returns them.
        """
        inputs = _with_defaults(block_fn, inputs)
        return await super().preprocess_data(block_fn, inputs, state, explicit_call)

    @contextlib.asynccontextmanager
    async def _mcp(self, server: Any) -> AsyncIterator[None]:
        """Sets up Gradio's MCP server as qa needs it, when the app starts.

        This runs as the app's lifespan, before the server takes requests. Gradio (6.31)
        offers every public API endpoint as a tool, named after its function, so the
        ``/retrieve`` endpoint (a list for HTTP clients) would be one as well: the app's
        own tools become the only ones. And Gradio mounts MCP as a sub-application that
        its login does not cover: with a login, MCP requests must carry one too.

        Args:
            server: Gradio's app (a FastAPI app), whose login applies.
        """
        if self.mcp_server_obj is None:
            raise RuntimeError(f"Gradio's MCP server did not start: {self.mcp_error}")
        self.mcp_server_obj.tool_to_endpoint = dict(self.mcp_endpoints or {})
        if server.auth is not None:
            mount = next(r for r in server.routes if isinstance(r, Mount) and r.path == MCP_PATH)
            mount.app = _login_required(mount.app, server)
        yield


def _blocked_except(folder: Path) -> list[str]:
    """Gradio's ``blocked_paths`` for the whole file system but ``folder``.

    Each folder on the way from ``/`` to ``folder`` has all its entries blocked but the
    next one on the way (compared as Gradio compares them). Gradio reads uploads from its
    upload folder only if no blocked path covers it. Entries made later are not listed:
    Gradio serves them no more than any other file (and :class:`_ServeNoFiles` none).
    """
    way = [*reversed(Path(os.path.abspath(folder)).parents), Path(os.path.abspath(folder))]
    blocked = []
    for parent, keep in itertools.pairwise(way):
        with contextlib.suppress(OSError):
            blocked += [
                str(entry)
                for entry in parent.iterdir()
                if not gr_utils.is_in_or_equal(str(keep).lower(), str(entry).lower())
            ]
    return blocked


def _launch_defaults(upload_limit: int | None = None) -> dict[str, Any]:
    """Launch settings: no share link, no file serving, no telemetry, no extra endpoints.

    Args:
        upload_limit: The upload control's size limit in bytes, or None if it has none.
            With one, Gradio takes files that large and may read them from its upload
            folder (only it is left out of ``blocked_paths``); without, it takes none.
    """
    return {
        "ssr_mode": False,
        "quiet": True,  # Gradio's banner suggests share=True, which qa refuses
        "pwa": False,
        "enable_monitoring": False,
        "run_history": False,
        "footer_links": ["api"],
        "show_error": False,
        "allowed_paths": None,
        # The UI serves no files at all: nothing on disk is reachable through /file=
        # (_ServeNoFiles refuses that route, and no path is allowed).
        "blocked_paths": (
            ["/"] if upload_limit is None else _blocked_except(Path(gr_utils.get_upload_folder()))
        ),
        "max_file_size": "1kb" if upload_limit is None else upload_limit,
        "css": CSS,
        "theme": gr.themes.Default(
            font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
        ),
    }


def _upload_hint(limit: int, lang: Language) -> str:
    """What the upload control takes: the formats and the size limit."""
    hint = texts.text(lang, "upload_hint", limit=texts.format_megabytes(limit, lang))
    return f'<p class="qa-note">{hint}</p>'


def format_upload(outcomes: Sequence[Outcome], lang: Language, limit: int) -> str:
    """Says what became of uploaded files, each added or refused; all text escaped.

    An added file shows the name it is cited by, its number of passages, title and date;
    a refused one its name and why.

    Args:
        outcomes: What :meth:`ui.upload.Uploads.add` returned.
        lang: The UI language.
        limit: The size limit in bytes, for the reason a file was too large.

    Returns:
        HTML for the upload result.
    """
    if not outcomes:
        return f'<p class="qa-note">{texts.text(lang, "upload_none")}</p>'
    rows = []
    for outcome in outcomes:
        if outcome.info is not None:
            info = outcome.info
            noun = texts.text(lang, "passage" if info.passages == 1 else "passages")
            count = f"{texts.format_number(info.passages, lang)} {noun}"
            about = " \u00b7 ".join(escape_text(x) for x in (count, info.title, info.date) if x)
            label, name, note = "upload_added", info.source, about
        else:
            size = int(outcome.detail) if outcome.refusal is Refusal.TOO_LARGE else 0
            reason = texts.text(
                lang,
                f"refused_{outcome.refusal}",
                suffixes=", ".join(ALLOWED_SUFFIXES),
                size=texts.format_megabytes(size, lang),
                limit=texts.format_megabytes(limit, lang),
                detail=outcome.detail,
            )
            label, name, note = "upload_refused", outcome.name, escape_text(reason)
        cls = "qa-added" if outcome.info is not None else "qa-refused"
        rows.append(
            f'<p class="{cls}"><span class="qa-label">{texts.text(lang, label)}</span> '
            f"<code>{escape_text(name)}</code> &#8212; {note}</p>"
        )
    return f'<div class="qa-upload">{"".join(rows)}</div>'


def _received(files: Any) -> list[tuple[Path, str]]:
    """The uploaded files of an upload event: (path, name uploaded under) of each.

    Only files in Gradio's upload folder count (Gradio checked that already); anything
    else a client may claim is ignored, and never read or removed.
    """
    folder = Path(gr_utils.get_upload_folder()).resolve()
    received = []
    for item in files if isinstance(files, list) else [files]:
        path = item.get("path") if isinstance(item, dict) else None
        if not isinstance(path, str):
            continue
        where = Path(path).resolve()
        # Gradio keeps each upload in a folder of its own (named by a hash) in its folder.
        if where.parent == folder or not where.is_relative_to(folder):
            continue
        name = item.get("orig_name")
        received.append((where, name if isinstance(name, str) else where.name))
    return received


def _discard(path: Path, app: gr.Blocks) -> None:
    """Removes an upload (resolved, in Gradio's upload folder) and its folder if empty."""
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()
    app.upload_file_set.discard(str(path))


def _translations(index: qa.Index, with_examples: bool, upload_limit: int | None = None) -> gr.I18n:
    """The fixed texts for Gradio's i18n: English for English browsers, else German.

    Only the texts of components (``_LABELS``, and the upload control's with
    ``upload_limit``) go to the browser: every locale gets a copy, and the page's config
    carries them all.
    """
    by_language = {
        lang: {
            **{key: texts.text(lang, key) for key in _LABELS},
            "viewer_placeholder": _viewer_placeholder(lang),
            "overview": format_overview(index, lang, with_examples),
            **(
                {"upload_hint": _upload_hint(upload_limit, lang)}
                if upload_limit is not None
                else {}
            ),
        }
        for lang in texts.LANGUAGES
    }
    return gr.I18n(
        **{
            locale: by_language[Language.EN if locale == "en" else DEFAULT_LANGUAGE]
            for locale in texts.GRADIO_LOCALES
        }
    )


def _language(request: gr.Request | None) -> Language:
    """The UI language of the browser that sent ``request`` (German if unknown)."""
    headers = getattr(request, "headers", None)
    return texts.language(headers.get("accept-language") if headers is not None else None)


def build_app(
    index: qa.Index,
    examples: Sequence[str] | None = None,
    mcp: bool = False,
    upload_dir: str | os.PathLike[str] | None = None,
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB,
) -> QABlocks:
    """Builds the Gradio app over a loaded index.

    Args:
        index: The loaded ``qa.Index``.
        examples: Example questions the empty chat offers (a click asks one); default: a
            few derived from the index by :func:`example_questions`.
        mcp: Also offer the MCP tools of :func:`mcp_tools`, as the API endpoints
            ``/mcp_retrieve``, ``/mcp_list_sources`` and ``/mcp_read_lines``; launch with
            ``mcp_server=True`` to serve them over MCP.
        upload_dir: Offer an upload control that saves articles in this folder and
            indexes them into ``index`` (see :mod:`ui.upload`); None (default): none,
            and the app takes no uploads at all.
        max_upload_mb: The largest file the upload control takes, in MB (MiB).

    Returns:
        The app; call ``launch`` on it (or use :func:`launch`).

    Raises:
        ValueError: If an example is empty or longer than ``MAX_QUESTION_CHARS``, or
            ``max_upload_mb`` is not a whole number of at least 1.
    """
    examples = example_questions(index) if examples is None else _check_examples(examples)
    uploads = None
    if upload_dir is not None:
        limit = _whole_number(max_upload_mb, "max_upload_mb") * 2**20
        uploads = Uploads(index, upload_dir, limit)
    i18n = _translations(index, bool(examples), uploads.max_bytes if uploads else None)

    def respond(
        question: str,
        k: float,
        articles: list[str] | None,
        chat: list[dict[str, Any]] | None,
        conversation: list[str] | None,
        request: gr.Request,
    ) -> tuple[list[dict[str, Any]], str, list[dict[str, Any]], Any, str, list[str]]:
        lang = _language(request)
        question = question if isinstance(question, str) else ""
        conversation = list(conversation or [])
        sources = [source_pattern(article) for article in articles or []]
        turn = chat_turn(index, question, k, history=conversation, lang=lang, sources=sources)
        if turn.question is not None:
            conversation = [*conversation, turn.question][-qa.MAX_HISTORY_TURNS :]
        chat = [
            *(chat or []),
            {"role": "user", "content": format_question(question, lang)},
            {"role": "assistant", "content": turn.answer},
        ]
        choices = [(f"[{i}] {h['citation']}", h["citation"]) for i, h in enumerate(turn.hits, 1)]
        first = turn.hits[0]["citation"] if turn.hits else None
        viewer = _view(turn.hits, first, lang)
        return chat, "", turn.hits, gr.update(choices=choices, value=first), viewer, conversation

    def ask_example(
        k: float,
        articles: list[str] | None,
        chat: list[dict[str, Any]] | None,
        conversation: list[str] | None,
        event: gr.SelectData,
        request: gr.Request,
    ) -> tuple[list[dict[str, Any]], str, list[dict[str, Any]], Any, str, list[str]]:
        value = event.value if isinstance(event.value, dict) else {}
        return respond(value.get("text") or "", k, articles, chat, conversation, request)

    def _view(hits: list[dict[str, Any]], citation: str | None, lang: Language) -> str:
        if not citation:
            return _viewer_placeholder(lang)
        hit = next((h for h in hits or [] if h["citation"] == citation), None)
        if hit is None:
            return format_error(texts.text(lang, "error_not_cited"))
        return view_source(
            index, hit["source"], hit["line_start"], hit["line_end"], lang, hit.get("page")
        )

    def open_citation(citation: str | None, hits: list[dict[str, Any]], request: gr.Request) -> str:
        return _view(hits, citation, _language(request))

    def follow_index(shown: str | None, request: gr.Request) -> tuple[Any, Any, str]:
        """Updates the overview and the article choices when a new generation is loaded.

        ``qa serve`` follows the index (``Index.follow``); each page checks on load and
        then every few seconds, and changes nothing while the generation is the same.
        """
        generation = index.generation
        if generation == shown:
            return gr.skip(), gr.skip(), generation
        overview = format_overview(index, _language(request), bool(examples))
        return gr.update(placeholder=overview), gr.update(choices=list(index.sources)), generation

    def clear(request: gr.Request) -> tuple[list[Any], list[Any], Any, str, list[str]]:
        placeholder = _viewer_placeholder(_language(request))
        return [], [], gr.update(choices=[], value=None), placeholder, []

    # An upload that no event takes (a client may send files alone) is removed by Gradio
    # within an hour and a quarter, and any that are left when the server stops.
    cleanup = _ORPHAN_UPLOADS if uploads is not None else None
    with QABlocks(title="qa", analytics_enabled=False, delete_cache=cleanup) as app:
        gr.Markdown(i18n("heading"), elem_id="qa-heading")
        hits_state = gr.State([])
        conversation_state = gr.State([])  # the questions this conversation answered
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label=i18n("answers"),
                    elem_id="qa-chat",
                    height="min(560px, 60vh)",
                    autoscroll=False,  # _SHOW_LATEST_JS scrolls to the latest question
                    layout="panel",
                    render_markdown=False,
                    sanitize_html=True,
                    latex_delimiters=[],
                    allow_tags=False,
                    buttons=[],
                    feedback_options=None,
                    allow_file_downloads=False,
                    group_consecutive_messages=False,
                    placeholder=i18n("overview"),
                    examples=[{"text": example} for example in examples] or None,
                )
                with gr.Row():
                    question = gr.Textbox(
                        show_label=False,
                        placeholder=i18n("question_placeholder"),
                        elem_id="qa-question",
                        scale=5,
                        min_width=160,
                        lines=1,
                        max_lines=4,
                        autofocus=True,
                    )
                    ask = gr.Button(
                        i18n("ask"), variant="primary", elem_id="qa-ask", scale=1, min_width=80
                    )
                articles = gr.Dropdown(
                    choices=list(index.sources),
                    value=[],
                    multiselect=True,
                    label=i18n("only_articles"),
                    info=i18n("only_articles_info"),
                    interactive=True,
                    elem_id="qa-articles",
                )
                with gr.Row():
                    k = gr.Slider(
                        1,
                        MAX_K,
                        value=DEFAULT_K,
                        step=1,
                        label=i18n("passages_per_answer"),
                        elem_id="qa-k",
                    )
                    reset = gr.Button(i18n("clear"), elem_id="qa-clear", size="sm")
                if uploads is not None:
                    upload = gr.UploadButton(
                        i18n("upload_button"),
                        file_count="multiple",
                        file_types=list(ALLOWED_SUFFIXES),
                        elem_id="qa-upload",
                        size="sm",
                    )
                    upload_result = gr.HTML(i18n("upload_hint"), elem_id="qa-upload-result")
            with gr.Column(scale=2):
                citation = gr.Dropdown(
                    label=i18n("open_citation"),
                    choices=[],
                    value=None,
                    interactive=True,
                    elem_id="qa-citation",
                )
                viewer = gr.HTML(
                    i18n("viewer_placeholder"),
                    elem_id="qa-viewer",
                    css_template=_VIEWER_CSS,
                    js_on_load=_VIEWER_JS,
                    padding=True,
                )

        outputs = [chatbot, question, hits_state, citation, viewer, conversation_state]
        chat_io: dict[str, Any] = {"outputs": outputs, "api_visibility": "private"}
        ask_io = [k, articles, chatbot, conversation_state]
        for event in (
            question.submit(respond, [question, *ask_io], **chat_io),
            ask.click(respond, [question, *ask_io], **chat_io),
            chatbot.example_select(ask_example, ask_io, **chat_io),
        ):
            event.then(None, js=_SHOW_LATEST_JS)
        citation.input(open_citation, [citation, hits_state], viewer, api_visibility="private")
        shown_generation = gr.State(None)  # the generation the page's overview describes
        follow_io: dict[str, Any] = {
            "fn": follow_index,
            "inputs": [shown_generation],
            "outputs": [chatbot, articles, shown_generation],
            "api_visibility": "private",
            "show_progress": "hidden",
        }
        app.load(**follow_io)
        gr.Timer(_FOLLOW_SECONDS).tick(**follow_io)
        clear_io: dict[str, Any] = {
            "fn": clear,
            "inputs": None,
            "outputs": [chatbot, hits_state, citation, viewer, conversation_state],
            "api_visibility": "private",
        }
        reset.click(**clear_io)
        chatbot.clear(**clear_io)  # the chatbot's own trash button: a new conversation too
        if uploads is not None:

            def add_articles(files: Any, request: gr.Request) -> tuple[str, Any]:
                """Adds the uploaded files (Gradio's FileData dicts, unprocessed)."""
                received = _received(files)
                try:
                    outcomes = uploads.add(received)
                finally:
                    for path, _ in received:
                        _discard(path, app)
                page = format_upload(outcomes, _language(request), uploads.max_bytes)
                return page, gr.update(choices=list(index.sources))

            # Unprocessed: Gradio checks that each file is in its upload folder, but makes
            # no other copy of it; add_articles removes the one it has.
            upload.upload(
                add_articles,
                [upload],
                [upload_result, articles],
                preprocess=False,
                api_visibility="private",
                concurrency_limit=1,
            )

        def retrieve_api(
            question: str,
            k: int = DEFAULT_K,
            history: list[str] | None = None,
            sources: list[str] | None = None,
            since: str | None = None,
            until: str | None = None,
        ) -> list[dict[str, Any]]:
            """Returns the top-k passages for a question, best first.

            Each passage is {source, line_start, line_end, text, score, relevance,
            highlight, page, title, date}. relevance (0 to 1) estimates the chance that the
            passage answers the question and is comparable across questions: when even the
            best passage is below qa.MIN_RELEVANCE, the articles do not seem to answer the
            question. score only ranks the passages of one answer. page is a PDF's page
            (else null); title and date are the article's, if it has them. The optional
            history (after k) lists the earlier questions of the same conversation, oldest
            first, so that a follow-up such as "Und wann war das?" takes its context from
            them. The optional sources (after history) limit the search to the articles
            whose names match one of its glob patterns ("seeds/003_*"; * stays within a
            folder, ** spans folders). The optional since and until (after sources) limit
            it to articles dated within those days (YYYY-MM-DD, YYYY-MM or YYYY); articles
            without a date are then left out.

            Args:
                question: The question.
                k: How many passages to return (1 to 20).
                history: The earlier questions of the conversation, oldest first (a
                    list of strings); default none.
                sources: Glob patterns over source names (a list of strings); default: all.
                since: Only articles dated on or after this day; default: no bound.
                until: Only articles dated on or before this day; default: no bound.
            """
            try:
                return retrieve(index, question, k, history, sources, since, until)
            except (ValueError, qa.QAError) as exc:
                raise gr.Error(str(exc) or type(exc).__name__, print_exception=False) from None

        gr.api(retrieve_api, api_name="retrieve", concurrency_limit=4)
        if mcp:
            app.mcp_endpoints = {}
            for tool in mcp_tools(index):
                # Unqueued: Gradio's MCP server calls such an endpoint directly, a queued
                # one back over HTTP through gradio_client, which cannot log in.
                gr.api(tool, api_name=f"mcp_{tool.__name__}", queue=False)
                app.mcp_endpoints[tool.__name__] = f"/mcp_{tool.__name__}"
    app.translations = i18n
    app.upload_limit = uploads.max_bytes if uploads else None
    return app


def launch(
    index: qa.Index,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: Sequence[tuple[str, str]] | Callable[[str, str], bool] | None = None,
    examples: Sequence[str] | None = None,
    mcp: bool = False,
    upload_dir: str | os.PathLike[str] | None = None,
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB,
    **kwargs: Any,
) -> QABlocks:
    """Builds the app and serves it (never with a share link).

    Args:
        index: The loaded ``qa.Index``.
        host: Interface to bind.
        port: Port to bind.
        auth: None, or a list of (user, password) tuples, or a check function.
        examples: Example questions for the empty chat; default: derived from the index.
        mcp: Also serve the MCP tools of :func:`mcp_tools` at ``/gradio_api/mcp/``.
        upload_dir: Offer an upload control that adds articles to this folder and the
            index (see :func:`build_app`); default: none.
        max_upload_mb: The largest file it takes, in MB.
        **kwargs: More ``gr.Blocks.launch`` keyword arguments (e.g. prevent_thread_lock).

    Returns:
        The app (once the server stops, or at once with ``prevent_thread_lock=True``;
        call its ``close`` to stop it).

    Raises:
        ValueError: If an example question is empty or too long, or ``max_upload_mb``
            is not a whole number of at least 1.
    """
    if auth is not None and not callable(auth):
        auth = [tuple(pair) for pair in auth]
    app = build_app(index, examples, mcp=mcp, upload_dir=upload_dir, max_upload_mb=max_upload_mb)
    app.launch(server_name=host, server_port=port, share=False, auth=auth, mcp_server=mcp, **kwargs)
    return app
