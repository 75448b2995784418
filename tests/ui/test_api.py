"""The served app: the named /retrieve endpoint, its errors, and what the server exposes."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import qa
import ui

# Gradio's queue uses pandas options that pandas 3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")

FIELDS = {"source", "line_start", "line_end", "text", "score", "relevance", "highlight"}
FIRST = "Wen hat Putin zur Wahl beglückwünscht?"
FOLLOW_UP = "Und wo hat er sich mit ihm solidarisiert?"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(seed_index):
    app = ui.build_app(seed_index)
    app.launch(
        server_name="127.0.0.1",
        server_port=_free_port(),
        prevent_thread_lock=True,
        quiet=True,
    )
    try:
        yield app, app.local_url
    finally:
        app.close()


@pytest.fixture(scope="module")
def client(served):
    return Client(served[1], verbose=False)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_retrieve_returns_passages_as_json(client, seed_index):
    rows = client.predict(
        "Wie viele Reservisten sollen mobilisiert werden?", 3, api_name="/retrieve"
    )
    assert isinstance(rows, list) and len(rows) == 3
    expected = [
        p.to_dict()
        for p in seed_index.search("Wie viele Reservisten sollen mobilisiert werden?", k=3)
    ]
    for row, want in zip(rows, expected, strict=True):
        assert set(row) == FIELDS
        assert row["source"] in seed_index.sources
        assert isinstance(row["line_start"], int) and isinstance(row["line_end"], int)
        assert 1 <= row["line_start"] <= row["line_end"]
        assert isinstance(row["score"], float)
        assert isinstance(row["relevance"], float) and 0.0 <= row["relevance"] <= 1.0
        assert row["highlight"] in row["text"]
        assert row == pytest.approx(want)


def test_retrieve_k_defaults_to_five(client):
    assert len(client.predict("Putin", api_name="/retrieve")) == 5


def test_retrieve_takes_the_history_after_k(client, seed_index):
    rows = client.predict(FOLLOW_UP, 3, [FIRST], api_name="/retrieve")
    expected = [p.to_dict() for p in seed_index.search(FOLLOW_UP, k=3, history=[FIRST])]
    assert rows == expected
    alone = [p.to_dict() for p in seed_index.search(FOLLOW_UP, k=3)]
    assert rows != alone  # the history changed the search (JSON keeps the rounded floats)
    assert client.predict(FOLLOW_UP, 3, api_name="/retrieve") == alone
    assert client.predict(FOLLOW_UP, 3, [], api_name="/retrieve") == alone
    assert client.predict(FOLLOW_UP, 3, None, api_name="/retrieve") == alone
    by_name = client.predict(question=FOLLOW_UP, k=3, history=[FIRST], api_name="/retrieve")
    assert by_name == expected


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ("Wen hat Putin beglückwünscht?", "history must be a list of earlier questions"),
        ({"question": "x"}, "history must be a list of earlier questions"),
        ([FIRST, 42], "history entry 2 must be a string"),
        (["x" * 3_000], "history entry 1 is too long"),
        ([FIRST] * (qa.MAX_HISTORY_TURNS + 1), f"at most {qa.MAX_HISTORY_TURNS}"),
    ],
    ids=["string", "object", "number", "too-long", "too-many"],
)
def test_retrieve_refuses_bad_history_with_a_clear_message(client, history, message):
    with pytest.raises(AppError, match=message) as info:
        client.predict(FOLLOW_UP, 3, history, api_name="/retrieve")
    assert "Traceback" not in str(info.value)


def test_retrieve_description_tells_about_history_and_relevance(client):
    endpoint = client.view_api(print_info=False, return_format="dict")["named_endpoints"][
        "/retrieve"
    ]
    assert [p["parameter_name"] for p in endpoint["parameters"]] == ["question", "k", "history"]
    assert [p["parameter_has_default"] for p in endpoint["parameters"]] == [False, True, True]
    description = endpoint["description"]
    for word in ("relevance", "qa.MIN_RELEVANCE", "history", "follow-up"):
        assert word in description


@pytest.mark.parametrize(
    ("question", "k", "message"),
    [
        ("", 5, "question is empty"),
        ("   \n", 5, "question is empty"),
        ("Wer ist Putin?", 0, "k must be at least 1"),
        ("x" * 100_000, 5, "too long"),
    ],
    ids=["empty", "whitespace", "k0", "100kb"],
)
def test_retrieve_errors_are_clear_gradio_errors(client, question, k, message):
    with pytest.raises(AppError, match=message) as info:
        client.predict(question, k, api_name="/retrieve")
    assert "Traceback" not in str(info.value)


def test_retrieve_handles_other_scripts(client):
    for question in ("Сколько резервистов?", "普京动员了多少预备役人员\uff1f", "Putin\x00\x07?"):
        rows = client.predict(question, 2, api_name="/retrieve")
        assert len(rows) == 2 and set(rows[0]) == FIELDS


def test_only_retrieve_is_a_public_endpoint(client):
    endpoints = client.view_api(print_info=False, return_format="dict")
    assert set(endpoints["named_endpoints"]) == {"/retrieve"}
    assert not endpoints["unnamed_endpoints"]


def test_server_serves_no_files(served, seed_index):
    url = served[1].rstrip("/")
    source = seed_index.sources[0]
    for path in ("/etc/passwd", source, f"/{source}"):
        assert _status(f"{url}/gradio_api/file={path}") in {403, 404}
    assert _status(f"{url}/monitoring") in {403, 404}
    assert _status(f"{url}/") == 200


def test_share_links_are_refused(seed_index):
    app = ui.build_app(seed_index)
    with pytest.raises(ValueError, match="share"):
        app.launch(share=True, prevent_thread_lock=True)
    assert not app.share


def test_launch_helper_with_auth(seed_index):
    port = _free_port()
    app = ui.launch(
        seed_index,
        host="127.0.0.1",
        port=port,
        auth=[("reader", "s3cret")],
        prevent_thread_lock=True,
        quiet=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        assert _status(f"{url}/config") == 401
        client = Client(url, auth=("reader", "s3cret"), verbose=False)
        assert len(client.predict("Putin", 1, api_name="/retrieve")) == 1
    finally:
        app.close()
