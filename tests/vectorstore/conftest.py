"""Fixtures for the store backends: a Milvus Lite server on loopback, stopped by its PID."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

_START_SECONDS = 60


def free_port() -> int:
    """Returns a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class MilvusServer:
    """A ``milvus-lite server`` subprocess.

    Attributes:
        uri: Where it listens: ``http://127.0.0.1:PORT``.
        process: The server process.
    """

    uri: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Stops the server by its PID (SIGTERM, then SIGKILL after 10 s)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def milvus_server(tmp_path: Path) -> Iterator[MilvusServer]:
    """A ``milvus-lite server`` subprocess on 127.0.0.1 and a free port.

    The server process is stopped by its own PID when the test ends.
    """
    port = free_port()
    log = tmp_path / "milvus-server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "milvus_lite",
                "server",
                "--data-dir",
                str(tmp_path / "milvus-data"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = MilvusServer(f"http://127.0.0.1:{port}", server)
    try:
        deadline = time.monotonic() + _START_SECONDS
        while not _listening(port):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"milvus-lite server did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield running
    finally:
        running.stop()
