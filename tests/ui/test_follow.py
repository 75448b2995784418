"""A running ``qa serve`` answers from what ``qa index`` publishes, with no failed request."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

import qa
from tests.conftest import REPO, SEEDS, write

QUESTION = "Wann eröffnet Quedlinburg das Museum für Fachwerkbau?"
ARTICLE = (
    "Quedlinburg eröffnet Museum für Fachwerkbau\n\n"
    "Die Stadt Quedlinburg eröffnet im Mai ein Museum für Fachwerkbau in der Altstadt.\n"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ask(url: str) -> list[dict]:
    request = urllib.request.Request(
        f"{url}gradio_api/run/retrieve",
        data=json.dumps({"data": [QUESTION, 3]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"][0]


@pytest.mark.slow
def test_served_answers_follow_qa_index_without_a_failed_request(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    index_dir = tmp_path / "index"
    qa.Index.build([corpus], index_dir)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "qa", "serve", "--index", str(index_dir), "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    new_source = f"{corpus}/quedlinburg.txt"
    answers: list[tuple[float, str | None]] = []  # (time, first source, or None if failed)
    stop = threading.Event()

    def ask_in_a_loop() -> None:
        while not stop.is_set():
            try:
                hits = _ask(url)
                answers.append((time.monotonic(), hits[0]["source"]))
            except Exception as exc:  # every failure counts
                answers.append((time.monotonic(), f"failed: {exc}"))

    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _ask(url)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.5)
        client = threading.Thread(target=ask_in_a_loop)
        client.start()
        time.sleep(1)
        write(corpus / "quedlinburg.txt", ARTICLE)
        started = time.monotonic()
        out = subprocess.run(
            [sys.executable, "-m", "qa", "index", "--index", str(index_dir)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr
        published = time.monotonic()
        while time.monotonic() < published + 7:
            time.sleep(0.2)
        stop.set()
        client.join(timeout=60)
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=30)
    failed = [source for _, source in answers if source.startswith("failed")]
    assert not failed, failed[:3]
    before = [source for t, source in answers if t < started]
    assert before and new_source not in before
    found = [t for t, source in answers if source == new_source]
    assert found, f"{len(answers)} answers, none from the new article"
    assert found[0] - published <= 5, f"found {found[0] - published:.1f} s after publishing"
    # Once found, every later answer comes from the new generation.
    assert all(s == new_source for t, s in answers if t >= found[0])
