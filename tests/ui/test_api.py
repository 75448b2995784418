"""The served app: the named /retrieve endpoint, its errors, and what the server exposes."""

from __future__ import annotations

import json
import re
import socket
import urllib.error
import urllib.request

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import qa
import ui
from tests.conftest import PASSAGE_FIELDS

# Gradio's queue uses pandas options that pandas 3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")

FIELDS = PASSAGE_FIELDS
FIRST = "Wen hat Putin zur Wahl beglückwünscht?"
FOLLOW_UP = "Und wo hat er sich mit ihm solidarisiert?"
QUESTION = "Wie viele Reservisten sollen mobilisiert werden?"


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
    names = [p["parameter_name"] for p in endpoint["parameters"]]
    assert names == ["question", "k", "history", "sources", "since", "until"]
    assert [p["parameter_has_default"] for p in endpoint["parameters"]] == [False] + [True] * 5
    description = endpoint["description"]
    for word in (
        "relevance",
        "qa.MIN_RELEVANCE",
        "history",
        "follow-up",
        "sources",
        "glob",
        "since",
        "until",
        "without a date",
    ):
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


def _other_source(index: qa.Index, question: str) -> str:
    """A source other than the one of the question's best passage: a filter must matter."""
    best = index.search(question, k=1)[0].source
    return next(source for source in index.sources if source != best)


def test_retrieve_takes_sources_after_the_history(client, seed_index):
    source = _other_source(seed_index, QUESTION)
    pattern = source.rsplit("_", 1)[0] + "_*"
    expected = [p.to_dict() for p in seed_index.search(QUESTION, k=3, sources=[pattern])]
    assert {row["source"] for row in expected} == {source}
    assert client.predict(QUESTION, 3, None, [pattern], api_name="/retrieve") == expected
    by_name = client.predict(question=QUESTION, k=3, sources=[pattern], api_name="/retrieve")
    assert by_name == expected
    everything = [p.to_dict() for p in seed_index.search(QUESTION, k=3)]
    assert client.predict(QUESTION, 3, None, [], api_name="/retrieve") == everything
    assert client.predict(QUESTION, 3, None, None, api_name="/retrieve") == everything


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (["nowhere/*"], "'nowhere/*' matches no indexed source"),
        (["seeds"], "for a folder's articles use 'seeds/**'"),
        ([42], "sources must be non-empty glob patterns"),
        ({"a": 1}, "sources must be a list of glob patterns"),
    ],
    ids=["unmatched", "folder", "number", "object"],
)
def test_retrieve_refuses_bad_sources_with_a_clear_message(client, sources, message):
    with pytest.raises(AppError, match=re.escape(message)) as info:
        client.predict(QUESTION, 3, None, sources, api_name="/retrieve")
    assert "Traceback" not in str(info.value)


DATED = ("2022-01-01", "2022-12-31")  # one seed article is dated 2022-01


def test_retrieve_takes_since_and_until_after_the_sources(client, seed_index):
    expected = [
        p.to_dict() for p in seed_index.search(QUESTION, k=3, since=DATED[0], until=DATED[1])
    ]
    dated = {s for s in seed_index.sources if seed_index.source_info(s).date}
    assert expected and {row["source"] for row in expected} <= dated  # the filter must matter
    assert client.predict(QUESTION, 3, None, None, *DATED, api_name="/retrieve") == expected
    by_name = client.predict(
        question=QUESTION, k=3, since=DATED[0], until=DATED[1], api_name="/retrieve"
    )
    assert by_name == expected
    only_since = [p.to_dict() for p in seed_index.search(QUESTION, k=3, since="2022")]
    assert client.predict(QUESTION, 3, None, None, "2022", api_name="/retrieve") == only_since
    assert client.predict(QUESTION, 3, None, None, None, "2021-12-31", api_name="/retrieve") == []


@pytest.mark.parametrize(
    ("since", "until", "word"),
    [("gestern", None, "since"), (None, "2022-13", "until"), (42, None, "since")],
    ids=["word", "month-13", "number"],
)
def test_retrieve_refuses_bad_dates_with_qa_s_message(client, seed_index, since, until, word):
    with pytest.raises(ValueError) as expected:
        seed_index.search(QUESTION, since=since, until=until)
    with pytest.raises(AppError) as info:
        client.predict(QUESTION, 3, None, None, since, until, api_name="/retrieve")
    assert str(expected.value) in str(info.value) and word in str(info.value)
    assert "Traceback" not in str(info.value)


def _post_json(url: str, payload: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


@pytest.mark.parametrize(
    "data",
    [
        [QUESTION],
        [QUESTION, 2],
        [QUESTION, 2, None],
        [QUESTION, 2, [], []],
        [QUESTION, 2, [], [], None],
    ],
    ids=["question", "k", "history", "sources", "since"],
)
def test_plain_http_may_leave_out_trailing_parameters(served, seed_index, data):
    answer = _post_json(f"{served[1]}gradio_api/run/retrieve", {"data": data})
    k = data[1] if len(data) > 1 else ui.DEFAULT_K
    assert answer["data"][0] == [p.to_dict() for p in seed_index.search(QUESTION, k=k)]


def test_plain_http_without_the_question_is_refused(served):
    with pytest.raises(urllib.error.HTTPError) as info:
        _post_json(f"{served[1]}gradio_api/run/retrieve", {"data": []})
    assert info.value.code >= 400


def test_chat_turn_answers_only_from_the_chosen_articles(seed_index):
    source = _other_source(seed_index, QUESTION)
    turn = ui.chat_turn(seed_index, QUESTION, 5, sources=[ui.source_pattern(source)])
    expected = seed_index.search(QUESTION, k=5, sources=[source])
    assert [h["citation"] for h in turn.hits] == [p.citation for p in expected]
    assert {h["source"] for h in turn.hits} == {source}
    assert turn.answer == ui.format_answer(expected)
    unmatched = ui.chat_turn(seed_index, QUESTION, 5, sources=["nowhere/*"])
    assert "qa-error" in unmatched.answer and unmatched.hits == [] and unmatched.question is None


def _tool(index: qa.Index, name: str):
    return next(tool for tool in ui.mcp_tools(index) if tool.__name__ == name)


def test_mcp_tools_answer_json_as_the_index_does(seed_index):
    assert [tool.__name__ for tool in ui.mcp_tools(seed_index)] == [
        "retrieve",
        "list_sources",
        "read_lines",
    ]
    found = json.loads(_tool(seed_index, "retrieve")(QUESTION, 2))
    assert found == [
        {**p.to_dict(), "citation": p.citation} for p in seed_index.search(QUESTION, k=2)
    ]
    listed = json.loads(_tool(seed_index, "list_sources")())
    assert [row["source"] for row in listed] == list(seed_index.sources)
    source = seed_index.sources[0]
    read = json.loads(_tool(seed_index, "read_lines")(source, 2, 3))
    assert read["text"] == "\n".join(seed_index.source_text(source).split("\n")[1:3])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("pyproject.toml", 1, 2), "'pyproject.toml' is not an indexed article"),
        ((None, "x", 2), "line_start must be a whole number"),
        ((None, 1, 2.5), "line_end must be a whole number"),
        ((None, 0, 2), "line_start must be at least 1"),
        ((None, 3, 2), "line_end (2) must not be before line_start (3)"),
    ],
    ids=["other-file", "text", "fraction", "zero", "reversed"],
)
def test_read_lines_errors_read_as_their_message(seed_index, arguments, message):
    source, start, end = arguments
    with pytest.raises(ui.ToolError) as info:
        _tool(seed_index, "read_lines")(source or seed_index.sources[0], start, end)
    assert message in str(info.value)
    assert str(info.value) == info.value.message  # what an MCP client reads: no repr quotes


def test_mcp_needs_an_app_with_tools(seed_index):
    app = ui.build_app(seed_index)
    with pytest.raises(ValueError, match="no MCP tools"):
        app.launch(mcp_server=True, prevent_thread_lock=True)
    assert ui.build_app(seed_index, mcp=True).mcp_endpoints == {
        "retrieve": "/mcp_retrieve",
        "list_sources": "/mcp_list_sources",
        "read_lines": "/mcp_read_lines",
    }
