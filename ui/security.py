"""What the server serves, and to whom: no share link, no files, a login over MCP too.

:class:`QABlocks` launches the app with qa's safe settings (:func:`_launch_defaults`):
never a share link, no telemetry, no extra endpoints. The server serves no file from
disk, and takes no uploads unless the app has an upload control (``qa serve
--allow-upload DIR``: :mod:`ui.upload` checks, saves and indexes the files), see
:class:`_ServeNoFiles`; an upload event reads and removes only files in Gradio's upload
folder (:func:`_received`). Gradio mounts MCP outside its login: with a login, MCP
requests must carry one too (:func:`ui.login.login_required`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import itertools
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
from gradio import utils as gr_utils
from gradio.components.api_component import Api
from gradio.route_utils import API_PREFIX
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from ui.login import login_required
from ui.mcp import MCP_PATH
from ui.render import CSS

if TYPE_CHECKING:
    from ui.ops import Operations

__all__ = ["QABlocks"]


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
        operations: Its health, readiness and metrics routes (``/healthz``, ``/readyz``,
            ``/metrics``), served in front of Gradio; None: none.
    """

    translations: gr.I18n | None = None
    mcp_endpoints: dict[str, str] | None = None
    upload_limit: int | None = None
    operations: Operations | None = None

    def launch(self, *args: Any, mcp_server: bool = False, **kwargs: Any) -> Any:
        """Launches the app with qa's safe settings; refuses ``share=True``.

        Args:
            *args: Passed to ``gr.Blocks.launch``.
            mcp_server: Also serve the app's MCP tools (see :func:`ui.app.build_app`'s ``mcp``) at
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
        ops = [self.operations.middleware()] if self.operations is not None else []
        kwargs["app_kwargs"] = {
            **app_kwargs,
            "middleware": [*ops, *app_kwargs.get("middleware", ()), guard],
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
            mount.app = login_required(mount.app, server)
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
