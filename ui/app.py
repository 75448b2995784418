"""The Gradio web UI of qa: a chat that answers with cited passages, and a source viewer.

Security model: every piece of text that comes from an article or from the user (questions,
passage texts, source names) is passed through :func:`escape_text` before it reaches the
browser. That function HTML-escapes it and turns every ASCII punctuation character into a
numeric character reference, so the result holds no HTML tag, no Markdown syntax, no LaTeX
delimiter and no template placeholder: it can only ever display as literal text. On top of
that the chatbot is configured with Markdown and LaTeX rendering off and HTML sanitising on,
so the only markup the browser sees is the handful of tags this module writes itself.

This module holds no retrieval logic: it only calls the public ``qa`` API
(``Index.search``, ``Index.sources``, ``Index.source_text`` and ``Passage``).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr

import qa

__all__ = [
    "DEFAULT_K",
    "MAX_K",
    "MAX_QUESTION_CHARS",
    "QABlocks",
    "build_app",
    "chat_turn",
    "escape_text",
    "format_answer",
    "format_error",
    "format_question",
    "format_source",
    "launch",
    "retrieve",
    "view_source",
]

DEFAULT_K = 5
MAX_K = 20
MAX_QUESTION_CHARS = qa.MAX_QUESTION_CHARS
_QUESTION_PREVIEW_CHARS = 300

# C0/C1 control characters other than tab and newline display as U+FFFD; CR is dropped.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Every ASCII punctuation character (this covers & < > " ' and all Markdown, LaTeX and
# template syntax) becomes a numeric character reference: the browser shows the character,
# no parser sees syntax.
_ENTITIES = str.maketrans({c: f"&#{ord(c)};" for c in string.punctuation})

CSS = """
.qa-answer, .qa-user { line-height: 1.5; }
.qa-intro { margin: 0 0 .5em 0; }
.qa-passage { border-left: 3px solid #9ca3af; padding: .25em 0 .25em .75em; margin: .6em 0; }
.qa-cite { font-size: .9em; margin-bottom: .25em; }
.qa-cite code { font-weight: 600; }
.qa-rank { font-weight: 700; margin-right: .35em; }
.qa-score { color: #6b7280; margin-left: .5em; font-size: .9em; }
.qa-text { white-space: pre-wrap; overflow-wrap: anywhere; }
mark.qa-hl { background: #fde68a; color: inherit; font-weight: 700; padding: 0 .1em; }
.qa-error { color: #b91c1c; font-weight: 600; }
.qa-note { color: #6b7280; }
"""

_VIEWER_CSS = """
.qa-viewer-head { font-weight: 600; margin-bottom: .4em; overflow-wrap: anywhere; }
.qa-article { max-height: 560px; overflow: auto; border: 1px solid #d1d5db;
              border-radius: 6px; font-family: ui-monospace, monospace; font-size: .85em; }
.qa-line { display: flex; }
.qa-ln { flex: 0 0 3.5em; text-align: right; padding-right: .75em; color: #9ca3af;
         user-select: none; }
.qa-lt { flex: 1 1 auto; white-space: pre-wrap; overflow-wrap: anywhere; }
.qa-cited { background: #fef3c7; }
.qa-cited .qa-ln { color: #92400e; font-weight: 700; }
.qa-cited .qa-lt { font-weight: 600; }
.qa-error { color: #b91c1c; font-weight: 600; }
.qa-note { color: #6b7280; }
"""

# Runs in the browser whenever the viewer's value changes: bring the cited lines into view.
_VIEWER_JS = """
watch('value', () => {
  const first = element.querySelector('.qa-cited');
  if (first) { first.scrollIntoView({block: 'center', behavior: 'instant'}); }
});
"""

_VIEWER_PLACEHOLDER = (
    '<p class="qa-note">Ask a question, then pick one of its citations to read the whole '
    "article here.</p>"
)


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


def format_question(question: str) -> str:
    """Formats the user's question for the chat: escaped, and shortened if very long.

    Args:
        question: The question as typed.

    Returns:
        One line of HTML.
    """
    if not question.strip():
        return '<span class="qa-user qa-note">(empty question)</span>'
    if len(question) > _QUESTION_PREVIEW_CHARS:
        shown = _lines_html(question[:_QUESTION_PREVIEW_CHARS])
        return (
            f'<span class="qa-user">{shown}&#8230; '
            f'<span class="qa-note">({len(question):,} characters)</span></span>'
        )
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


def format_answer(passages: Sequence[qa.Passage]) -> str:
    """Formats retrieved passages as one chat answer.

    Each passage shows its rank, its citation ``source:line_start-line_end``, its score and
    its text, with the sentence that best matches the question marked. All text is escaped.

    Args:
        passages: The passages, best first.

    Returns:
        One line of HTML (no newlines, so the chatbot's dedenting cannot alter it).
    """
    if not passages:
        return '<p class="qa-note">No passages found for this question.</p>'
    noun = "passage" if len(passages) == 1 else "passages"
    parts = [f'<div class="qa-answer"><p class="qa-intro">Top {len(passages)} {noun}:</p>']
    for rank, passage in enumerate(passages, start=1):
        score = passage.score
        score_html = f"score {score:.3f}" if math.isfinite(score) else "score n/a"
        parts.append(
            '<div class="qa-passage">'
            f'<div class="qa-cite"><span class="qa-rank">[{rank}]</span> '
            f"<code>{escape_text(passage.citation)}</code>"
            f'<span class="qa-score">{score_html}</span></div>'
            f'<div class="qa-text">{_passage_text_html(passage)}</div>'
            "</div>"
        )
    parts.append("</div>")
    return "".join(parts)


def format_source(source: str, text: str, line_start: int, line_end: int) -> str:
    """Formats a whole article with line numbers, the cited lines emphasised.

    Args:
        source: The source name, shown as the heading.
        text: The article text as indexed.
        line_start: First cited line, 1-based inclusive.
        line_end: Last cited line, 1-based inclusive.

    Returns:
        HTML for the viewer; every cited line carries the class ``qa-cited``.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    rows = []
    for number, line in enumerate(lines, start=1):
        cited = line_start <= number <= line_end
        cls = "qa-line qa-cited" if cited else "qa-line"
        rows.append(
            f'<div class="{cls}" data-line="{number}"><span class="qa-ln">{number}</span>'
            f'<span class="qa-lt">{escape_text(line) or "&#8203;"}</span></div>'
        )
    head = (
        f'<div class="qa-viewer-head">{escape_text(source)} &#8212; lines '
        f"{line_start}&#8211;{line_end} of {len(lines)}</div>"
    )
    return f'<div class="qa-viewer">{head}<div class="qa-article">{"".join(rows)}</div></div>'


def _clean_question(question: Any) -> str:
    """Returns the question with control characters replaced by spaces.

    Emptiness and length are checked by ``qa`` itself, which raises ``ValueError``.

    Raises:
        ValueError: If the question is not a string.
    """
    if not isinstance(question, str):
        raise ValueError("The question must be text.")
    return _CONTROL.sub(" ", question.replace("\r", " "))


def _clean_k(k: Any) -> int:
    """Validates the number of passages to return.

    Raises:
        ValueError: If ``k`` is not a whole number between 1 and ``MAX_K``.
    """
    try:
        value = float(k)
    except (TypeError, ValueError):
        raise ValueError("k must be a whole number.") from None
    if not math.isfinite(value) or value != int(value):
        raise ValueError("k must be a whole number.")
    if value < 1:
        raise ValueError("k must be at least 1.")
    if value > MAX_K:
        raise ValueError(f"k must be at most {MAX_K}.")
    return int(value)


def retrieve(index: qa.Index, question: str, k: int = DEFAULT_K) -> list[dict[str, Any]]:
    """Searches the index and returns the passages as JSON-safe dicts.

    Args:
        index: The loaded index.
        question: The question.
        k: How many passages to return.

    Returns:
        A list of dicts with source, line_start, line_end, text, score and highlight.

    Raises:
        ValueError: For an empty or over-long question or a bad ``k``.
        qa.QAError: If the index fails.
    """
    hits = index.search(_clean_question(question), k=_clean_k(k))
    return [hit.to_dict() for hit in hits]


def chat_turn(index: qa.Index, question: str, k: Any = DEFAULT_K) -> tuple[str, list[dict]]:
    """Answers one chat question: the answer's HTML and the citations it shows.

    Bad input (empty, over-long, bad ``k``) and index errors become an error message in the
    answer rather than an exception.

    Args:
        index: The loaded index.
        question: The question as typed.
        k: How many passages to show.

    Returns:
        ``(answer_html, hits)`` where each hit is a dict with citation, source, line_start
        and line_end (empty on error).
    """
    try:
        passages = index.search(_clean_question(question), k=_clean_k(k))
    except (ValueError, qa.QAError) as exc:
        return format_error(str(exc) or type(exc).__name__), []
    hits = [
        {
            "citation": p.citation,
            "source": p.source,
            "line_start": p.line_start,
            "line_end": p.line_end,
        }
        for p in passages
    ]
    return format_answer(passages), hits


def view_source(index: qa.Index, source: str, line_start: int, line_end: int) -> str:
    """Renders an indexed article for the viewer; anything not in the index is refused.

    Args:
        index: The loaded index.
        source: A source name as cited.
        line_start: First cited line.
        line_end: Last cited line.

    Returns:
        The viewer HTML, or an error message if ``source`` is not an indexed source.
    """
    if not isinstance(source, str) or source not in index.sources:
        return format_error(f"{source!r} is not an indexed source.")
    try:
        text = index.source_text(source)
    except KeyError:
        return format_error(f"{source!r} is not an indexed source.")
    return format_source(source, text, line_start, line_end)


class QABlocks(gr.Blocks):
    """A ``gr.Blocks`` whose ``launch`` never shares and serves nothing beyond the UI."""

    def launch(self, *args: Any, **kwargs: Any) -> Any:
        """Launches the app with qa's safe settings; refuses ``share=True``.

        Args:
            *args: Passed to ``gr.Blocks.launch``.
            **kwargs: Passed to ``gr.Blocks.launch``; unset safety settings get qa's defaults.

        Returns:
            Whatever ``gr.Blocks.launch`` returns.

        Raises:
            ValueError: If a share link is requested.
        """
        if args:
            raise TypeError("QABlocks.launch takes keyword arguments only")
        if kwargs.get("share"):
            raise ValueError("qa never creates a public share link")
        kwargs["share"] = False
        kwargs["mcp_server"] = False
        for key, value in _launch_defaults().items():
            kwargs.setdefault(key, value)
        return super().launch(**kwargs)


def _launch_defaults() -> dict[str, Any]:
    """Launch settings: no share link, no file serving, no telemetry, no extra endpoints."""
    return {
        "ssr_mode": False,
        "quiet": True,  # Gradio's banner suggests share=True, which qa refuses
        "pwa": False,
        "enable_monitoring": False,
        "run_history": False,
        "footer_links": ["api"],
        "show_error": False,
        "allowed_paths": None,
        # The UI serves no files at all: nothing on disk is reachable through /file=.
        "blocked_paths": ["/"],
        "max_file_size": "1kb",
        "css": CSS,
        "theme": gr.themes.Default(
            font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
        ),
    }


def build_app(index: qa.Index) -> QABlocks:
    """Builds the Gradio app over a loaded index.

    Args:
        index: The loaded ``qa.Index``.

    Returns:
        The app; call ``launch`` on it (or use :func:`launch`).
    """

    def respond(
        question: str, k: float, history: list[dict[str, Any]] | None
    ) -> tuple[list[dict[str, Any]], str, list[dict[str, Any]], Any, str]:
        question = question if isinstance(question, str) else ""
        answer, hits = chat_turn(index, question, k)
        history = [
            *(history or []),
            {"role": "user", "content": format_question(question)},
            {"role": "assistant", "content": answer},
        ]
        choices = [(f"[{i}] {h['citation']}", h["citation"]) for i, h in enumerate(hits, 1)]
        first = hits[0]["citation"] if hits else None
        viewer = _view(hits, first) if hits else _VIEWER_PLACEHOLDER
        return history, "", hits, gr.update(choices=choices, value=first), viewer

    def _view(hits: list[dict[str, Any]], citation: str | None) -> str:
        if not citation:
            return _VIEWER_PLACEHOLDER
        hit = next((h for h in hits or [] if h["citation"] == citation), None)
        if hit is None:
            return format_error("That citation is not part of the last answer.")
        return view_source(index, hit["source"], hit["line_start"], hit["line_end"])

    def open_citation(citation: str | None, hits: list[dict[str, Any]]) -> str:
        return _view(hits, citation)

    def clear() -> tuple[list[Any], list[Any], Any, str]:
        return [], [], gr.update(choices=[], value=None), _VIEWER_PLACEHOLDER

    with QABlocks(title="qa · news archive", analytics_enabled=False) as app:
        gr.Markdown(
            "## Ask the news archive\nAnswers are passages from the indexed articles, each "
            "with its citation `file:lines`. The best-matching sentence is highlighted."
        )
        hits_state = gr.State([])
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Answers",
                    elem_id="qa-chat",
                    height=560,
                    render_markdown=False,
                    sanitize_html=True,
                    latex_delimiters=[],
                    allow_tags=False,
                    buttons=[],
                    feedback_options=None,
                    allow_file_downloads=False,
                    group_consecutive_messages=False,
                )
                with gr.Row():
                    question = gr.Textbox(
                        show_label=False,
                        placeholder="Ask a question, e.g. Wie viele Reservisten sollen "
                        "mobilisiert werden?",
                        elem_id="qa-question",
                        scale=5,
                        lines=1,
                        max_lines=4,
                        autofocus=True,
                    )
                    ask = gr.Button("Ask", variant="primary", elem_id="qa-ask", scale=1)
                with gr.Row():
                    k = gr.Slider(
                        1,
                        MAX_K,
                        value=DEFAULT_K,
                        step=1,
                        label="Passages per answer",
                        elem_id="qa-k",
                    )
                    reset = gr.Button("Clear chat", elem_id="qa-clear", size="sm")
            with gr.Column(scale=2):
                citation = gr.Dropdown(
                    label="Open a citation from the last answer",
                    choices=[],
                    value=None,
                    interactive=True,
                    elem_id="qa-citation",
                )
                viewer = gr.HTML(
                    _VIEWER_PLACEHOLDER,
                    elem_id="qa-viewer",
                    css_template=_VIEWER_CSS,
                    js_on_load=_VIEWER_JS,
                    padding=True,
                )

        chat_io: dict[str, Any] = {
            "fn": respond,
            "inputs": [question, k, chatbot],
            "outputs": [chatbot, question, hits_state, citation, viewer],
            "api_visibility": "private",
        }
        question.submit(**chat_io)
        ask.click(**chat_io)
        citation.input(open_citation, [citation, hits_state], viewer, api_visibility="private")
        clear_io: dict[str, Any] = {
            "fn": clear,
            "inputs": None,
            "outputs": [chatbot, hits_state, citation, viewer],
            "api_visibility": "private",
        }
        reset.click(**clear_io)
        chatbot.clear(**clear_io)  # the chatbot's own trash button

        def retrieve_api(question: str, k: int = DEFAULT_K) -> list[dict[str, Any]]:
            """Returns the top-k passages for a question.

            Each passage is {source, line_start, line_end, text, score, highlight}.

            Args:
                question: The question.
                k: How many passages to return (1 to 20).
            """
            try:
                return retrieve(index, question, k)
            except (ValueError, qa.QAError) as exc:
                raise gr.Error(str(exc) or type(exc).__name__, print_exception=False) from None

        gr.api(retrieve_api, api_name="retrieve", concurrency_limit=4)
    return app


def launch(
    index: qa.Index,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: Sequence[tuple[str, str]] | Callable[[str, str], bool] | None = None,
    **kwargs: Any,
) -> QABlocks:
    """Builds the app and serves it (never with a share link).

    Args:
        index: The loaded ``qa.Index``.
        host: Interface to bind.
        port: Port to bind.
        auth: None, or a list of (user, password) tuples, or a check function.
        **kwargs: More ``gr.Blocks.launch`` keyword arguments (e.g. prevent_thread_lock).

    Returns:
        The app (once the server stops, or at once with ``prevent_thread_lock=True``;
        call its ``close`` to stop it).
    """
    if auth is not None and not callable(auth):
        auth = [tuple(pair) for pair in auth]
    app = build_app(index)
    app.launch(server_name=host, server_port=port, share=False, auth=auth, **kwargs)
    return app
