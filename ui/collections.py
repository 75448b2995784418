"""Several collections in one app: the ``collection`` parameter and its HTTP errors.

``qa serve --index news=DIR1 --index laws=DIR2`` serves one app over a
:class:`qa.Collections`. The API endpoint ``/retrieve`` and the MCP tools then take a
last, optional parameter ``collection`` (default: the first collection), and the chat
has a collection picker (laid out by :mod:`ui.app`). With one collection nothing of this
shows: no parameter, no picker, the same responses as over the index itself.

- :func:`collection_parameter` gives a function written with a ``collection`` parameter
  the signature and docstring Gradio reads: with several collections, the docstring names
  them; with one, the parameter is not there at all.
- :class:`CollectionGuard` answers a plain HTTP call that names an unknown collection
  with 400 and a message naming the known ones (Gradio answers any failed call with 500).
"""

from __future__ import annotations

import inspect
import json
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import gradio as gr
from gradio.route_utils import API_PREFIX
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import qa
from ui.login import logged_in

__all__ = [
    "COLLECTION_DOC",
    "CollectionGuard",
    "collection_guard",
    "collection_parameter",
    "collection_picker",
    "upload_folders",
]

F = TypeVar("F", bound=Callable[..., Any])

# The docstring line of a ``collection`` parameter; ``{collections}`` becomes the names.
COLLECTION_DOC = "collection: Which collection to use: {collections}."
_MAX_CHECKED_BODY = 1 << 20  # larger request bodies go on unchecked (the call still fails)


def _described(collections: qa.Collections) -> str:
    names = ", ".join(f'"{name}"' for name in collections.names)
    return f'one of {names}; default "{collections.default}"'


def collection_parameter(fn: F, collections: qa.Collections) -> F:
    """Fits ``fn``'s ``collection`` parameter to ``collections``, as Gradio will read it.

    ``fn`` must have a parameter ``collection`` (default None) and a docstring line
    :data:`COLLECTION_DOC` among its ``Args:``. With several collections the line names
    them, and so does a sentence added to the description (what ``/gradio_api/info`` and
    the OpenAPI description show); with one, the line and the parameter are hidden
    (``__signature__``), so that the endpoint or tool is exactly what it was before
    collections existed, and a call gets the default collection.

    Returns:
        ``fn`` itself, changed.
    """
    doc = fn.__doc__ or ""
    if COLLECTION_DOC not in doc:
        raise ValueError(f"{fn.__name__}'s docstring lacks the line {COLLECTION_DOC!r}")
    signature = inspect.signature(fn)
    if "collection" not in signature.parameters:
        raise ValueError(f"{fn.__name__} has no collection parameter")
    if collections.several:
        described = _described(collections)
        doc = doc.replace(COLLECTION_DOC, COLLECTION_DOC.format(collections=described))
        # The description too (an HTTP client sees no more): its last sentence, before Args.
        sentence = f"The optional collection (the last parameter) says which to use: {described}."
        fn.__doc__ = re.sub(
            r"\n([ \t]*)\n([ \t]*)Args:", rf" {sentence}\n\1\n\2Args:", doc, count=1
        )
    else:
        doc = re.sub(rf"\n[ \t]*{re.escape(COLLECTION_DOC)}", "", doc)
        fn.__doc__ = re.sub(r"\n\s*Args:(\s*)$", r"\1", doc)  # Args: left with nothing
        kept = [p for name, p in signature.parameters.items() if name != "collection"]
        fn.__signature__ = signature.replace(parameters=kept)  # type: ignore[attr-defined]
    return fn


def collection_picker(collections: qa.Collections, i18n: gr.I18n) -> gr.Dropdown | gr.State:
    """The chat's collection picker; with one collection, a ``gr.State`` holding its name.

    Either way the chat's events take its value as the collection to answer from, and
    with one collection the page shows nothing new.

    Args:
        collections: The served collections.
        i18n: The UI's texts (``collection`` and ``collection_info`` label the picker).
    """
    if not collections.several:
        return gr.State(collections.default)
    return gr.Dropdown(
        choices=list(collections.names),
        value=collections.default,
        label=i18n("collection"),
        info=i18n("collection_info"),
        interactive=True,
        elem_id="qa-collection",
    )


def upload_folders(collections: qa.Collections, folder: str | os.PathLike[str]) -> dict[str, str]:
    """Where uploads go: ``folder`` itself for one collection, else ``folder/NAME`` each.

    Each collection rescans its own folder when it indexes an upload, so collections never
    share one: an article added to one is never indexed into another.
    """
    if not collections.several:
        return {collections.default: os.fspath(folder)}
    return {name: os.path.join(folder, name) for name in collections}


def collection_guard(app: gr.Blocks, collections: qa.Collections) -> Middleware | None:
    """The :class:`CollectionGuard` for the app's endpoints that take ``collection``.

    Returns:
        The middleware to serve the app with; None with one collection (no endpoint then
        takes a collection).
    """
    endpoints = {}
    for block_fn in app.fns.values():
        parameters = list(inspect.signature(block_fn.fn).parameters) if block_fn.fn else []
        if block_fn.api_name and "collection" in parameters:
            endpoints[block_fn.api_name] = parameters.index("collection")
    if not collections.several or not endpoints:
        return None
    return Middleware(
        CollectionGuard, collections=collections, endpoints=endpoints, logged_in=logged_in
    )


class CollectionGuard:
    """ASGI middleware: a call to an endpoint with an unknown ``collection`` gets 400.

    It reads the JSON body of ``POST {API_PREFIX}/run/NAME``, ``…/call/NAME`` (the
    parameters in order, as ``data``) and ``…/call/v2/NAME`` (by name) for the endpoints
    it is given, and refuses one whose ``collection`` is not a collection's name, with
    ``{"error": "unknown collection …; this server has: …"}``. Everything else, and a
    body that is not such JSON, goes on to the app unchanged (which then fails as usual).
    So does a request without a login when the app requires one: Gradio refuses it, and
    the collections' names stay unsaid.

    Args:
        app: The app it guards.
        collections: The served collections.
        endpoints: API name (``retrieve``) to the position of ``collection`` among its
            parameters.
        logged_in: Whether a request carries a login that Gradio's app accepts
            (``ui.login.logged_in``).
    """

    def __init__(
        self,
        app: ASGIApp,
        collections: qa.Collections,
        endpoints: Mapping[str, int],
        logged_in: Callable[[Any, HTTPConnection], Awaitable[bool]],
    ) -> None:
        self.app = app
        self.collections = collections
        self.endpoints = dict(endpoints)
        self.logged_in = logged_in
        names = "|".join(re.escape(name) for name in self.endpoints)
        self._route = re.compile(rf"{re.escape(API_PREFIX)}/(run|call|call/v2)/({names})/?")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Checks the collection of a guarded call; passes everything on."""
        match = None
        if scope["type"] == "http" and scope["method"] == "POST":
            match = self._route.fullmatch(scope["path"])
        server = scope.get("app")  # Gradio's app (Starlette puts itself in the scope)
        if match is not None and getattr(server, "auth", None) is not None:
            match = match if await self.logged_in(server, HTTPConnection(scope)) else None
        if match is None:
            await self.app(scope, receive, send)
            return
        messages, body = [], b""
        while len(body) <= _MAX_CHECKED_BODY:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        else:
            body = b""  # too large to check here
        problem = self._problem(body, match[1], self.endpoints[match[2]])
        if problem is not None:
            await JSONResponse({"error": problem, "title": "Error"}, 400)(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    def _problem(self, body: bytes, way: str, position: int) -> str | None:
        """The error for a body that names an unknown collection, else None."""
        try:
            payload = json.loads(body)
        except ValueError:
            return None
        if not isinstance(payload, dict):
            return None
        if way == "call/v2":
            name = payload.get("collection")
        else:
            data = payload.get("data")
            name = data[position] if isinstance(data, list) and len(data) > position else None
        try:
            self.collections.index(name)
        except qa.UnknownCollectionError as exc:
            return str(exc)
        return None
