"""Whether a request carries a login of the Gradio app, and a guard that lets only those pass.

Gradio checks its login for its own routes; what it mounts outside them (MCP, the health and
metrics routes, the collection guard) checks it with these.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import inspect
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["logged_in", "login_required"]


async def logged_in(server: Any, connection: HTTPConnection) -> bool:
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


def login_required(inner: ASGIApp, server: Any) -> ASGIApp:
    """Wraps ``inner`` so that only requests with a login of Gradio's app ``server`` pass.

    Others get 401 (HTTP) or a closed connection (WebSocket).
    """

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if await logged_in(server, HTTPConnection(scope)):
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
