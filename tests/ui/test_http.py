"""The README's plain-HTTP calls, run as printed (with curl) against ``qa serve``.

The commands come from the README's ``bash`` blocks, so the two cannot drift apart; only
the port is changed to the served app's.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import qa
from tests.conftest import REPO
from tests.ui.serving import PASSWORD, USER

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("curl") is None, reason="the README's calls need curl"),
]

SECTION = "## Web UI and API for other tools"
README_URL = "http://127.0.0.1:7860"
ONE_SHOT = (
    "curl -s -X POST http://127.0.0.1:7860/gradio_api/run/retrieve "
    "-H 'Content-Type: application/json' -d '{\"data\": [\"Wer kommentiert?\", 3]}'"
)
BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)
PAYLOAD = re.compile(r"-d '(\{.*?\})'")


def _blocks() -> list[str]:
    """The ``bash`` blocks of the README's API section that call the served app."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return [block for block in BASH_BLOCK.findall(section) if README_URL in block]


def _login_blocks() -> list[str]:
    return [block for block in _blocks() if "/login" in block]


def _retrieve_blocks() -> list[str]:
    return [block for block in _blocks() if "/login" not in block and "retrieve" in block]


def _run(block: str, served: str, cwd: Path) -> str:
    """Runs a README block against the served app; returns what it prints."""
    script = block.replace(README_URL, served.rstrip("/"))
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _json_values(text: str) -> list[Any]:
    """The JSON values printed one after another (curl adds no newline between them)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while at < len(text.rstrip()):
        value, at = decoder.raw_decode(text, at)
        values.append(value)
        while at < len(text) and text[at].isspace():
            at += 1
    return values


def _result(output: str) -> list[dict[str, Any]]:
    """The passages in a one-shot answer (``{"data": [...]}``) or an event stream."""
    if output.startswith("event:"):
        events = output.split("\n\n")
        complete = next(e for e in events if e.startswith("event: complete\n"))
        return json.loads(complete.split("\ndata: ", 1)[1])[0]
    return _json_values(output)[-1]["data"][0]


def _expected(block: str, index: qa.Index) -> list[dict[str, Any]]:
    """What the block's request must answer, from the index itself."""
    payload = json.loads(PAYLOAD.findall(block)[0])
    names = ("question", "k", "history", "sources", "since", "until")
    if "data" in payload:
        payload = dict(zip(names, payload["data"], strict=False))
    hits = index.search(
        payload["question"],
        payload.get("k", 5),
        history=payload.get("history") or (),
        sources=payload.get("sources"),
        since=payload.get("since"),
        until=payload.get("until"),
    )
    return [p.to_dict() for p in hits]


def test_the_readme_prints_the_calls():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert ONE_SHOT in readme
    blocks = _retrieve_blocks()
    assert any("/gradio_api/run/retrieve" in b for b in blocks)
    assert any("/gradio_api/call/retrieve" in b and "$EVENT_ID" in b for b in blocks)
    assert any("/gradio_api/call/v2/retrieve" in b for b in blocks)
    assert any('"2022-01-01", "2022-12-31"' in b for b in blocks)  # since and until
    assert any("openapi.json" in b for b in _blocks())
    assert len(_login_blocks()) == 1
    assert f"-d username={USER} -d password={PASSWORD}" in _login_blocks()[0]


def _block_id(block: str) -> str:
    endpoint = re.search(r"/gradio_api/(run|call/v2|call)/retrieve", block)
    return f"{endpoint[1] if endpoint else '?'} {PAYLOAD.findall(block)[0]}"


@pytest.mark.parametrize("block", _retrieve_blocks(), ids=_block_id)
def test_readme_call_answers_as_the_index_does(block, served_mcp, seed_index, tmp_path):
    found = _result(_run(block, served_mcp, tmp_path))
    assert found == _expected(block, seed_index)


def test_readme_call_with_the_login_cookie(served_login, seed_index, tmp_path):
    block = _login_blocks()[0]
    values = _json_values(_run(block, served_login, tmp_path))
    assert values[0] == {"success": True}
    assert values[-1]["data"][0] == _expected(block, seed_index)
    without = block.replace(" -b cookies.txt", "").splitlines()[-1]
    assert "Not authenticated" in _run(without, served_login, tmp_path)


def test_openapi_and_info_describe_retrieve(served_mcp, tmp_path):
    block = next(b for b in _blocks() if "openapi.json" in b)
    openapi, info = _json_values(_run(block, served_mcp, tmp_path))
    assert openapi["openapi"].startswith("3.")
    described = openapi["paths"]["/gradio_api/call/v2/retrieve"]["post"]
    properties = described["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert list(properties) == ["question", "k", "history", "sources", "since", "until"]
    assert "relevance" in described["description"]
    assert "/gradio_api/call/retrieve/{event_id}" in openapi["paths"]
    parameters = info["named_endpoints"]["/retrieve"]["parameters"]
    assert [p["parameter_name"] for p in parameters] == [*properties]
