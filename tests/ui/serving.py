"""Runs ``qa serve`` as a user starts it: a real process on a free port of 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

START_SECONDS = 120
USER, PASSWORD = "alice", "secret"  # the login of the served apps (as in the README)


def free_port() -> int:
    """Returns a TCP port of 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def qa_serve(
    index: Path | str,
    *options: str,
    env: dict[str, str] | None = None,
    output: Path | None = None,
) -> Iterator[str]:
    """Starts ``qa serve --index INDEX --port PORT OPTIONS…`` and stops that process after.

    Args:
        index: The index folder (or ``NAME=DIR``, a named collection).
        *options: More command-line options.
        env: Environment variables to set for the process, beyond the current ones.
        output: The file its stdout and stderr go to (the request log among them);
            default: a temporary file. (A pipe nobody reads would fill and stop it.)

    Yields:
        The app's URL, ``http://127.0.0.1:PORT/``, once the server accepts connections.
    """
    port = free_port()
    command = [sys.executable, "-m", "qa", "serve", "--index", str(index), "--port", str(port)]
    with contextlib.ExitStack() as files:
        if output is None:
            output = Path(files.enter_context(tempfile.TemporaryDirectory())) / "qa-serve.log"
        log = files.enter_context(open(output, "w", encoding="utf-8"))
        proc = subprocess.Popen(
            [*command, *options],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
        deadline = time.monotonic() + START_SECONDS
        try:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    pytest.fail(f"qa serve exited: {output.read_text(encoding='utf-8')}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.5)
            else:
                pytest.fail(f"qa serve did not listen within {START_SECONDS} s")
            yield f"http://127.0.0.1:{port}/"
        finally:
            proc.terminate()
            proc.wait(timeout=30)
