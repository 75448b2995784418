"""The container recipe, without a container engine (none installs here).

The Dockerfile is linted with hadolint and checked against the repository; the entry
script is linted with shellcheck and run for real, as the image runs it: on an articles
folder, with the index in a state folder, serving on a free port of 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, SEEDS
from tests.ui.serving import free_port

DOCKERFILE = REPO / "Dockerfile"
ENTRY = REPO / "scripts" / "docker-entrypoint.sh"
BIN = Path(sys.executable).parent  # the venv's qa, shellcheck and hadolint
START_SECONDS = 240


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is missing: pip install -e '.[test]' installs it")
    return str(path)


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions: (KEYWORD, arguments), continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text("utf-8"))
    lines = [x.strip() for x in text.splitlines() if x.strip() and not x.lstrip().startswith("#")]
    return [(x.split(None, 1)[0].upper(), x.split(None, 1)[1]) for x in lines]


def _env(port: int, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "QA_HOST": "127.0.0.1",
        "QA_PORT": str(port),
        **more,
    }


def test_dockerfile_lints_clean() -> None:
    out = subprocess.run(
        [_tool("hadolint"), "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_entry_script_lints_clean() -> None:
    out = subprocess.run(
        [_tool("shellcheck"), "--shell=sh", "--severity=style", str(ENTRY)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_dockerfile_builds_what_the_repository_holds() -> None:
    """CPU torch, a non-root user, the state volume, and COPY sources that exist and that
    .dockerignore lets into the build context."""
    steps = _instructions()
    runs = [args for key, args in steps if key == "RUN"]
    assert any(
        "torch==2.13.0" in r and "--index-url https://download.pytorch.org/whl/cpu" in r
        for r in runs
    )
    assert not any(re.search(r"cuda|cu1\d\d", r, re.IGNORECASE) for r in runs)
    (user,) = [args for key, args in steps if key == "USER"]
    assert user.split(":")[0] not in ("0", "root")
    assert ("VOLUME", '["/srv/state"]') in steps
    env = " ".join(args for key, args in steps if key == "ENV")
    port = re.search(r"QA_PORT=(\d+)", env)
    assert port and ("EXPOSE", port[1]) in steps
    allowed = [
        x[1:].rstrip("/")
        for x in (REPO / ".dockerignore").read_text("utf-8").splitlines()
        if x.startswith("!")
    ]
    copied = []
    for key, args in steps:
        if key != "COPY":
            continue
        *sources, _ = [a for a in args.split() if not a.startswith("--")]
        for source in sources:
            assert (REPO / source).exists(), source
            assert any(source == a or source.startswith(a + "/") for a in allowed), source
            copied.append(source)
    assert "scripts/docker-entrypoint.sh" in copied and "pyproject.toml" in copied
    (entry,) = [json.loads(args) for key, args in steps if key == "ENTRYPOINT"]
    assert entry == ["qa-entrypoint"]
    assert any(
        key == "COPY" and args.endswith("/usr/local/bin/qa-entrypoint") for key, args in steps
    )


def _healthcheck() -> list[str]:
    (args,) = [args for key, args in _instructions() if key == "HEALTHCHECK"]
    return json.loads(args.split("CMD", 1)[1])


@pytest.mark.slow
def test_entry_script_indexes_serves_and_reindexes(tmp_path: Path) -> None:
    """As in the image: index the articles folder, serve, answer the image's health check,
    stop on SIGINT; a second start re-indexes nothing that did not change."""
    articles = tmp_path / "articles"
    articles.mkdir()
    for seed in sorted(SEEDS.glob("*.txt"))[:2]:
        shutil.copy(seed, articles / seed.name)
    port = free_port()
    env = _env(port)
    log = tmp_path / "out.log"
    for start in ("first", "second"):
        with open(log, "w", encoding="utf-8") as out:
            proc = subprocess.Popen(
                [str(ENTRY), "--feedback", "state/feedback.jsonl"],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + START_SECONDS
            while True:
                assert proc.poll() is None, log.read_text("utf-8")
                assert time.monotonic() < deadline, "not ready in time:\n" + log.read_text()
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            check = subprocess.run(_healthcheck(), env=env, timeout=30)
            assert check.returncode == 0  # the image's HEALTHCHECK, as Docker runs it
            answer = httpx.post(
                f"http://127.0.0.1:{port}/gradio_api/run/retrieve",
                json={"data": ["Wer kommentiert?", 3]},
                timeout=60,
            )
            hits = answer.json()["data"][0]
            assert hits and all(h["source"].startswith("articles/") for h in hits)
        finally:
            proc.send_signal(signal.SIGINT)  # the image's STOPSIGNAL
            proc.wait(timeout=60)
        output = log.read_text("utf-8")
        added = "2 added" if start == "first" else "0 added, 0 changed, 0 removed, 2 unchanged"
        assert added in output, output
    assert (tmp_path / "state" / "index").is_dir()
    assert (tmp_path / "state" / "feedback.jsonl").exists()  # qa serve --feedback got it
    # A qa command alone, on the index the server used: qa eval on a question set.
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"question": "Wer kommentiert?", "gold": []}) + "\n")
    out = subprocess.run(
        [str(ENTRY), "eval", str(questions)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0 and "unanswerable rejected" in out.stdout, out.stderr


@pytest.mark.parametrize(
    ("settings", "args", "code", "message"),
    [
        ({"QA_ARTICLES": "missing"}, [], 2, "no articles folder at missing (mount one"),
        ({"QA_INDEX": "/proc/qa/index"}, [], 2, "cannot write the index folder's parent"),
        ({}, ["sh", "-c", "echo passed through"], 0, "passed through"),
        ({}, ["index", "--help"], 0, "usage: qa index"),
    ],
    ids=["no-articles", "unwritable-state", "other-command", "qa-command"],
)
def test_entry_script_errors_and_commands(tmp_path: Path, settings, args, code, message) -> None:
    (tmp_path / "articles").mkdir()
    out = subprocess.run(
        [str(ENTRY), *args],
        cwd=tmp_path,
        env=_env(free_port(), **settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == code and message in out.stdout + out.stderr, out.stderr
