"""``qa serve`` as a user starts it: a real process, a login, the /retrieve API."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from gradio_client import Client

import qa
import ui
from qa import cli
from tests.conftest import REPO

pytestmark = pytest.mark.filterwarnings("ignore::Warning")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(seed_index: qa.Index) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qa",
            "serve",
            "--index",
            str(seed_index.path),
            "--port",
            str(port),
            "--auth",
            "alice:s3cret",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"qa serve exited: {proc.stdout.read() if proc.stdout else ''}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("qa serve did not listen within 120 s")
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_retrieve_through_the_served_app(served: str, seed_index: qa.Index) -> None:
    client = Client(served, auth=("alice", "s3cret"), verbose=False)
    hits = client.predict("Wer kommentiert?", 3, api_name="/retrieve")
    expected = [p.to_dict() for p in seed_index.search("Wer kommentiert?", k=3)]
    assert [(h["source"], h["line_start"], h["line_end"], h["text"]) for h in hits] == [
        (e["source"], e["line_start"], e["line_end"], e["text"]) for e in expected
    ]


def test_login_is_required(served: str) -> None:
    with pytest.raises(Exception, match="credentials"):
        Client(served, verbose=False)
    with pytest.raises(Exception, match=r"(?i)login|credentials|auth"):
        Client(served, auth=("alice", "wrong"), verbose=False)


def test_bad_auth_option_is_a_clear_error() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "qa", "serve", "--auth", "nopassword"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "USER:PASS" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("options", "examples"),
    [
        ([], None),
        (
            ["--example", "Wer kommentiert?", "--example", "Und wann?"],
            ["Wer kommentiert?", "Und wann?"],
        ),
    ],
    ids=["derived", "given"],
)
def test_example_questions_reach_the_ui(monkeypatch, seed_index, options, examples) -> None:
    calls = []
    monkeypatch.setattr(ui, "launch", lambda index, **kwargs: calls.append(kwargs))
    assert cli.main(["serve", "--index", str(seed_index.path), *options]) == 0
    assert calls[0]["examples"] == examples


def test_bad_example_is_a_clear_error(seed_index: qa.Index, capsys) -> None:
    assert cli.main(["serve", "--index", str(seed_index.path), "--example", " "]) == 2
    err = capsys.readouterr().err
    assert "example question 1 is empty" in err and "Traceback" not in err
