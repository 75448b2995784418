"""The MCP tools ``retrieve``, ``list_sources`` and ``read_lines`` (:func:`mcp_tools`).

With ``mcp=True`` the app offers them (:func:`ui.app.build_app`), served by Gradio's MCP
server at ``/gradio_api/mcp/`` when launched with ``mcp_server=True``; they are the only
tools there, and a login protects them as it protects the rest (:mod:`ui.security`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import gradio as gr
from gradio.route_utils import API_PREFIX

import qa
from ui.collections import collection_parameter
from ui.handlers import DEFAULT_K, _search, _whole_number
from ui.viewer import _article_lines, _separator

__all__ = ["MAX_READ_LINES", "MCP_PATH", "ToolError", "mcp_tools"]

MAX_READ_LINES = 200  # lines one read_lines call returns at most
MCP_PATH = f"{API_PREFIX}/mcp"  # where Gradio serves MCP (streamable HTTP at MCP_PATH + "/")


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


def mcp_tools(index: qa.Index | qa.Collections) -> list[Callable[..., str]]:
    """Returns the MCP tools over ``index``: ``retrieve``, ``list_sources``, ``read_lines``.

    Gradio's MCP server names a tool after its function and describes it with the
    docstring (the text before ``Args:``, and one line per argument), so those are
    written for a language model deciding which tool to call. Each tool returns JSON text
    (MCP hands a result on as text) and raises :class:`ToolError` on bad input.

    Args:
        index: The loaded index, or several as ``qa.Collections``: then each tool takes
            a last parameter ``collection`` (default: the first collection), whose
            description names them.
    """
    collections = qa.Collections.of(index)

    def _index(collection: str | None) -> qa.Index:
        try:
            return collections.index(collection)
        except qa.UnknownCollectionError as exc:
            raise _tool_error(exc) from None

    def retrieve(
        question: str,
        k: int = DEFAULT_K,
        sources: list[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        collection: str | None = None,
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
            collection: Which collection to use: {collections}.
        """
        index = _index(collection)
        try:
            passages = _search(index, question, k, sources=sources, since=since, until=until)
        except (ValueError, qa.QAError) as exc:
            raise _tool_error(exc) from None
        found = [{**p.to_dict(), "citation": p.citation} for p in passages]
        return json.dumps(found, ensure_ascii=False)

    # The description names the threshold qa has (qa.MIN_RELEVANCE), whatever it is.
    retrieve.__doc__ = (retrieve.__doc__ or "").replace("{min_relevance}", str(qa.MIN_RELEVANCE))

    def list_sources(collection: str | None = None) -> str:
        """Lists the indexed articles, sorted by name, with their format, title and date.

        Returns a JSON list of {"source": name, "format": "txt", "md", "html" or "pdf",
        "title": title or null, "date": ISO date or null, "passages": count}. Call it to
        learn what the archive holds, or to find the names that retrieve's sources and
        read_lines take. Names are the ones citations start with.

        Args:
            collection: Which collection to use: {collections}.
        """
        index = _index(collection)
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

    def read_lines(
        source: str,
        line_start: int,
        line_end: int,
        page: int | None = None,
        collection: str | None = None,
    ) -> str:
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
            collection: Which collection to use: {collections}.
        """
        index = _index(collection)
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

    return [
        collection_parameter(tool, collections) for tool in (retrieve, list_sources, read_lines)
    ]
