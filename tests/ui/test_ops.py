"""/healthz, /readyz, /metrics and the request log of a real ``qa serve`` on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import qa
import ui
from tests.conftest import REPO
from tests.ui.serving import PASSWORD, USER, qa_serve
from tests.vectorstore.conftest import MilvusServer, milvus_server  # noqa: F401 - a fixture

pytestmark = pytest.mark.filterwarnings("ignore::Warning")

QUESTION = "Wie viele Reservisten umfasst die Teilmobilmachung?"


def _retrieve(url: str, *data: object, **kwargs: object) -> httpx.Response:
    return httpx.post(f"{url}gradio_api/run/retrieve", json={"data": list(data)}, **kwargs)


def _metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of a /metrics answer: (name, sorted labels) to value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _log_lines(output: Path) -> list[dict]:
    return [json.loads(x) for x in output.read_text("utf-8").splitlines() if x.startswith("{")]


@pytest.fixture(scope="module")
def served(seed_index: qa.Index, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """``qa serve`` without options: its URL and the file its output goes to."""
    output = tmp_path_factory.mktemp("served") / "out.log"
    with qa_serve(seed_index.path, output=output) as url:
        yield url, output


def test_health_and_readiness(served: tuple, seed_index: qa.Index) -> None:
    url, _ = served
    health = httpx.get(f"{url}healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = httpx.get(f"{url}readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "generation": seed_index.generation,
        "passages": len(seed_index),
    }
    assert httpx.head(f"{url}healthz").status_code == 200
    refused = httpx.post(f"{url}readyz")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"


def test_metrics_count_requests_and_describe_the_index(served: tuple, seed_index) -> None:
    url, _ = served
    before = _metrics(httpx.get(f"{url}metrics").text)
    assert _retrieve(url, QUESTION, 3).status_code == 200
    assert _retrieve(url, QUESTION, 0).status_code != 200  # k must be at least 1
    answer = httpx.get(f"{url}metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    after = _metrics(answer.text)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("qa_requests_total", route="retrieve", status="200") == 1
    assert grew("qa_requests_total", route="retrieve", status="400") == 1
    assert grew("qa_requests_total", route="metrics", status="200") == 1  # the first scrape
    assert grew("qa_search_seconds_count", route="retrieve") == 1  # k=0 never searched
    assert 0 < grew("qa_search_seconds_sum", route="retrieve") < 5
    assert after[("qa_passages_indexed", ())] == len(seed_index)
    assert after[("qa_sources_indexed", ())] == len(seed_index.sources)
    assert after[("qa_index_generation_info", (("name", seed_index.generation),))] == 1
    age = time.time() - seed_index.updated.timestamp()
    assert after[("qa_index_generation_age_seconds", ())] == pytest.approx(age, abs=60)
    assert after[("qa_feedback_votes_total", (("outcome", "recorded"), ("vote", "up")))] == 0


def test_one_json_line_per_request_without_the_question(served: tuple, seed_index) -> None:
    url, output = served
    sources = ["seeds/003_*"]
    assert _retrieve(url, QUESTION, 4, ["Was geschah?"], sources).status_code == 200
    expected = seed_index.search(QUESTION, k=4, history=["Was geschah?"], sources=sources)
    deadline = time.monotonic() + 10
    while not [x for x in _log_lines(output) if x.get("k") == 4] and time.monotonic() < deadline:
        time.sleep(0.1)
    line = next(x for x in _log_lines(output) if x.get("k") == 4)
    assert set(line) == {
        "time",
        "route",
        "status",
        "latency_ms",
        "k",
        "filters",
        "history",
        "passages",
        "top_relevance",
        "generation",
    }
    assert (line["route"], line["status"], line["history"]) == ("retrieve", 200, 1)
    assert line["filters"] == {"sources": sources}
    assert line["passages"] == len(expected) and line["generation"] == seed_index.generation
    assert line["top_relevance"] == pytest.approx(expected[0].relevance, abs=1e-3)
    assert line["time"].endswith("Z") and line["latency_ms"] > 0
    text = output.read_text("utf-8")
    assert "Reservisten" not in text and "Was geschah" not in text  # never the questions


def test_log_questions_writes_them(seed_index: qa.Index, tmp_path: Path) -> None:
    output = tmp_path / "out.log"
    with qa_serve(seed_index.path, "--log-questions", output=output) as url:
        assert _retrieve(url, QUESTION, 2, ["Was geschah?"]).status_code == 200
        time.sleep(0.5)
    line = next(x for x in _log_lines(output) if x["route"] == "retrieve")
    assert (line["question"], line["history_questions"]) == (QUESTION, ["Was geschah?"])


def test_health_outside_the_login_and_metrics_behind_it(served_login: str) -> None:
    url = served_login
    assert httpx.get(f"{url}healthz").status_code == 200
    assert httpx.get(f"{url}readyz").json()["status"] == "ready"
    refused = httpx.get(f"{url}metrics")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
    assert "qa_requests_total" not in refused.text
    assert httpx.get(f"{url}metrics", auth=(USER, "wrong")).status_code == 401
    allowed = httpx.get(f"{url}metrics", auth=(USER, PASSWORD))
    assert allowed.status_code == 200
    counted = _metrics(allowed.text)
    assert counted[("qa_requests_total", (("route", "metrics"), ("status", "401")))] >= 2


def test_apps_keep_their_own_metrics(seed_index: qa.Index) -> None:
    """Two apps in one process: each registry counts its own requests only."""
    first, second = ui.Operations(seed_index), ui.Operations(seed_index)
    with first.observe("retrieve", QUESTION, 2) as index:
        index.search(QUESTION, 2)
    count = ("qa_requests_total", (("route", "retrieve"), ("status", "200")))
    assert _metrics(first.metrics_text().decode())[count] == 1
    assert count not in _metrics(second.metrics_text().decode())


def test_bad_feedback_options_stop_qa_serve(seed_index: qa.Index, tmp_path: Path) -> None:
    for options, message in [
        (["--feedback-max-mb", "5"], "--feedback-max-mb needs --feedback FILE"),
        (["--feedback", str(tmp_path / "no" / "votes.jsonl")], "its folder does not exist"),
        (["--feedback", "v.jsonl", "--feedback-max-mb", "0"], "must be at least 1"),
    ]:
        out = subprocess.run(
            [sys.executable, "-m", "qa", "serve", "--index", str(seed_index.path), *options],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_not_ready_when_the_store_stops_answering(
    milvus_server: MilvusServer,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    """Served from a Milvus server that then stops: /readyz says 503, /healthz still 200."""
    location = f"milvus:{milvus_server.uri}#ops"
    index = qa.Index.build(["seeds"], location)
    with qa_serve(index.location, output=tmp_path / "out.log") as url:
        assert httpx.get(f"{url}readyz", timeout=30).status_code == 200
        milvus_server.stop()
        not_ready = httpx.get(f"{url}readyz", timeout=30)
        assert not_ready.status_code == 503
        assert not_ready.json()["status"] == "not ready" and not_ready.json()["reason"]
        assert httpx.get(f"{url}healthz").status_code == 200


def test_readme_names_every_metric_and_route(seed_index: qa.Index) -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme.split("## Running it as a service", 1)[1].split("\n## ", 1)[0]
    families = text_string_to_metric_families(ui.Operations(seed_index).metrics_text().decode())
    names = {  # without prometheus_client's own *_created series
        f.name + ("_total" if f.type == "counter" else "")
        for f in families
        if not f.name.endswith("_created")
    }
    assert names == {
        "qa_requests_total",
        "qa_search_seconds",
        "qa_passages_indexed",
        "qa_sources_indexed",
        "qa_index_generation_info",
        "qa_index_generation_age_seconds",
        "qa_feedback_votes_total",
    }
    for name in names:
        assert f"`{name}" in section, name
    for route in ("/healthz", "/readyz", "/metrics"):
        assert f"`GET {route}`" in section, route
    for option in ("--feedback", "--feedback-max-mb", "--log-questions", "--auth"):
        assert f"`{option}" in section, option
