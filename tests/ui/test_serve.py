"""``qa serve`` as a user starts it: a real process, a login, the /retrieve API."""

from __future__ import annotations

import subprocess
import sys

import pytest
from gradio_client import Client

import qa
import ui
from qa import cli
from tests.conftest import REPO
from tests.ui.serving import PASSWORD, USER

pytestmark = pytest.mark.filterwarnings("ignore::Warning")


def test_retrieve_through_the_served_app(served_login: str, seed_index: qa.Index) -> None:
    client = Client(served_login, auth=(USER, PASSWORD), verbose=False)
    hits = client.predict("Wer kommentiert?", 3, api_name="/retrieve")
    expected = [p.to_dict() for p in seed_index.search("Wer kommentiert?", k=3)]
    assert [(h["source"], h["line_start"], h["line_end"], h["text"]) for h in hits] == [
        (e["source"], e["line_start"], e["line_end"], e["text"]) for e in expected
    ]


def test_login_is_required(served_login: str) -> None:
    with pytest.raises(Exception, match="credentials"):
        Client(served_login, verbose=False)
    with pytest.raises(Exception, match=r"(?i)login|credentials|auth"):
        Client(served_login, auth=(USER, "wrong"), verbose=False)


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
    assert calls[0]["mcp"] is False


def test_mcp_option_reaches_the_ui(monkeypatch, seed_index) -> None:
    calls = []
    monkeypatch.setattr(ui, "launch", lambda index, **kwargs: calls.append(kwargs))
    assert cli.main(["serve", "--index", str(seed_index.path), "--mcp"]) == 0
    assert calls[0]["mcp"] is True


def test_bad_example_is_a_clear_error(seed_index: qa.Index, capsys) -> None:
    assert cli.main(["serve", "--index", str(seed_index.path), "--example", " "]) == 2
    err = capsys.readouterr().err
    assert "example question 1 is empty" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("host", "login"),
    [("127.0.0.1", []), ("::1", []), ("localhost", []), ("0.0.0.0", ["--auth", "a:b"])],
    ids=["ipv4-loopback", "ipv6-loopback", "localhost", "any-with-login"],
)
def test_upload_options_reach_the_ui(monkeypatch, seed_index, tmp_path, host, login) -> None:
    calls = []
    monkeypatch.setattr(ui, "launch", lambda index, **kwargs: calls.append(kwargs))
    folder = str(tmp_path / "uploads")
    options = ["--host", host, "--allow-upload", folder, "--max-upload-mb", "3", *login]
    assert cli.main(["serve", "--index", str(seed_index.path), *options]) == 0
    assert (calls[0]["upload_dir"], calls[0]["max_upload_mb"]) == (folder, 3)
    assert cli.main(["serve", "--index", str(seed_index.path), "--allow-upload", folder]) == 0
    assert calls[1]["max_upload_mb"] == cli.DEFAULT_MAX_UPLOAD_MB
    assert cli.main(["serve", "--index", str(seed_index.path)]) == 0
    assert calls[2]["upload_dir"] is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--host", "0.0.0.0", "--allow-upload", "up"], "--allow-upload on 0.0.0.0 needs a login"),
        (["--host", "192.168.1.5", "--allow-upload", "up"], "needs a login: add --auth"),
        (["--max-upload-mb", "5"], "--max-upload-mb needs --allow-upload DIR"),
        (["--allow-upload", "up", "--max-upload-mb", "0"], "--max-upload-mb must be at least 1"),
        (["--allow-upload", " "], "--allow-upload needs a folder"),
    ],
    ids=["any-host", "lan-host", "size-alone", "size-zero", "no-folder"],
)
def test_bad_upload_options_are_a_clear_error(monkeypatch, seed_index, options, message, capsys):
    calls = []
    monkeypatch.setattr(ui, "launch", lambda index, **kwargs: calls.append(kwargs))
    assert cli.main(["serve", "--index", str(seed_index.path), *options]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert calls == []


def test_upload_without_a_login_beyond_localhost_stops_qa_serve() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "qa", "serve", "--host", "0.0.0.0", "--allow-upload", "uploads"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "--allow-upload on 0.0.0.0 needs a login" in out.stderr
    assert not (REPO / "uploads").exists()
