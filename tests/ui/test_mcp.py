"""``qa serve --mcp``: an MCP client against a real server, with and without a login."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

import qa
import ui
from tests.conftest import PASSAGE_FIELDS, REPO
from tests.ui.serving import PASSWORD, USER

pytestmark = pytest.mark.slow

TOOLS = {"retrieve", "list_sources", "read_lines"}
QUESTION = "Wie viele Reservisten sollen mobilisiert werden?"
SECONDS = 60  # no MCP exchange may hang the suite longer


def _mcp_url(served: str) -> str:
    return f"{served.rstrip('/')}{ui.MCP_PATH}/"


@contextlib.asynccontextmanager
async def _session(served: str, **client: Any) -> AsyncIterator[ClientSession]:
    """An initialized MCP session with the served app; ``client``: httpx.AsyncClient options."""
    async with (
        asyncio.timeout(SECONDS),
        httpx.AsyncClient(**client) as http,
        streamable_http_client(_mcp_url(served), http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def _call(session: ClientSession, tool: str, **arguments: Any) -> Any:
    """Calls a tool that must succeed; returns its JSON result, parsed."""
    result = await session.call_tool(tool, arguments)
    assert not result.isError, result.content
    assert len(result.content) == 1 and result.content[0].type == "text"
    return json.loads(result.content[0].text)


async def _error(session: ClientSession, tool: str, **arguments: Any) -> str:
    """Calls a tool that must fail; returns its error message."""
    result = await session.call_tool(tool, arguments)
    assert result.isError
    return result.content[0].text


def _article_lines(index: qa.Index, source: str) -> list[str]:
    return index.source_text(source).removesuffix("\n").split("\n")


async def test_the_tools_are_exactly_retrieve_list_sources_and_read_lines(served_mcp):
    async with _session(served_mcp) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert len(tool.description) > 200, tool.name
    retrieve = tools["retrieve"]
    for words in (
        "citation",
        "relevance",
        str(qa.MIN_RELEVANCE),
        "read_lines",
        "sources",
        "since",
        "until",
        "pPAGE",
        "title",
        "date",
    ):
        assert words in retrieve.description
    assert set(retrieve.inputSchema["properties"]) == {"question", "k", "sources", "since", "until"}
    assert retrieve.inputSchema["required"] == ["question"]
    for name, parameter in retrieve.inputSchema["properties"].items():
        assert len(parameter["description"]) > 20, name
    assert "retrieve" in tools["read_lines"].description
    assert tools["read_lines"].inputSchema["required"] == ["source", "line_start", "line_end"]
    assert "page" in tools["read_lines"].inputSchema["properties"]
    assert "PDF" in tools["read_lines"].inputSchema["properties"]["page"]["description"]
    assert tools["list_sources"].inputSchema["properties"] == {}


async def test_retrieve_returns_the_index_s_passages_with_citations(served_mcp, seed_index):
    async with _session(served_mcp) as session:
        found = await _call(session, "retrieve", question=QUESTION, k=3)
        default_k = await _call(session, "retrieve", question=QUESTION)
    expected = seed_index.search(QUESTION, k=3)
    assert [row["citation"] for row in found] == [p.citation for p in expected]
    for row, passage in zip(found, expected, strict=True):
        assert set(row) == PASSAGE_FIELDS | {"citation"}
        assert row == pytest.approx({**passage.to_dict(), "citation": passage.citation})
    assert len(default_k) == ui.DEFAULT_K


async def test_retrieve_searches_only_the_chosen_sources(served_mcp, seed_index):
    best = seed_index.search(QUESTION, k=1)[0].source
    source = next(s for s in seed_index.sources if s != best)  # the filter must matter
    pattern = source.rsplit("_", 1)[0] + "_*"  # e.g. seeds/003_*
    expected = seed_index.search(QUESTION, k=4, sources=[pattern])
    async with _session(served_mcp) as session:
        found = await _call(session, "retrieve", question=QUESTION, k=4, sources=[pattern])
        exact = await _call(
            session, "retrieve", question=QUESTION, k=4, sources=[ui.source_pattern(source)]
        )
        unmatched = await _error(session, "retrieve", question=QUESTION, sources=["nowhere/*"])
        empty = await _error(session, "retrieve", question=" ")
    assert [row["citation"] for row in found] == [p.citation for p in expected]
    assert {row["source"] for row in found} == {source}
    assert exact == found
    assert "'nowhere/*' matches no indexed source" in unmatched
    assert "question is empty" in empty


async def test_retrieve_searches_only_articles_dated_within_since_and_until(served_mcp, seed_index):
    dated = {"since": "2022-01-01", "until": "2022-12-31"}
    expected = seed_index.search(QUESTION, k=3, **dated)
    assert expected and all(p.date for p in expected)  # one seed is dated: the filter matters
    async with _session(served_mcp) as session:
        found = await _call(session, "retrieve", question=QUESTION, k=3, **dated)
        early = await _call(session, "retrieve", question=QUESTION, until="2021")
        bad = await _error(session, "retrieve", question=QUESTION, since="bald")
    assert [row["citation"] for row in found] == [p.citation for p in expected]
    assert early == []
    with pytest.raises(ValueError) as message:
        seed_index.search(QUESTION, since="bald")
    assert str(message.value) in bad


async def test_list_sources_names_every_indexed_article(served_mcp, seed_index):
    async with _session(served_mcp) as session:
        listed = await _call(session, "list_sources")
    assert [row["source"] for row in listed] == list(seed_index.sources)
    for row in listed:
        info = seed_index.source_info(row["source"])
        assert row == {
            "source": info.source,
            "format": info.format,
            "title": info.title,
            "date": info.date,
            "passages": info.passages,
        }
    assert any(row["date"] for row in listed)


async def test_read_lines_returns_the_lines_of_an_indexed_article(served_mcp, seed_index):
    passage = seed_index.search(QUESTION, k=1)[0]
    lines = _article_lines(seed_index, passage.source)
    start, end = max(1, passage.line_start - 2), min(len(lines), passage.line_end + 2)
    async with _session(served_mcp) as session:
        read = await _call(
            session, "read_lines", source=passage.source, line_start=start, line_end=end
        )
        tail = await _call(
            session,
            "read_lines",
            source=passage.source,
            line_start=len(lines) - 1,
            line_end=len(lines) + 50,
        )
    assert read == {
        "source": passage.source,
        "page": None,
        "line_start": start,
        "line_end": end,
        "total_lines": len(lines),
        "text": "\n".join(lines[start - 1 : end]),
    }
    assert passage.text in read["text"]
    assert tail["line_end"] == len(lines)  # cut at the article's end
    assert tail["text"] == "\n".join(lines[-2:])


async def test_read_lines_stops_after_the_most_lines_one_call_returns(served_mcp, seed_index):
    source = max(seed_index.sources, key=lambda s: len(_article_lines(seed_index, s)))
    lines = _article_lines(seed_index, source)
    async with _session(served_mcp) as session:
        read = await _call(session, "read_lines", source=source, line_start=1, line_end=10_000)
    end = min(len(lines), ui.MAX_READ_LINES)
    assert read["line_end"] == end and read["text"] == "\n".join(lines[:end])


@pytest.mark.parametrize(
    ("source", "start", "end", "message"),
    [
        ("/etc/passwd", 1, 3, "is not an indexed article"),
        ("README.md", 1, 3, "is not an indexed article"),
        ("seeds/../README.md", 1, 3, "is not an indexed article"),
        ("seeds/*", 1, 3, "is not an indexed article"),
        (None, 0, 3, "line_start must be at least 1"),
        (None, 5, 3, "line_end (3) must not be before line_start (5)"),
        (None, 10_000, 10_001, "line_start (10000) is past the article's end"),
    ],
    ids=["absolute", "repo-file", "traversal", "glob", "zero", "reversed", "past-the-end"],
)
async def test_read_lines_refuses_other_files_and_bad_ranges(
    served_mcp, seed_index, source, start, end, message
):
    source = source or seed_index.sources[0]
    async with _session(served_mcp) as session:
        error = await _error(session, "read_lines", source=source, line_start=start, line_end=end)
    assert message in error and "Traceback" not in error


async def test_the_http_endpoint_is_not_a_tool(served_mcp):
    async with _session(served_mcp) as session:
        error = await _error(session, "retrieve_api", question=QUESTION)
    assert "Unknown tool" in error


def test_the_readme_example_runs(served_mcp, seed_index):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## MCP\n", 1)[1].split("\n## ", 1)[0]
    example = re.findall(r"^```python\n(.*?)^```", section, re.MULTILINE | re.DOTALL)[0]
    example = example.replace("http://127.0.0.1:7860/", served_mcp)
    done = subprocess.run(
        [sys.executable, "-c", example], capture_output=True, text=True, timeout=SECONDS
    )
    assert done.returncode == 0, done.stderr
    cited = [line.split(" ", 1)[0] for line in done.stdout.splitlines()]
    assert cited == [p.citation for p in seed_index.search("Wer kommentiert?", k=3)]


def test_without_the_mcp_option_there_is_no_mcp_route(served_login):
    assert httpx.get(_mcp_url(served_login), timeout=SECONDS).status_code == 404


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.mark.parametrize(
    "headers",
    [{}, _basic(USER, "wrong"), _basic("mallory", PASSWORD), {"Authorization": "Bearer x"}],
    ids=["none", "wrong-password", "unknown-user", "bearer"],
)
def test_mcp_without_the_login_is_refused(served_mcp_login, headers):
    base = _mcp_url(served_mcp_login)
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    accept = {"Accept": "application/json, text/event-stream"}
    with httpx.Client(headers=headers, timeout=SECONDS) as http:
        assert http.post(base, json=initialize, headers=accept).status_code == 401
        for path in ("", "schema", "http/", "messages/"):
            response = http.get(base + path)
            assert response.status_code == 401, path
            assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert http.get(base + "sse", headers={"Accept": "text/event-stream"}).status_code == 401


def _messages(exc: BaseException) -> str:
    """The messages of an exception and, for a group (anyio's task groups), its members."""
    if isinstance(exc, BaseExceptionGroup):
        return " ".join(_messages(member) for member in exc.exceptions)
    return str(exc)


async def test_an_mcp_client_without_the_login_cannot_connect(served_mcp_login):
    with pytest.raises(Exception) as info:
        async with _session(served_mcp_login):
            pass
    assert "401 Unauthorized" in _messages(info.value)


async def test_an_mcp_client_logs_in_with_basic_auth(served_mcp_login, seed_index):
    async with _session(served_mcp_login, auth=(USER, PASSWORD)) as session:
        tools = {tool.name for tool in (await session.list_tools()).tools}
        listed = await _call(session, "list_sources")
        found = await _call(session, "retrieve", question=QUESTION, k=2)
    assert tools == TOOLS
    assert [row["source"] for row in listed] == list(seed_index.sources)
    assert [row["citation"] for row in found] == [
        p.citation for p in seed_index.search(QUESTION, k=2)
    ]


async def test_an_mcp_client_logs_in_with_the_login_cookie(served_mcp_login, seed_index):
    async with httpx.AsyncClient(base_url=served_mcp_login) as http:
        login = await http.post("/login", data={"username": USER, "password": PASSWORD})
        assert login.status_code == 200
        cookies = http.cookies
    async with _session(served_mcp_login, cookies=cookies) as session:
        read = await _call(
            session, "read_lines", source=seed_index.sources[0], line_start=1, line_end=2
        )
    assert read["text"] == "\n".join(_article_lines(seed_index, seed_index.sources[0])[:2])
