"""The Ray engine (``vectorstore/build/ray.py``) builds the same index as the local engine.

What the slow tests prove: a build with ``--engine ray`` on a local Ray instance that the
build starts (raylet, GCS, a reading task worker and an embedding actor, each its own
process, talking over the network stack) gives the index a local build gives over the same
corpus of text, Markdown and HTML: the same sources (hashes, titles, dates, line maps), the
same passage rows (cited lines, kinds, pages, byte spans), texts and BM25 terms, vectors
with cosine ≥ 0.999 to the local ones, and the same top-5 citations for a dozen
questions. An incremental Ray build embeds only the changed file and again equals the
local build. Both the command line (``qa index --engine ray``) and
``Index.build(engine="ray")`` are run, and the build stops every Ray process it started.

How traffic stays on this machine: each Ray build runs in a child process inside new
network and PID namespaces (``unshare -n -p -f --mount-proc``, root only), whose only
interface is loopback; when the child ends, the kernel ends whatever it left behind in its
PID namespace. The child itself checks, after the build, that no process carrying its
``RAY_TMPDIR`` (every Ray process inherits it) is left, so a build that failed to stop Ray
fails the test. Where namespaces are not permitted, the child runs directly: the local
Ray instance then binds its ports to 127.0.0.1 (``vectorstore.build.ray``), and leftovers
are found the same way, killed by PID and reported.

What they cannot prove on one machine: multi-node behaviour, such as actors spread over
several nodes, files read on nodes that see the corpus through a shared file system, or
object transfer between nodes, and joining a cluster with ``--ray-address``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import qa
from qa.cli import main
from tests.conftest import REPO
from vectorstore import QAError, open_store

FORMATS = REPO / "tests" / "data" / "formats"
SEED_QUESTIONS = REPO / "tests" / "data" / "seed_questions.json"
QUESTIONS = [
    *(q["question"] for q in json.loads(SEED_QUESTIONS.read_text(encoding="utf-8"))[:10]),
    "Wohin schickt die NATO zusätzliche Soldaten?",
    "Wie reagierte der Kreml auf die Verlegung?",
]
HAS_RAY = importlib.util.find_spec("ray") is not None

# Runs one Ray build in the child: `cli ARGS…` through the command line, or
# `api CORPUS INDEX` through Index.build (printing its report); then waits for every other
# process carrying this child's RAY_TMPDIR to end, and prints what is left as JSON.
_CHILD = r"""
import dataclasses, json, os, sys, time
from pathlib import Path

marker = f"RAY_TMPDIR={os.environ['RAY_TMPDIR']}".encode()

def ours():
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids

import qa
from qa.cli import main

if sys.argv[1] == "cli":
    out = {"exit": main(sys.argv[2:])}
else:
    index = qa.Index.build([sys.argv[2]], sys.argv[3], engine="ray")
    out = {"report": dataclasses.asdict(index.build_report)}
deadline = time.monotonic() + 10
while (left := ours()) and time.monotonic() < deadline:
    time.sleep(0.2)
out["leftovers"] = left
print("RESULT " + json.dumps(out))
"""


def _namespaces() -> bool:
    """Whether child processes can run in their own network and PID namespaces."""
    if not (shutil.which("unshare") and shutil.which("ip")):
        return False
    probe = ["unshare", "-n", "-p", "-f", "--mount-proc", "--", "ip", "link", "set", "lo", "up"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def _processes_with(marker: bytes) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


# End to end: starts `milvus-lite server` on 127.0.0.1 (in the child's namespace, so that
# the Ray build reaches it over loopback), builds CORPUS with the Ray engine into
# `milvus:http://127.0.0.1:PORT`, prints the top-5 citations of each question, and stops
# the server by its PID; then checks for leftovers as _CHILD does.
_MILVUS_CHILD = (
    _CHILD[: _CHILD.index("import qa\n")]
    + r"""
import socket, subprocess
corpus, data, questions = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
server = subprocess.Popen(
    [sys.executable, "-m", "milvus_lite", "server", "--data-dir", data,
     "--host", "127.0.0.1", "--port", str(port)],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
try:
    deadline = time.monotonic() + 120
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit("milvus-lite server did not start")
            time.sleep(0.2)
    import qa
    location = f"milvus:http://127.0.0.1:{port}"
    index = qa.Index.build([corpus], location, engine="ray")
    hits = {q: [p.citation for p in index.search(q, k=5)] for q in questions}
    out = {"location": index.location, "passages": len(index), "hits": hits}
finally:
    server.terminate()
    server.wait(timeout=60)
"""
    + _CHILD[_CHILD.index("deadline = time.monotonic() + 10") :]
)


def _ray_child(*args: str, script: str = "") -> dict:
    """Runs ``_CHILD`` (or ``script``) with ``args`` on a Ray of its own; returns its JSON."""
    ray_tmp = Path(tempfile.mkdtemp(prefix="qa-ray-", dir="/tmp"))  # short: Ray's socket paths
    env = dict(os.environ, RAY_TMPDIR=str(ray_tmp))
    env.pop("RAY_ADDRESS", None)
    command = [sys.executable, "-c", script or _CHILD, *args]
    if NAMESPACES:
        command = [
            *("unshare", "-n", "-p", "-f", "--mount-proc", "--"),
            *("bash", "-c", 'ip link set lo up && exec "$@"', "bash", *command),
        ]
    try:
        done = subprocess.run(
            command, env=env, cwd=REPO, capture_output=True, text=True, timeout=600
        )
    finally:
        left = _processes_with(f"RAY_TMPDIR={ray_tmp}".encode())
        for pid in left:  # only processes that carry this build's own RAY_TMPDIR
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not left, f"Ray processes outlived the child: {left}"
    result = json.loads(done.stdout.rsplit("RESULT ", 1)[1])
    assert not result["leftovers"], f"the build left Ray processes: {result['leftovers']}"
    return result


NAMESPACES = sys.platform == "linux" and _namespaces()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A corpus (the seeds, a Markdown and an HTML article), built by both engines."""
    if not HAS_RAY:
        pytest.skip("ray is not installed: pip install 'qa[ray]'")
    root = tmp_path_factory.mktemp("ray-build")
    corpus = root / "corpus"
    shutil.copytree(REPO / "seeds", corpus)
    shutil.copy(FORMATS / "article.md", corpus)
    shutil.copy(FORMATS / "news.html", corpus)
    paths = {"corpus": corpus, "local": root / "local", "ray": root / "ray"}
    qa.Index.build([corpus], paths["local"])
    result = _ray_child(
        "cli", "index", str(corpus), "--index", str(paths["ray"]), "--engine", "ray"
    )
    assert result["exit"] == 0
    return paths


def _assert_same_index(local_dir: Path, ray_dir: Path) -> None:
    local, ray = open_store(local_dir).open(), open_store(ray_dir).open()
    assert ray.manifest.sources == local.manifest.sources  # names, hashes, spans, titles, dates
    assert ray.manifest.passage_count == local.manifest.passage_count
    assert np.array_equal(ray.passages, local.passages)  # lines, kinds, pages, byte spans
    for record in local.manifest.sources:
        line_map = local.line_map(record)
        assert (line_map is None) == (ray.line_map(record) is None)
        if line_map is not None:
            assert np.array_equal(ray.line_map(record), line_map)
    rows = np.arange(len(local.passages))
    for row in rows:
        assert ray.passage_text(row) == local.passage_text(row)
        assert ray.passage_terms(row) == local.passage_terms(row)
    cosines = np.einsum("ij,ij->i", ray.vectors_of(rows), local.vectors_of(rows))
    assert cosines.min() >= 0.999
    local_index, ray_index = qa.Index.load(local_dir), qa.Index.load(ray_dir)
    for question in QUESTIONS:
        expected = [p.citation for p in local_index.search(question, k=5)]
        assert [p.citation for p in ray_index.search(question, k=5)] == expected, question


@pytest.mark.slow
def test_ray_build_equals_local_build(built: dict[str, Path]) -> None:
    _assert_same_index(built["local"], built["ray"])
    assert {Path(s).suffix for s in qa.Index.load(built["ray"]).sources} == {".txt", ".md", ".html"}


@pytest.mark.slow
def test_incremental_ray_build_embeds_only_the_changed_file(built: dict[str, Path]) -> None:
    changed = built["corpus"] / "001_ae2599aca4f170f4.txt"
    with changed.open("a", encoding="utf-8") as f:
        f.write("\nNachtrag: Die Gespräche werden in der kommenden Woche fortgesetzt.\n")
    name = str(changed)
    report = _ray_child("api", str(built["corpus"]), str(built["ray"]))["report"]
    assert report["changed"] == [name]
    assert report["added"] == report["removed"] == []
    assert len(report["unchanged"]) == 6
    record = open_store(built["ray"]).open().source_record(name)
    assert report["embedded"] == record.passage_count > 0
    assert report["startup_seconds"] > 0
    local = qa.Index.build([built["corpus"]], built["local"]).build_report
    assert local.embedded == report["embedded"]
    assert local.startup_seconds == 0
    _assert_same_index(built["local"], built["ray"])


def test_local_build_does_not_import_ray(tmp_path: Path) -> None:
    script = (
        "import sys, qa\n"
        f"qa.Index.build([{str(REPO / 'seeds' / '003_2a0abf6ffe095541.txt')!r}], sys.argv[1])\n"
        "assert 'ray' not in sys.modules, 'ray was imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "index")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_ray_engine_without_ray_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    with pytest.raises(QAError, match=r"pip install 'qa\[ray\]'"):
        qa.Index.build([REPO / "seeds"], tmp_path / "index", engine="ray")
    assert (
        main(["index", str(REPO / "seeds"), "--index", str(tmp_path / "i"), "--engine", "ray"]) == 2
    )
    assert "pip install 'qa[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "index").exists()


def test_unknown_engine_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="spark"):
        qa.Index.build([REPO / "seeds"], tmp_path / "index", engine="spark")


@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed")
def test_ray_client_addresses_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(QAError, match="Ray Client"):
        qa.Index.build([REPO / "seeds"], tmp_path / "a", engine="ray", ray_address="ray://h:10001")
    monkeypatch.setenv("RAY_ADDRESS", "ray://h:10001")  # the default address
    with pytest.raises(QAError, match="--ray-address auto"):
        qa.Index.build([REPO / "seeds"], tmp_path / "b", engine="ray")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.slow
def test_ray_build_into_a_milvus_server_answers_like_a_local_build(
    built: dict[str, Path], tmp_path: Path
) -> None:
    """Ray workers embed, the driver publishes over the network to a Milvus server.

    Proves, on one machine: a multi-process build (Ray) writing through the Milvus network
    client (``milvus:http://127.0.0.1:PORT``, a ``milvus-lite server`` subprocess) gives
    the same passages and the same top-5 citations as a plain local build. Not proven:
    several nodes, or a Milvus cluster (distributed BM25 statistics, replicas).
    """
    pytest.importorskip("pymilvus", reason="pymilvus is not installed: pip install 'qa[milvus]'")
    corpus = str(built["corpus"])
    result = _ray_child(
        corpus, str(tmp_path / "milvus-data"), json.dumps(QUESTIONS), script=_MILVUS_CHILD
    )
    assert result["location"].startswith("milvus:http://127.0.0.1:")
    fresh = qa.Index.build([corpus], tmp_path / "local")  # the corpus as it is now
    assert result["passages"] == len(fresh)
    for question in QUESTIONS:
        expected = [p.citation for p in fresh.search(question, k=5)]
        assert result["hits"][question] == expected, question
