"""The Gradio web UI of qa: the page's layout, its events, and :func:`launch`.

:func:`build_app` lays out a chat that answers with cited passages and a source viewer,
and wires them to the other modules: :mod:`ui.handlers` (checking questions, searching,
answering), :mod:`ui.render` (the answers' HTML, and the security model: all text is
escaped), :mod:`ui.viewer` (the source viewer), :mod:`ui.mcp` (the MCP tools),
:mod:`ui.security` (:class:`~ui.security.QABlocks`: what the server serves, and to whom),
:mod:`ui.upload` (adding articles) and :mod:`ui.texts` (German and English texts).

The chat keeps each session's conversation (the questions it answered) on the server in a
``gr.State`` and passes it to the search as ``history``, so follow-up questions work; a
choice of articles limits the search to them. Other tools call the named endpoint
``/retrieve``. Over several collections (``qa.Collections``) a picker chooses the one the
chat answers from, and ``/retrieve`` takes its name (:mod:`ui.collections`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr

import qa
from ui import texts
from ui.collections import collection_guard, collection_parameter, collection_picker, upload_folders
from ui.feedback import VOTE_JS, Votes, answered
from ui.handlers import (
    DEFAULT_K,
    MAX_K,
    _check_examples,
    _whole_number,
    chat_turn,
    example_questions,
    retrieve,
    source_pattern,
)
from ui.mcp import mcp_tools
from ui.ops import Operations
from ui.render import _upload_hint, format_error, format_overview, format_question, format_upload
from ui.security import QABlocks, _discard, _received
from ui.texts import DEFAULT_LANGUAGE, Language
from ui.upload import ALLOWED_SUFFIXES, DEFAULT_MAX_UPLOAD_MB, Uploads
from ui.viewer import _VIEWER_CSS, _VIEWER_JS, _viewer_placeholder, view_source

__all__ = ["build_app", "launch"]


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
    "collection",
    "collection_info",
)


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


# How often an open page checks whether the server loaded a new generation.
_FOLLOW_SECONDS = 5.0


_ORPHAN_UPLOADS = (900, 3600)  # Gradio's delete_cache: every 15 min, files older than 1 h


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
    index: qa.Index | qa.Collections,
    examples: Sequence[str] | None = None,
    mcp: bool = False,
    upload_dir: str | os.PathLike[str] | None = None,
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB,
    feedback: str | os.PathLike[str] | None = None,
    feedback_max_mb: int = qa.DEFAULT_FEEDBACK_MAX_MB,
    log_questions: bool = False,
) -> QABlocks:
    """Builds the Gradio app over a loaded index.

    Args:
        index: The loaded ``qa.Index``, or several as ``qa.Collections``: then the page
            has a collection picker (choosing one starts a new conversation), and
            ``/retrieve`` and the MCP tools take a last parameter ``collection``
            (default: the first; see :mod:`ui.collections`).
        examples: Example questions the empty chat offers (a click asks one); default: a
            few derived from the index (each collection's) by :func:`example_questions`.
        mcp: Also offer the MCP tools of :func:`mcp_tools`, as the API endpoints
            ``/mcp_retrieve``, ``/mcp_list_sources`` and ``/mcp_read_lines``; launch with
            ``mcp_server=True`` to serve them over MCP.
        upload_dir: Offer an upload control that saves articles in this folder and
            indexes them into ``index`` (see :mod:`ui.upload`; with several collections,
            into the chosen one, from the subfolder named after it); None (default):
            none, and the app takes no uploads at all.
        max_upload_mb: The largest file the upload control takes, in MB (MiB).
        feedback: Give each passage 👍 / 👎 buttons and append the votes to this file
            (see :mod:`ui.feedback`); None (default): no buttons.
        feedback_max_mb: The size the feedback file may reach, in MB (MiB).
        log_questions: Write the questions' text to the request log (see :mod:`ui.ops`).

    Returns:
        The app; call ``launch`` on it (or use :func:`launch`). It serves ``/healthz``,
        ``/readyz`` and ``/metrics`` as well (:class:`ui.ops.Operations`).

    Raises:
        ValueError: If an example is empty or longer than ``MAX_QUESTION_CHARS``,
            ``max_upload_mb`` or ``feedback_max_mb`` is not a whole number of at least
            1, or the feedback file's folder does not exist.
        OSError: If the feedback file cannot be opened for appending.
    """
    collections = qa.Collections.of(index)
    index = collections.index()  # the default collection's, which the page shows first
    given = None if examples is None else _check_examples(examples)
    examples_of = {
        name: example_questions(collections[name]) if given is None else given
        for name in collections
    }
    examples = examples_of[collections.default]
    uploads, uploads_of = None, {}
    if upload_dir is not None:
        limit = _whole_number(max_upload_mb, "max_upload_mb") * 2**20
        folders = upload_folders(collections, upload_dir)
        uploads_of = {name: Uploads(collections[name], folders[name], limit) for name in folders}
        uploads = uploads_of[collections.default]
    i18n = _translations(index, bool(examples), uploads.max_bytes if uploads else None)
    operations = Operations(collections, log_questions=log_questions)
    votes = None
    if feedback is not None:
        limit = _whole_number(feedback_max_mb, "feedback_max_mb") * 2**20
        votes = Votes(qa.FeedbackFile(feedback, limit), operations)

    def respond(
        question: str,
        k: float,
        articles: list[str] | None,
        chat: list[dict[str, Any]] | None,
        conversation: list[str] | None,
        collection: str,
        answers: list[dict[str, Any]],
        request: gr.Request,
    ) -> tuple[list[dict[str, Any]], str, list[dict[str, Any]], Any, str, list[str], Any]:
        lang = _language(request)
        question = question if isinstance(question, str) else ""
        conversation = list(conversation or [])
        sources = [source_pattern(article) for article in articles or []]
        index = collections.index(collection)
        named = collection if collections.several else None
        number = len(answers) if votes is not None else None
        filters = {"sources": sources, "collection": named}
        with operations.observe("chat", question, k, conversation, filters, index) as searched:
            turn = chat_turn(
                searched, question, k, conversation, lang, sources, feedback_turn=number
            )
        if votes is not None and turn.question is not None:
            answer = answered(turn.question, conversation, turn.hits, searched.generation, named)
            answers = [*answers, answer]
        if turn.question is not None:
            conversation = [*conversation, turn.question][-qa.MAX_HISTORY_TURNS :]
        chat = [
            *(chat or []),
            {"role": "user", "content": format_question(question, lang)},
            {"role": "assistant", "content": turn.answer},
        ]
        choices = [(f"[{i}] {h['citation']}", h["citation"]) for i, h in enumerate(turn.hits, 1)]
        first = turn.hits[0]["citation"] if turn.hits else None
        viewer = _view(turn.hits, first, lang, collection)
        cited = gr.update(choices=choices, value=first)
        return chat, "", turn.hits, cited, viewer, conversation, answers

    def ask_example(
        k: float,
        articles: list[str] | None,
        chat: list[dict[str, Any]] | None,
        conversation: list[str] | None,
        collection: str,
        answers: list[dict[str, Any]],
        event: gr.SelectData,
        request: gr.Request,
    ) -> tuple[list[dict[str, Any]], str, list[dict[str, Any]], Any, str, list[str], Any]:
        value = event.value if isinstance(event.value, dict) else {}
        text = value.get("text") or ""
        return respond(text, k, articles, chat, conversation, collection, answers, request)

    def _view(
        hits: list[dict[str, Any]], citation: str | None, lang: Language, collection: str
    ) -> str:
        if not citation:
            return _viewer_placeholder(lang)
        hit = next((h for h in hits or [] if h["citation"] == citation), None)
        if hit is None:
            return format_error(texts.text(lang, "error_not_cited"))
        return view_source(
            collections.index(collection),
            hit["source"],
            hit["line_start"],
            hit["line_end"],
            lang,
            hit.get("page"),
        )

    def open_citation(
        citation: str | None, hits: list[dict[str, Any]], collection: str, request: gr.Request
    ) -> str:
        return _view(hits, citation, _language(request), collection)

    def follow_index(
        shown: str | None, collection: str, request: gr.Request
    ) -> tuple[Any, Any, str]:
        """Updates the overview and the article choices when a new generation is loaded.

        ``qa serve`` follows the index (``Index.follow``); each page checks on load and
        then every few seconds, and changes nothing while the generation is the same.
        """
        index = collections.index(collection)
        generation = index.generation
        if generation == shown:
            return gr.skip(), gr.skip(), generation
        overview = format_overview(index, _language(request), bool(examples_of[collection]))
        return gr.update(placeholder=overview), gr.update(choices=list(index.sources)), generation

    def clear(request: gr.Request) -> tuple[list[Any], list[Any], Any, str, list[str]]:
        placeholder = _viewer_placeholder(_language(request))
        return [], [], gr.update(choices=[], value=None), placeholder, []

    def pick_collection(collection: str, request: gr.Request) -> tuple[Any, ...]:
        """Starts a new conversation in the chosen collection, with its overview and articles.

        The conversation, its citations and the article choice belong to one collection:
        a follow-up question or an open citation would not fit another.
        """
        index = collections.index(collection)
        offered = examples_of[collection]
        overview = format_overview(index, _language(request), bool(offered))
        chat = gr.update(
            value=[], placeholder=overview, examples=[{"text": e} for e in offered] or None
        )
        _, *cleared = clear(request)
        articles = gr.update(choices=list(index.sources), value=[])
        return chat, *cleared, articles, index.generation

    # An upload that no event takes (a client may send files alone) is removed by Gradio
    # within an hour and a quarter, and any that are left when the server stops.
    cleanup = _ORPHAN_UPLOADS if uploads is not None else None
    with QABlocks(title="qa", analytics_enabled=False, delete_cache=cleanup) as app:
        gr.Markdown(i18n("heading"), elem_id="qa-heading")
        picker = collection_picker(collections, i18n)  # a gr.State with one collection
        hits_state = gr.State([])
        conversation_state = gr.State([])  # the questions this conversation answered
        # With feedback: each answer's question and citations, numbered across clears.
        answers_state = gr.State([])
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
                if votes is not None:
                    vote_status = gr.HTML("", elem_id="qa-vote-status")
                    vote_box = gr.Textbox(visible="hidden", elem_id="qa-vote")  # see VOTE_JS
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

        outputs = [
            chatbot,
            question,
            hits_state,
            citation,
            viewer,
            conversation_state,
            answers_state,
        ]
        chat_io: dict[str, Any] = {"outputs": outputs, "api_visibility": "private"}
        ask_io = [k, articles, chatbot, conversation_state, picker, answers_state]
        for event in (
            question.submit(respond, [question, *ask_io], **chat_io),
            ask.click(respond, [question, *ask_io], **chat_io),
            chatbot.example_select(ask_example, ask_io, **chat_io),
        ):
            event.then(None, js=_SHOW_LATEST_JS)
        citation.input(
            open_citation, [citation, hits_state, picker], viewer, api_visibility="private"
        )
        shown_generation = gr.State(None)  # the generation the page's overview describes
        follow_io: dict[str, Any] = {
            "fn": follow_index,
            "inputs": [shown_generation, picker],
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
        if collections.several:
            picker.input(
                pick_collection,
                [picker],
                [*clear_io["outputs"], articles, shown_generation],
                api_visibility="private",
            )
        if votes is not None:
            voted_state = gr.State([])  # TURN:RANK of each passage voted on

            def cast_vote(
                payload: str, answers: list[dict[str, Any]], voted: list[str], request: gr.Request
            ) -> tuple[str, list[str]]:
                return votes.cast(payload, answers, voted, _language(request))

            vote_box.change(
                cast_vote,
                [vote_box, answers_state, voted_state],
                [vote_status, voted_state],
                api_visibility="private",
                show_progress="hidden",
            )
            app.load(None, js=VOTE_JS)
        if uploads is not None:

            def add_articles(files: Any, collection: str, request: gr.Request) -> tuple[str, Any]:
                """Adds the uploaded files (Gradio's FileData dicts, unprocessed)."""
                received = _received(files)
                index = collections.index(collection)
                try:
                    outcomes = uploads_of[collection].add(received)
                finally:
                    for path, _ in received:
                        _discard(path, app)
                page = format_upload(outcomes, _language(request), uploads.max_bytes)
                return page, gr.update(choices=list(index.sources))

            # Unprocessed: Gradio checks that each file is in its upload folder, but makes
            # no other copy of it; add_articles removes the one it has.
            upload.upload(
                add_articles,
                [upload, picker],
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
            collection: str | None = None,
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
                collection: Which collection to use: {collections}.
            """
            named = collection if collections.several else None
            filters = {"sources": sources, "since": since, "until": until, "collection": named}
            try:
                index = collections.index(collection)
                observed = operations.observe("retrieve", question, k, history, filters, index)
                with observed as searched:
                    return retrieve(searched, question, k, history, sources, since, until)
            except (ValueError, qa.QAError) as exc:
                raise gr.Error(str(exc) or type(exc).__name__, print_exception=False) from None

        gr.api(
            collection_parameter(retrieve_api, collections),
            api_name="retrieve",
            concurrency_limit=4,
        )
        if mcp:
            app.mcp_endpoints = {}
            for tool in mcp_tools(collections):
                # Unqueued: Gradio's MCP server calls such an endpoint directly, a queued
                # one back over HTTP through gradio_client, which cannot log in.
                gr.api(tool, api_name=f"mcp_{tool.__name__}", queue=False)
                app.mcp_endpoints[tool.__name__] = f"/mcp_{tool.__name__}"
    app.translations = i18n
    app.operations = operations
    app.upload_limit = uploads.max_bytes if uploads else None
    return app


def launch(
    index: qa.Index | qa.Collections,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: Sequence[tuple[str, str]] | Callable[[str, str], bool] | None = None,
    examples: Sequence[str] | None = None,
    mcp: bool = False,
    upload_dir: str | os.PathLike[str] | None = None,
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB,
    feedback: str | os.PathLike[str] | None = None,
    feedback_max_mb: int = qa.DEFAULT_FEEDBACK_MAX_MB,
    log_questions: bool = False,
    **kwargs: Any,
) -> QABlocks:
    """Builds the app and serves it (never with a share link).

    Args:
        index: The loaded ``qa.Index``, or several as ``qa.Collections`` (see
            :func:`build_app`); a plain HTTP call naming an unknown collection then
            gets 400 (:class:`ui.collections.CollectionGuard`).
        host: Interface to bind.
        port: Port to bind.
        auth: None, or a list of (user, password) tuples, or a check function.
        examples: Example questions for the empty chat; default: derived from the index.
        mcp: Also serve the MCP tools of :func:`mcp_tools` at ``/gradio_api/mcp/``.
        upload_dir: Offer an upload control that adds articles to this folder and the
            index (see :func:`build_app`); default: none.
        max_upload_mb: The largest file it takes, in MB.
        feedback: Append readers' votes on passages to this file; default: no votes.
        feedback_max_mb: The size the feedback file may reach, in MB.
        log_questions: Write the questions' text to the request log.
        **kwargs: More ``gr.Blocks.launch`` keyword arguments (e.g. prevent_thread_lock).

    Returns:
        The app (once the server stops, or at once with ``prevent_thread_lock=True``;
        call its ``close`` to stop it).

    Raises:
        ValueError: If an example question is empty or too long, ``max_upload_mb`` or
            ``feedback_max_mb`` is not a whole number of at least 1, or the feedback
            file's folder does not exist.
        OSError: If the feedback file cannot be opened for appending.
    """
    if auth is not None and not callable(auth):
        auth = [tuple(pair) for pair in auth]
    app = build_app(
        index,
        examples,
        mcp=mcp,
        upload_dir=upload_dir,
        max_upload_mb=max_upload_mb,
        feedback=feedback,
        feedback_max_mb=feedback_max_mb,
        log_questions=log_questions,
    )
    guard = collection_guard(app, qa.Collections.of(index))
    if guard is not None:
        app_kwargs = kwargs.get("app_kwargs") or {}
        middleware = [*app_kwargs.get("middleware", ()), guard]
        kwargs["app_kwargs"] = {**app_kwargs, "middleware": middleware}
    app.launch(server_name=host, server_port=port, share=False, auth=auth, mcp_server=mcp, **kwargs)
    return app
