"""Several collections in one app: ``qa serve --index news=DIR1 --index laws=DIR2``.

Against a real ``qa serve`` process over two real indexes (the seeds as ``news``, two
contract-law articles as ``laws``): ``/retrieve`` over plain HTTP and gradio_client, the
MCP tools; the chat's handlers in-process; and the picker in a browser.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import pytest
from gradio.utils import get_upload_folder
from gradio_client import Client
from gradio_client.exceptions import AppError
from prometheus_client.parser import text_string_to_metric_families

import qa
import ui
from qa import cli
from tests.conftest import LAWS, PASSAGE_FIELDS, REPO, write
from tests.ui.serving import PASSWORD, USER, free_port
from tests.ui.test_http import BASH_BLOCK, README_URL, _result, _run
from ui import texts
from ui.viewer import _viewer_placeholder

# Gradio's queue uses pandas options that pandas 3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::Warning")

MIETE = "Wer muss die Miete zahlen?"
RESERVISTEN = "Wie viele Reservisten umfasst die Teilmobilmachung?"
UNKNOWN = "unknown collection 'nope'; this server has: news, laws (default news)"
PARAMETERS = ["question", "k", "history", "sources", "since", "until"]


def _post(url: str, payload: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _dicts(passages: list[qa.Passage]) -> list[dict[str, Any]]:
    return [p.to_dict() for p in passages]


# --- /retrieve against a real `qa serve` ---------------------------------------------------


@pytest.mark.slow
def test_two_collections_answer_separately_over_plain_http(
    served_collections, seed_index, laws_index
):
    run = f"{served_collections}gradio_api/run/retrieve"
    status, laws = _post(run, {"data": [MIETE, 2, [], [], None, None, "laws"]})
    assert status == 200 and laws["data"][0] == _dicts(laws_index.search(MIETE, k=2))
    assert laws["data"][0][0]["source"].endswith("laws/miete.txt")
    status, news = _post(run, {"data": [MIETE, 2, [], [], None, None, "news"]})
    assert status == 200 and news["data"][0] == _dicts(seed_index.search(MIETE, k=2))
    # Without a collection (trailing parameters left out, or null): the first one, news.
    for data in ([MIETE, 2], [MIETE, 2, [], [], None, None, None]):
        assert _post(run, {"data": data})[1]["data"][0] == news["data"][0]
    # The other parameters work within a collection as before.
    source = ui.source_pattern(sorted(laws_index.sources)[0])  # kauf.txt
    status, only = _post(run, {"data": [MIETE, 2, [], [source], None, None, "laws"]})
    assert only["data"][0] == _dicts(laws_index.search(MIETE, k=2, sources=[source]))


@pytest.mark.slow
def test_the_queued_calls_take_the_collection_by_position_and_by_name(
    served_collections, laws_index
):
    api = f"{served_collections}gradio_api"
    expected = _dicts(laws_index.search(MIETE, k=3))
    for post, payload in (
        ("call/retrieve", {"data": [MIETE, 3, [], [], None, None, "laws"]}),
        ("call/v2/retrieve", {"question": MIETE, "k": 3, "collection": "laws"}),
    ):
        status, answer = _post(f"{api}/{post}", payload)
        assert status == 200, answer
        with urllib.request.urlopen(f"{api}/call/retrieve/{answer['event_id']}") as stream:
            events = stream.read().decode()
        complete = next(e for e in events.split("\n\n") if e.startswith("event: complete"))
        assert json.loads(complete.split("\ndata: ", 1)[1])[0] == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    ("post", "payload"),
    [
        ("run/retrieve", {"data": [MIETE, 2, [], [], None, None, "nope"]}),
        ("call/retrieve", {"data": [MIETE, 2, [], [], None, None, "nope"]}),
        ("call/v2/retrieve", {"question": MIETE, "collection": "nope"}),
        ("run/mcp_list_sources", {"data": ["nope"]}),
    ],
    ids=["run", "call", "call-v2", "mcp-endpoint"],
)
def test_an_unknown_collection_is_a_400_naming_the_known_ones(served_collections, post, payload):
    status, answer = _post(f"{served_collections}gradio_api/{post}", payload)
    assert status == 400
    assert answer["error"] == UNKNOWN


def test_without_the_login_an_unknown_collection_is_refused_unnamed(collections):
    app = ui.launch(
        collections, port=free_port(), auth=[(USER, PASSWORD)], prevent_thread_lock=True
    )
    try:
        run = f"{app.local_url}gradio_api/run/retrieve"
        payload = {"data": [MIETE, 2, [], [], None, None, "nope"]}
        status, answer = _post(run, payload)
        assert status == 401 and "news" not in json.dumps(answer)
        basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        status, answer = _post(run, payload, {"Authorization": f"Basic {basic}"})
        assert (status, answer["error"]) == (400, UNKNOWN)
    finally:
        app.close()


@pytest.mark.slow
def test_gradio_client_names_a_collection(served_collections, laws_index):
    client = Client(served_collections, verbose=False)
    hits = client.predict(question=MIETE, k=2, collection="laws", api_name="/retrieve")
    assert hits == _dicts(laws_index.search(MIETE, k=2))
    with pytest.raises(AppError, match="unknown collection 'nope'; this server has: news, laws"):
        client.predict(question=MIETE, collection="nope", api_name="/retrieve")


@pytest.mark.slow
def test_the_api_description_names_the_collections(served_collections):
    with urllib.request.urlopen(f"{served_collections}gradio_api/openapi.json") as response:
        openapi = json.load(response)
    post = openapi["paths"]["/gradio_api/call/v2/retrieve"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert list(schema) == [*PARAMETERS, "collection"]
    assert (
        "without a date are then left out. The optional collection (the last parameter) "
        'says which to use: one of "news", "laws"; default "news".'
    ) in post["description"]


def _readme_blocks() -> list[str]:
    """The ``bash`` blocks of the README's section on collections that call the app."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Several collections\n", 1)[1].split("\n## ", 1)[0]
    return [block for block in BASH_BLOCK.findall(section) if README_URL in block]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's calls need curl")
def test_the_readme_s_calls_answer_as_printed(served_collections, laws_index, tmp_path):
    blocks = _readme_blocks()
    assert len(blocks) == 3
    expected = _dicts(laws_index.search(MIETE, k=3))
    for block in blocks[:2]:
        assert '"laws"' in block
        assert _result(_run(block, served_collections, tmp_path)) == expected
    printed = blocks[2].splitlines()[-1].removeprefix("# ")
    refused = blocks[2].splitlines()[0] + " -w ' %{http_code}'"
    assert _run(refused, served_collections, tmp_path) == f"{printed} 400"


# --- MCP against the same server -----------------------------------------------------------


@contextlib.asynccontextmanager
async def _mcp(served: str) -> Any:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with (
        asyncio.timeout(60),
        httpx.AsyncClient() as http,
        streamable_http_client(f"{served.rstrip('/')}{ui.MCP_PATH}/", http_client=http) as (
            read,
            write,
            _,
        ),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def _text(session: Any, tool: str, **arguments: Any) -> tuple[bool, str]:
    result = await session.call_tool(tool, arguments)
    return result.isError, result.content[0].text


@pytest.mark.slow
async def test_mcp_tools_take_the_collection(served_collections, seed_index, laws_index):
    source = "laws/miete.txt"
    miete = next(s for s in laws_index.sources if s.endswith(source))
    async with _mcp(served_collections) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        retrieved = await _text(session, "retrieve", question=MIETE, k=2, collection="laws")
        default = await _text(session, "retrieve", question=MIETE, k=2)
        listed = await _text(session, "list_sources", collection="laws")
        read = await _text(
            session, "read_lines", source=miete, line_start=1, line_end=3, collection="laws"
        )
        elsewhere = await _text(session, "read_lines", source=miete, line_start=1, line_end=3)
        unknown = await _text(session, "retrieve", question=MIETE, collection="nope")
    assert set(tools) == {"retrieve", "list_sources", "read_lines"}
    for tool in tools.values():
        described = tool.inputSchema["properties"]["collection"]["description"]
        assert described == 'Which collection to use: one of "news", "laws"; default "news".'
        assert "collection" not in tool.inputSchema.get("required", [])
    assert not retrieved[0]
    rows = json.loads(retrieved[1])
    assert [r["citation"] for r in rows] == [p.citation for p in laws_index.search(MIETE, k=2)]
    assert set(rows[0]) == PASSAGE_FIELDS | {"citation"}
    assert [r["citation"] for r in json.loads(default[1])] == [
        p.citation for p in seed_index.search(MIETE, k=2)
    ]
    assert [s["source"] for s in json.loads(listed[1])] == list(laws_index.sources)
    assert json.loads(read[1])["text"].startswith("Pflichten aus dem Mietvertrag")
    assert elsewhere[0] and "is not an indexed article" in elsewhere[1]  # not in news
    assert unknown == (True, UNKNOWN)


# --- One collection: today's app -----------------------------------------------------------


def test_one_collection_is_the_app_of_its_index(seed_index):
    plain = ui.build_app(seed_index, mcp=True)
    for one in (qa.Collections.of(seed_index), qa.Collections({"news": seed_index})):
        app = ui.build_app(one, mcp=True)
        assert app.get_api_info() == plain.get_api_info()
        assert "qa-collection" not in json.dumps(app.get_config_file(), default=str)
    tools = ui.mcp_tools(qa.Collections({"news": seed_index}))
    for tool, today in zip(tools, ui.mcp_tools(seed_index), strict=True):
        assert (tool.__name__, tool.__doc__) == (today.__name__, today.__doc__)
        assert "collection" not in str(tool.__signature__)
    several = ui.build_app(qa.Collections({"news": seed_index, "b": seed_index}))
    retrieve = several.get_api_info()["named_endpoints"]["/retrieve"]
    assert [p["parameter_name"] for p in retrieve["parameters"]] == [*PARAMETERS, "collection"]
    assert "qa-collection" in json.dumps(several.get_config_file(), default=str)


@pytest.mark.slow
def test_one_named_collection_serves_the_api_of_today(seed_index, tmp_path):
    from tests.ui.serving import qa_serve

    with qa_serve(f"news={seed_index.path}") as url:
        with urllib.request.urlopen(f"{url}gradio_api/info") as response:
            info = json.load(response)
        status, answer = _post(f"{url}gradio_api/run/retrieve", {"data": [RESERVISTEN, 3]})
    parameters = info["named_endpoints"]["/retrieve"]["parameters"]
    assert [p["parameter_name"] for p in parameters] == PARAMETERS
    assert status == 200 and answer["data"][0] == _dicts(seed_index.search(RESERVISTEN, k=3))


# --- The chat's handlers -------------------------------------------------------------------


def _handler(app: gr.Blocks, name: str) -> Callable[..., Any]:
    """The app's event function called ``name`` (one of the closures of build_app)."""
    return next(f.fn for f in app.fns.values() if f.fn is not None and f.fn.__name__ == name)


def test_the_chat_answers_from_the_chosen_collection(collections, seed_index, laws_index):
    app = ui.build_app(collections)
    respond = _handler(app, "respond")
    chat, _, hits, _, viewer, conversation, _ = respond(MIETE, 3, [], [], [], "laws", [], None)
    assert [h["citation"] for h in hits] == [p.citation for p in laws_index.search(MIETE, k=3)]
    assert conversation == [MIETE] and "Mietvertrag" in viewer and len(chat) == 2
    _, _, news_hits, _, _, _, _ = respond(RESERVISTEN, 3, [], [], [], "news", [], None)
    assert [h["citation"] for h in news_hits] == [
        p.citation for p in seed_index.search(RESERVISTEN, k=3)
    ]
    # A citation opens in the collection it came from.
    open_citation = _handler(app, "open_citation")
    assert "Mietvertrag" in open_citation(hits[0]["citation"], hits, "laws", None)
    assert "qa-error" in open_citation(hits[0]["citation"], hits, "news", None)


def test_a_vote_names_the_collection_that_answered(collections, laws_index, tmp_path):
    feedback = tmp_path / "votes.jsonl"
    app = ui.build_app(collections, feedback=feedback)
    *_, answers = _handler(app, "respond")(MIETE, 3, [], [], [], "laws", [], None)
    status, voted = _handler(app, "cast_vote")("0:1:up:1", answers, [], None)
    assert voted == ["0:1"], status
    (line,) = [json.loads(x) for x in feedback.read_text("utf-8").splitlines()]
    best = laws_index.search(MIETE, k=1)[0]
    assert line["collection"] == "laws" and line["generation"] == laws_index.generation
    assert line["gold"] == [
        {"source": best.source, "line_start": best.line_start, "line_end": best.line_end}
    ]


def test_readiness_and_metrics_cover_each_collection(collections, seed_index, laws_index):
    operations = ui.Operations(collections)
    ready, body = asyncio.run(operations.readiness())
    assert ready and body["collections"] == {
        "news": {"generation": seed_index.generation, "passages": len(seed_index)},
        "laws": {"generation": laws_index.generation, "passages": len(laws_index)},
    }
    samples = {
        (s.name, s.labels.get("collection")): s.value
        for family in text_string_to_metric_families(operations.metrics_text().decode())
        for s in family.samples
    }
    assert samples[("qa_passages_indexed", "news")] == len(seed_index)
    assert samples[("qa_passages_indexed", "laws")] == len(laws_index)
    assert samples[("qa_sources_indexed", "laws")] == len(laws_index.sources)


def test_picking_a_collection_starts_a_new_conversation(collections, laws_index):
    app = ui.build_app(collections)
    chat, hits, citation, viewer, conversation, articles, generation = _handler(
        app, "pick_collection"
    )("laws", None)
    assert chat["value"] == [] and hits == [] and conversation == []
    assert citation["value"] is None and citation["choices"] == []
    assert viewer == _viewer_placeholder(texts.Language.DE)
    overview = ui.format_overview(laws_index, texts.Language.DE, True)
    assert chat["placeholder"] == overview and "2 Artikel, 4 Textstellen" in overview
    assert [e["text"] for e in chat["examples"]] == ui.example_questions(laws_index)
    assert articles == {"__type__": "update", "choices": list(laws_index.sources), "value": []}
    assert generation == laws_index.generation
    # The page then follows the chosen collection's generations.
    follow = _handler(app, "follow_index")
    assert follow(generation, "laws", None) == (gr.skip(), gr.skip(), generation)
    _, news_articles, news_generation = follow(generation, "news", None)
    assert news_articles["choices"] == list(collections["news"].sources)
    assert news_generation == collections["news"].generation


def test_given_examples_are_offered_in_every_collection(collections):
    app = ui.build_app(collections, ["Wer haftet?"])
    chat = _handler(app, "pick_collection")("laws", None)[0]
    assert [e["text"] for e in chat["examples"]] == ["Wer haftet?"]
    chat = _handler(ui.build_app(collections, []), "pick_collection")("laws", None)[0]
    assert chat["examples"] is None


@pytest.fixture
def fresh_collections(tmp_path: Path) -> qa.Collections:
    """Two small collections of their own (an upload changes them)."""
    indexes = {}
    for name, articles in (
        ("news", {"hafen.txt": "Der Hafen meldet einen Rekord.\n"}),
        ("laws", LAWS),
    ):
        for file, text in articles.items():
            write(tmp_path / name / file, text)
        indexes[name] = qa.Index.build([tmp_path / name], tmp_path / f"{name}-index")
    return qa.Collections(indexes)


@pytest.fixture
def uploaded() -> Iterator[Callable[[str, str], dict[str, str]]]:
    """Makes a file in Gradio's upload folder, as an upload leaves it there."""
    folders = []

    def make(name: str, text: str) -> dict[str, str]:
        folder = Path(get_upload_folder()) / f"qa-test-{uuid.uuid4().hex}"
        folders.append(folder)
        path = write(folder / name, text)
        return {"path": str(path), "orig_name": name}

    yield make
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def test_an_upload_goes_into_the_chosen_collection(fresh_collections, uploaded, tmp_path):
    app = ui.build_app(fresh_collections, upload_dir=tmp_path / "uploads")
    add_articles = _handler(app, "add_articles")
    text = "Werkvertrag\n\nDer Unternehmer schuldet die Herstellung des versprochenen Werkes.\n"
    page, articles = add_articles([uploaded("werk.txt", text)], "laws", None)
    saved = tmp_path / "uploads" / "laws" / "werk.txt"
    assert saved.read_text(encoding="utf-8") == text
    source = f"{tmp_path / 'uploads' / 'laws'}/werk.txt"
    assert ui.escape_text(source) in page and source in articles["choices"]
    assert source in fresh_collections["laws"].sources
    assert all("uploads" not in s for s in fresh_collections["news"].sources)
    hits = fresh_collections["laws"].search("Wer schuldet die Herstellung des Werkes?", k=1)
    assert hits[0].source == source
    # The other collection's uploads go into its own folder, and only into it.
    add_articles([uploaded("kai.txt", "Der Kai wird verlängert.\n")], "news", None)
    assert (tmp_path / "uploads" / "news" / "kai.txt").is_file()
    assert f"{tmp_path / 'uploads' / 'news'}/kai.txt" in fresh_collections["news"].sources
    assert not any(s.endswith("kai.txt") for s in fresh_collections["laws"].sources)


# --- qa serve's --index specs --------------------------------------------------------------


def test_several_indexes_reach_the_ui_as_collections(monkeypatch, seed_index, laws_index, capsys):
    calls = []
    monkeypatch.setattr(ui, "launch", lambda index, **kwargs: calls.append(index))
    options = ["--index", f"news={seed_index.path}", "--index", f"laws={laws_index.path}"]
    assert cli.main(["serve", *options]) == 0
    assert calls[0].names == ("news", "laws")
    assert calls[0]["laws"].sources == laws_index.sources
    assert f"serving news={seed_index.path}, laws={laws_index.path} on" in capsys.readouterr().err
    assert cli.main(["serve", *options, "--allow-upload", "up"]) == 0
    assert "go to up/NAME, the chosen collection's folder" in capsys.readouterr().err
    assert cli.main(["serve", "--index", str(seed_index.path)]) == 0
    assert not calls[2].several and calls[2].index().sources == seed_index.sources
    assert f"qa: serving {seed_index.path} on" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["News=A"], "'News=A': the name 'News' is not allowed: a collection name is 1 to 40"),
        (["news=A", "news=B"], "'news=B': the name 'news' is already taken by 'news=A'"),
        (["A", "laws=B"], "'A' has no name: with several indexes, give each one as NAME=DIR"),
        (["news="], "'news=': no index folder after 'news='"),
    ],
    ids=["bad-name", "name-twice", "unnamed", "no-folder"],
)
def test_bad_index_specs_are_a_clear_error(monkeypatch, capsys, specs, message):
    calls = []
    monkeypatch.setattr(ui, "launch", lambda index, **kwargs: calls.append(index))
    options = [option for spec in specs for option in ("--index", spec)]
    assert cli.main(["serve", *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"qa: error: {message}") and "Traceback" not in err
    assert calls == []


def test_a_missing_index_stops_qa_serve_naming_its_collection(seed_index, tmp_path):
    missing = tmp_path / "gone"
    options = ["--index", f"news={seed_index.path}", "--index", f"laws={missing}"]
    out = subprocess.run(
        [sys.executable, "-m", "qa", "serve", *options],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"qa: error: collection 'laws' (laws={missing}): no index at {missing}" in out.stderr


# --- The picker in a browser ---------------------------------------------------------------


@pytest.fixture(scope="module")
def collections_url(collections) -> Iterator[str]:
    app = ui.launch(collections, port=free_port(), prevent_thread_lock=True)
    try:
        yield app.local_url
    finally:
        app.close()


def _ask(page: Any, question: str) -> list[str]:
    """Asks in the open chat; returns the citations of the answer."""
    answers = page.locator("#qa-chat .qa-answer").count()
    page.fill("#qa-question textarea", question)
    page.click("#qa-ask")
    page.wait_for_function(
        "n => document.querySelectorAll('#qa-chat .qa-answer').length > n", arg=answers
    )
    return page.locator("#qa-chat .qa-answer").last.locator(".qa-cite code").all_inner_texts()


@pytest.mark.browser
def test_the_picker_switches_collection_and_starts_afresh(
    page, collections_url, seed_index, laws_index, artifacts
):
    page.goto(collections_url)
    page.wait_for_selector("#qa-chat .qa-overview")
    assert page.input_value("#qa-collection input") == "news"
    news = f"{len(seed_index.sources)} Artikel, {len(seed_index)} Textstellen"
    assert news in page.inner_text("#qa-chat .qa-overview")
    assert _ask(page, MIETE) == [p.citation for p in seed_index.search(MIETE, k=5)]

    page.click("#qa-collection input")
    page.locator("ul[role=listbox] li", has_text="laws").first.click()
    page.wait_for_function(
        "() => document.querySelector('#qa-chat .qa-overview')"
        "?.innerText.includes('2 Artikel, 4 Textstellen')"
    )
    assert page.locator("#qa-chat .qa-answer").count() == 0  # a new conversation
    for example in ui.example_questions(laws_index):
        assert page.locator("#qa-chat button", has_text=example).count() == 1
    cited = _ask(page, MIETE)
    assert cited == [p.citation for p in laws_index.search(MIETE, k=5)]
    page.wait_for_selector("#qa-viewer .qa-cited")
    assert "Mietvertrag" in page.inner_text("#qa-viewer")
    page.click("#qa-articles input")
    assert page.locator("ul[role=listbox] li").all_inner_texts() == list(laws_index.sources)
    page.screenshot(path=str(artifacts / "collections.png"), full_page=True)
