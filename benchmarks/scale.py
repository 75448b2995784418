"""Scale benchmark: a Ray Data build against a local build, and what a cluster would take.

- ``builds``: on XQuAD-de (48 articles, 314 passages) and on a generated corpus of 10,000
  passages (``benchmarks/common/derived.py``'s text, embedded for real by the default model), a
  local build and a Ray build (``--engine ray`` on a local Ray instance that the build
  starts and stops), taking turns, each ``--rebuild`` in a fresh process inside a
  loopback-only network namespace (``unshare -n``, where permitted). Reports passages/s
  with and without Ray's start-up, Ray's start-up time, the peak memory of the build's
  whole process tree (PSS summed over the process and all its descendants, Ray's
  included; RSS too), and checks that both engines built the same index: passage rows and
  texts, vector cosines, and the top-5 citations and hit@1/hit@5/MRR@10 of the XQuAD-de
  questions.
- ``scaling``: the "Scaling out" table, computed from those measurements (per-node
  throughput, Ray's start-up, the driver's serial cost per passage, bytes per passage)
  and from the Milvus insert rate that ``benchmarks/backends.py`` measured (read from
  ``benchmarks/results/backends.json``; a marked placeholder if it is missing).

Writes ``benchmarks/results/scale.json`` and the "Ray builds" and "Scaling out" sections
of ``benchmarks/RESULTS.md`` (``--quick``: one round on XQuAD-de and a 1,000-passage
corpus, 200 questions, ``scale-quick.json`` only).

Usage:
    .venv/bin/python benchmarks/scale.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from common.args import arg_parser
from common.corpora import Question, prepare_xquad, qa_hits
from common.derived import link_tier, write_pool
from common.machine import provenance
from common.metrics import K, rank_of
from common.paths import DATA, REPO, RESULTS
from common.results import replace_section, write_json
from common.tables import markdown_table
from common.tiers import PER_FILE

SCALE = DATA / "scale"
BACKENDS = RESULTS / "backends.json"
ENGINES = ("local", "ray")
TARGET_RATIO = 0.8  # Ray passages/s (start-up apart) over local, on the 10k corpus
NODES = (1, 4, 16, 64, 256)
SIZES = (1_000_000, 10_000_000, 100_000_000)
# Assumed, not measured: what a driver's network link takes in (10 Gbit/s).
DRIVER_LINK_BYTES_PER_S = 1.25e9
MIB = 1 << 20


# --- the child: one build in a fresh process ------------------------------------------


def child(engine: str, folder: str, index_dir: str) -> None:
    """Builds ``folder`` into ``index_dir`` with ``engine``; prints the figures as JSON."""
    from common.derived import TimingEmbedder

    import qa
    from vectorstore.model.embedding import get_embedder, register_embedder

    timing = TimingEmbedder(get_embedder(qa.DEFAULT_MODEL))
    register_embedder(qa.DEFAULT_MODEL, timing)  # times the local engine's embedding
    start = time.perf_counter()
    index = qa.Index.build([folder], index_dir, rebuild=True, engine=engine)
    wall = time.perf_counter() - start
    report = index.build_report
    print(
        "RESULT "
        + json.dumps(
            {
                "passages": len(index),
                "embedded": report.embedded,
                "seconds": report.seconds,
                "startup_seconds": report.startup_seconds,
                "build_call_seconds": wall,
                "embed_seconds": timing.seconds if engine == "local" else None,
            }
        )
    )


# --- the parent: run, sample memory, compare ------------------------------------------


def _namespaces() -> bool:
    """Whether a child can run in a network namespace with only loopback."""
    if not (shutil.which("unshare") and shutil.which("ip")):
        return False
    probe = ["unshare", "-n", "--", "ip", "link", "set", "lo", "up"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def _memory(pid: int) -> tuple[int, int]:
    """Returns the PSS and RSS of a process in bytes (0, 0 once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("Pss", "Rss"):
            values[name] = int(rest.split()[0]) * 1024
    return values.get("Pss", 0), values.get("Rss", 0)


def _stat(pid: int) -> tuple[int, str, float] | None:
    """Returns a process's parent, name and CPU seconds so far, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    name, fields = text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1].split()
    if cmdline[0].startswith(b"ray::"):  # Ray names its workers by what they run
        name = cmdline[0].decode(errors="replace")
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return int(fields[1]), name, cpu


class TreeSampler:
    """Samples a process tree in a thread: peak summed PSS and RSS, CPU seconds by name."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid, self.interval = pid, interval
        self.peak_pss = self.peak_rss = self.peak_processes = 0
        self._cpu: dict[int, tuple[str, float]] = {}  # pid -> name, CPU seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        stats = {
            int(e.name): _stat(int(e.name)) for e in Path("/proc").iterdir() if e.name.isdigit()
        }
        children: dict[int, list[int]] = {}
        for pid, stat in stats.items():
            if stat is not None:
                children.setdefault(stat[0], []).append(pid)
        tree, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
            if stats.get(pid) is not None:
                self._cpu[pid] = (stats[pid][1], stats[pid][2])
        return tree

    def _run(self) -> None:
        while not self._stop.is_set():
            tree = self._tree()
            pss, rss = (sum(x) for x in zip(*(_memory(p) for p in tree), strict=True))
            self.peak_pss, self.peak_rss = max(self.peak_pss, pss), max(self.peak_rss, rss)
            self.peak_processes = max(self.peak_processes, len(tree))
            self._stop.wait(self.interval)

    def stop(self) -> dict[str, float]:
        """Stops sampling; returns the CPU seconds seen, summed by process name."""
        self._stop.set()
        self._thread.join()
        out: dict[str, float] = {}
        for name, cpu in self._cpu.values():
            out[name] = out.get(name, 0.0) + cpu
        return dict(sorted(out.items(), key=lambda item: -item[1]))


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


def run_build(engine: str, folder: Path, index_dir: Path, namespaces: bool) -> dict[str, Any]:
    """Runs one ``--rebuild`` in a fresh process; returns its figures and peak memory."""
    ray_tmp = Path(tempfile.mkdtemp(prefix="qa-ray-", dir="/tmp"))  # Ray's files; a marker
    env = dict(os.environ, RAY_TMPDIR=str(ray_tmp))
    env.pop("RAY_ADDRESS", None)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", engine]
    command += [str(folder), str(index_dir)]
    if namespaces:
        command = ["unshare", "-n", "--", "bash", "-c", 'ip link set lo up && exec "$@"']
        command += ["bash", sys.executable, str(Path(__file__).resolve()), "--child", engine]
        command += [str(folder), str(index_dir)]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    memory = TreeSampler(proc.pid)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    cpu = memory.stop()
    left = _processes_with(f"RAY_TMPDIR={ray_tmp}".encode())
    for pid in left:  # only processes that carry this run's own RAY_TMPDIR
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(ray_tmp, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} build of {folder} failed:\n{err[-4000:]}")
    result = json.loads(out.rsplit("RESULT ", 1)[1])
    result |= {
        "engine": engine,
        "process_seconds": wall,
        "peak_pss_bytes": memory.peak_pss,
        "peak_rss_bytes": memory.peak_rss,
        "peak_processes": memory.peak_processes,
        "cpu_seconds_by_process": cpu,
        "cpu_seconds": sum(cpu.values()),
        "leftover_processes": len(left),
        "loadavg_1m_at_start": round(load, 2),
    }
    pipeline = result["seconds"] - result["startup_seconds"]
    result["passages_per_s"] = result["passages"] / result["seconds"]
    result["passages_per_s_without_startup"] = result["passages"] / pipeline
    print(
        f"  {engine:5s} {result['passages']:,} passages in {result['seconds']:.1f} s "
        f"(Ray start-up {result['startup_seconds']:.1f} s): "
        f"{result['passages_per_s_without_startup']:.1f}/s without start-up; "
        f"peak PSS {memory.peak_pss / MIB:,.0f} MiB over {memory.peak_processes} processes"
    )
    return result


def compare(local_dir: Path, ray_dir: Path, questions: Sequence[Question]) -> dict[str, Any]:
    """Compares two indexes of the same corpus: rows, texts, vectors and answers."""
    import qa
    from vectorstore import open_store

    local, ray = open_store(local_dir).open(), open_store(ray_dir).open()
    rows = np.arange(len(local.passages))
    same_rows = bool(np.array_equal(local.passages, ray.passages))
    same_texts = same_rows and all(local.passage_text(r) == ray.passage_text(r) for r in rows)
    cosines = np.einsum("ij,ij->i", local.vectors_of(rows), ray.vectors_of(rows))
    out: dict[str, Any] = {
        "same_sources": local.manifest.sources == ray.manifest.sources,
        "same_rows": same_rows,
        "same_texts": same_texts,
        "min_cosine": float(cosines.min()),
    }
    if questions:
        indexes = {"local": qa.Index.load(local_dir), "ray": qa.Index.load(ray_dir)}
        same, ranks = 0, {"local": [], "ray": []}
        for q in questions:
            hits = {e: indexes[e].search(q.text, k=K) for e in indexes}
            same += [p.citation for p in hits["local"][:5]] == [p.citation for p in hits["ray"][:5]]
            for e in indexes:
                ranks[e].append(rank_of(qa_hits(hits[e]), q))
        out["questions"] = len(questions)
        out["same_top5"] = same / len(questions)
        for e, found in ranks.items():
            out[e] = {
                "hit@1": sum(r == 1 for r in found if r) / len(found),
                "hit@5": sum(r <= 5 for r in found if r) / len(found),
                "mrr@10": sum(1 / r for r in found if r) / len(found),
            }
    print(
        f"  same rows {same_rows}, texts {same_texts}, min cosine {out['min_cosine']:.6f}"
        + (f", same top 5 for {out['same_top5']:.1%} of questions" if questions else "")
    )
    return out


def _bytes_per_passage(index_dir: Path, folder: Path, files: int = 10) -> dict[str, float]:
    """Sizes per passage: of the index files, of what reaches the driver, of its memory.

    What reaches the driver is measured: the pickled embedded pieces of the corpus's first
    ``files`` files, as the embedding actors return them. The driver's memory for one
    generation is computed from the index files: its passage rows, term ids (twice while
    they are joined), BM25 postings and the dense index's copy of the vectors.
    """
    from vectorstore import open_store
    from vectorstore.build.pieces import BuildSettings, Piece, read_source
    from vectorstore.sources.files import discover, scan
    from vectorstore.store.local.folder import SENTENCE_DTYPE

    store = open_store(index_dir)
    reader = store.open()
    gen, n, dim = index_dir / store.current(), len(reader.passages), reader.manifest.dim

    def size(name: str) -> float:
        return (gen / name).stat().st_size / n

    out = {
        "text": size("documents.bin"),
        "rows": size("passages.npy"),
        "vector": size("vectors.npy"),
        "sentence_vectors": size("sentence_vectors.npy"),
        "terms": size("lexical_tokens.npy"),
        "bm25": size("bm25_data.npy") + size("bm25_indices.npy"),
    }
    payload = passages = 0
    for name, path in list(discover([str(folder)]).items())[:files]:
        for part in read_source(scan(name, path), BuildSettings()):
            if isinstance(part, Piece):
                part = replace(
                    part,
                    texts=[],
                    spans=[],
                    vectors=np.zeros((len(part.rows), dim), np.float32),
                    sentence_vectors=[np.zeros((len(s), dim), SENTENCE_DTYPE) for s in part.spans],
                )
                passages += len(part.rows)
            payload += len(pickle.dumps(part, pickle.HIGHEST_PROTOCOL))
    out["to_driver"] = payload / passages
    out["driver_memory"] = out["rows"] + 2 * out["terms"] + 16 + out["bm25"] + out["vector"]
    return out


def part_builds(
    corpora: dict[str, Path], questions: Sequence[Question], rounds: dict[str, int]
) -> dict[str, Any]:
    """Alternates local and Ray builds of each corpus; compares the results."""
    namespaces = _namespaces()
    print(f"child builds {'in a loopback-only network namespace' if namespaces else 'as is'}")
    out: dict[str, Any] = {"namespace": namespaces, "corpora": {}}
    for name, folder in corpora.items():
        runs: dict[str, list[dict[str, Any]]] = {e: [] for e in ENGINES}
        for r in range(rounds[name]):
            print(f"{name}: round {r + 1} of {rounds[name]}")
            order = ENGINES if r % 2 == 0 else ENGINES[::-1]
            for engine in order:
                runs[engine].append(
                    run_build(engine, folder, SCALE / f"index-{name}-{engine}", namespaces)
                )
        asked = questions if name == "xquad" else ()
        same = compare(SCALE / f"index-{name}-local", SCALE / f"index-{name}-ray", asked)
        median = {
            e: {k: statistics.median(r[k] for r in runs[e]) for k in _MEDIANS} for e in ENGINES
        }
        local_rate = median["local"]["passages_per_s"]
        out["corpora"][name] = {
            "folder": str(folder.relative_to(REPO)),
            "runs": runs,
            "median": median,
            "ratio_without_startup": median["ray"]["passages_per_s_without_startup"] / local_rate,
            "ratio_with_startup": median["ray"]["passages_per_s"] / local_rate,
            "cpu_ratio": median["ray"]["cpu_seconds"] / median["local"]["cpu_seconds"],
            "same": same,
            "bytes_per_passage": _bytes_per_passage(SCALE / f"index-{name}-ray", folder),
        }
    return out


_MEDIANS = (
    "passages",
    "seconds",
    "startup_seconds",
    "process_seconds",
    "passages_per_s",
    "passages_per_s_without_startup",
    "peak_pss_bytes",
    "peak_rss_bytes",
    "peak_processes",
    "cpu_seconds",
)


# --- scaling out (computed) ----------------------------------------------------------


def milvus_insert_rate() -> dict[str, Any] | None:
    """The Milvus publish rate ``benchmarks/backends.py`` measured, at its largest tier."""
    try:
        tiers = json.loads(BACKENDS.read_text(encoding="utf-8"))["tiers"]["tiers"]
    except (OSError, KeyError, ValueError):
        return None
    measured = [
        (v["passages"], v["publish"]["passages_per_second"], tier)
        for tier, v in tiers.items()
        if "publish" in v
    ]
    if not measured:
        return None
    passages, rate, tier = max(measured)
    return {"passages_per_s": rate, "tier": tier, "passages": passages, "source": BACKENDS.name}


def part_scaling(builds: dict[str, Any]) -> dict[str, Any]:
    """Computes what N nodes like this one would take, from the measured figures."""
    big = builds["corpora"][max(builds["corpora"], key=lambda c: _passages(builds, c))]
    ray, local = big["median"]["ray"], big["median"]["local"]
    node_rate = ray["passages_per_s_without_startup"]
    rest = [r["seconds"] - r["embed_seconds"] for r in big["runs"]["local"]]
    driver_ms = 1000 * statistics.median(rest) / local["passages"]
    to_driver = big["bytes_per_passage"]["to_driver"]
    caps = {
        "driver CPU": 1000 / driver_ms,
        "driver network (assumed 10 Gbit/s)": DRIVER_LINK_BYTES_PER_S / to_driver,
    }
    milvus = milvus_insert_rate()
    rows = []
    for n in NODES:
        limits = {"model (embedding)": n * node_rate, **caps}
        bottleneck = min(limits, key=limits.__getitem__)
        rate = limits[bottleneck]
        row: dict[str, Any] = {"nodes": n, "rate": rate, "bottleneck": bottleneck, "hours": {}}
        for size in SIZES:
            build = ray["startup_seconds"] + size / rate
            row["hours"][size] = {
                "folder": build / 3600,
                "milvus": None
                if milvus is None
                else (build + size / milvus["passages_per_s"]) / 3600,
            }
        rows.append(row)
    return {
        "measured": {
            "node_passages_per_s": node_rate,
            "local_passages_per_s": local["passages_per_s"],
            "startup_seconds": ray["startup_seconds"],
            "driver_ms_per_passage": driver_ms,
            "bytes_to_driver_per_passage": to_driver,
            "bytes_per_passage": big["bytes_per_passage"],
            "corpus": big["folder"],
        },
        "assumed": {"driver_link_bytes_per_s": DRIVER_LINK_BYTES_PER_S},
        "milvus_insert": milvus,
        "caps": caps,
        "rows": rows,
    }


def _passages(builds: dict[str, Any], corpus: str) -> float:
    return builds["corpora"][corpus]["median"]["local"]["passages"]


# --- report ----------------------------------------------------------------------------


def _hours(h: float | None) -> str:
    if h is None:
        return "(placeholder)"
    return f"{h * 60:.0f} min" if h < 1 else f"{h:,.1f} h" if h < 48 else f"{h / 24:,.1f} d"


_LABELS = {"xquad": "XQuAD-de", "gen-10k": "generated 10k", "gen-1k": "generated 1k"}


def report_builds(results: dict[str, Any]) -> str:
    """Returns the "Ray builds" section: measured figures only."""
    b = results["builds"]
    rows = []
    for name, c in b["corpora"].items():
        for e in ENGINES:
            m = c["median"][e]
            rows.append(
                [
                    _LABELS.get(name, name),
                    e,
                    f"{m['passages']:,.0f}",
                    f"{m['seconds']:.1f}",
                    f"{m['startup_seconds']:.1f}" if e == "ray" else "–",
                    f"{m['passages_per_s']:.1f}",
                    f"{m['passages_per_s_without_startup']:.1f}",
                    f"{m['peak_pss_bytes'] / MIB:,.0f} ({m['peak_rss_bytes'] / MIB:,.0f})",
                    f"{m['peak_processes']:.0f}",
                    f"{m['cpu_seconds']:.0f}",
                ]
            )
    builds = markdown_table(
        [
            "corpus",
            "engine",
            "passages",
            "build s",
            "Ray start-up s",
            "passages/s",
            "passages/s without start-up",
            "peak PSS MiB (RSS)",
            "processes",
            "CPU s, all processes",
        ],
        rows,
    )
    ratios = markdown_table(
        [
            "corpus",
            "rounds",
            "Ray / local, without start-up",
            "Ray / local, with start-up",
            "Ray / local, CPU s",
            "same passages and texts",
            "min vector cosine",
            "same top-5 citations",
        ],
        [
            [
                _LABELS.get(name, name),
                len(c["runs"]["ray"]),
                f"{c['ratio_without_startup']:.2f}",
                f"{c['ratio_with_startup']:.2f}",
                f"{c['cpu_ratio']:.2f}",
                "yes" if c["same"]["same_rows"] and c["same"]["same_texts"] else "NO",
                f"{c['same']['min_cosine']:.6f}",
                f"{c['same']['same_top5']:.1%} of {c['same']['questions']} questions"
                if "questions" in c["same"]
                else "–",
            ]
            for name, c in b["corpora"].items()
        ],
    )
    big = max(b["corpora"].values(), key=lambda c: c["median"]["local"]["passages"])
    verdict = "met" if big["ratio_without_startup"] >= TARGET_RATIO else "NOT met"
    xquad = b["corpora"].get("xquad", {}).get("same", {})
    quality = ""
    if "local" in xquad:
        quality = "\n\nXQuAD-de questions, hybrid search: " + "; ".join(
            f"{e} hit@1 {xquad[e]['hit@1']:.3f}, hit@5 {xquad[e]['hit@5']:.3f}, "
            f"MRR@10 {xquad[e]['mrr@10']:.3f}"
            for e in ENGINES
        )
    where = "in a loopback-only network namespace, `unshare -n`" if b["namespace"] else "as is"
    machine = results["machine"]
    small_name = min(b["corpora"], key=lambda n: b["corpora"][n]["median"]["local"]["passages"])
    small = b["corpora"][small_name]
    fixed = (
        small["median"]["ray"]["seconds"]
        - small["median"]["ray"]["startup_seconds"]
        - small["median"]["local"]["seconds"]
    )
    cpu = big["runs"]["ray"][0]["cpu_seconds_by_process"]
    actor = sum(v for k, v in cpu.items() if k.startswith("ray::MapWorker"))
    rest = sum(cpu.values()) - actor
    label, ratio = _LABELS.get(small_name, small_name), big["ratio_without_startup"]
    spread = "; ".join(
        f"{e} "
        + ", ".join(
            f"{r['passages_per_s_without_startup']:.1f}/s (load {r['loadavg_1m_at_start']})"
            for r in big["runs"][e]
        )
        for e in ENGINES
    )
    return f"""All figures measured. Each build is `qa.Index.build(..., rebuild=True)` with the
default model in a fresh process ({where}), local and Ray
taking turns; medians over the rounds. Ray's start-up (a local instance: `ray.init` with
{machine["nproc"]} CPUs, 256 MiB object store, no dashboard, every port on 127.0.0.1) is part of
the build's seconds and shown apart; stopping Ray is included. Memory: the peak of the
summed PSS of the build process and all its descendants (Ray's GCS, raylet, agents, task
workers and the embedding actor), sampled every 0.25 s; the RSS sum in brackets counts
shared pages once per process. CPU s: user and system time of that process tree, which
other work on the machine disturbs less than wall time (`scale.json` has it by process).

{builds}

{ratios}{quality}

Target: on the largest corpus, a Ray build reaches at least {TARGET_RATIO}× the local
passages/s, start-up apart: {ratio:.2f}×, {verdict}. Each run there, start-up apart, with
the 1-minute load average at its start: {spread}. Besides its start-up, a Ray build
pays a fixed cost that a small corpus feels: on {label} it took {fixed:.0f} s longer than
the local build (starting the task worker and the embedding actor, loading the model in
it). Of the Ray build's CPU seconds on the largest corpus, the embedding actor took
{actor:.0f} and everything else {rest:.0f} (the driver, Ray's GCS, raylet, agents, task workers,
and Ray Data's own actors).

Measured {results["date"]} with `{results["command"]}` on {machine["nproc"]} cores
({machine["cpu"]}); load average {machine["loadavg_at_start"]} at the start (other work
shares this machine; `benchmarks/results/scale.json` holds each run's own)."""


def report_scaling(results: dict[str, Any]) -> str:
    """Returns the "Scaling out" section: computed figures, and the measured inputs."""
    s = results["scaling"]
    m = s["measured"]
    milvus = s["milvus_insert"]
    cols = ["1M", "10M", "100M"]
    table = markdown_table(
        [
            "nodes",
            "build passages/s",
            "bottleneck",
            *(f"{c} into a folder" for c in cols),
            *(f"{c} into Milvus" for c in cols),
        ],
        [
            [
                row["nodes"],
                f"{row['rate']:,.0f}",
                row["bottleneck"],
                *(_hours(row["hours"][n]["folder"]) for n in SIZES),
                *(_hours(row["hours"][n]["milvus"]) for n in SIZES),
            ]
            for row in s["rows"]
        ],
    )
    insert = (
        f"{milvus['passages_per_s']:,.0f} passages/s, measured by `benchmarks/backends.py` "
        f"publishing its {milvus['tier']} tier into Milvus Lite (insert, flush, index, "
        f"load; one process on this machine; `{milvus['source']}`)"
        if milvus
        else "**placeholder**: no Milvus insert rate measured yet "
        "(`benchmarks/results/backends.json` missing), so the Milvus columns are empty"
    )
    b = m["bytes_per_passage"]
    hnsw = b["vector"] + 2 * 16 * 4 + 8  # float32 vector, level-0 links (2M ids), upper levels
    sq8 = b["vector"] / 4 + 8
    gib = 1e7 / 2**30  # bytes per passage -> GiB per 10M passages
    indexes = markdown_table(
        ["Milvus index", "bytes per passage", "GiB per 10M, vectors", "GiB per 10M, with BM25"],
        [
            [
                "HNSW, M=16 (qa's choice above 50,000 passages)",
                f"{hnsw:,.0f}",
                f"{hnsw * gib:,.1f}",
                f"{(hnsw + b['bm25']) * gib:,.1f}",
            ],
            [
                "IVF_SQ8 (int8 vectors, where memory is short)",
                f"{sq8:,.0f}",
                f"{sq8 * gib:,.1f}",
                f"{(sq8 + b['bm25']) * gib:,.1f}",
            ],
        ],
    )
    grows = m["bytes_per_passage"]["driver_memory"]
    node, driver = m["node_passages_per_s"], s["caps"]["driver CPU"]
    link = s["caps"]["driver network (assumed 10 Gbit/s)"]
    at_10m, at_100m = grows * 1e7 / 2**30, grows * 1e8 / 2**30
    return f"""**Computed** from the measured figures listed here (a node is this machine: 2
cores, one embedding actor); nothing in the table was run at that size.

Measured (section "Ray builds", `{m["corpus"]}`):

- a Ray build's throughput on one node, start-up apart: **{node:,.1f} passages/s** (local
  engine: {m["local_passages_per_s"]:,.1f}/s);
- Ray's start-up: {m["startup_seconds"]:.1f} s (counted once; joining a running cluster is quicker);
- the driver's serial work per passage: {m["driver_ms_per_passage"]:.2f} ms (all of a local build
  but the embedding: reading, chunking, BM25 terms, writing, index building; on Ray the
  reading and chunking move to the workers, so this bounds the driver from above);
- what reaches the driver per passage (pickled embedded pieces: text, rows, terms,
  vector, sentence vectors): {m["bytes_to_driver_per_passage"] / 1024:.1f} KB;
- the driver's memory for one generation, computed from the index files (rows, term ids
  twice while they are joined, BM25 postings, the dense index's vectors): {grows / 1024:.1f} KB
  per passage, about {at_10m:.0f} GiB at 10M passages and {at_100m:.0f} GiB at 100M (at 10k
  passages, the builds' peaks are the model's: see "Ray builds");
- Milvus insert rate: {insert}.

Assumed, not measured: the driver's network link takes 10 Gbit/s.

Time = Ray's start-up + passages / min(N × node throughput, driver CPU, driver link); into
Milvus, plus passages / insert rate, because qa publishes a generation into Milvus from
the driver after building it.

{table}

Where the bottleneck moves: up to about {driver / node:,.0f} nodes the model (the embedding
actors) limits the build; beyond, the driver, which writes every passage into the
generation in order ({driver:,.0f} passages/s; its link would carry {link:,.0f}/s). The
object store is no limit: the pipeline streams, and each node's store holds a few
batches of pieces at a time (256 MiB for a local instance). Into Milvus, the publish step
at the insert rate above dominates once the embedding is spread over a few nodes; a
Milvus cluster's insert rate (several data nodes, bulk import) must be measured on one.
Before either, one generation meets the driver's memory (above): archives of 100M
passages need the build split over several generations or collections.

Milvus index and memory per 10 million passages (computed from the measured per-passage
sizes: 384-dimensional float32 vectors, BM25 postings as in qa's local index):

{indexes}

The README's recommendation: HNSW (M=16, which qa sets above 50,000 passages), about
{(hnsw + b["bm25"]) * gib:,.0f} GiB of query-node memory per 10 million passages and replica, with
text and sentence vectors memory-mapped; IVF_SQ8 for about a third of the vector memory
where memory is short, at some cost in recall."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = arg_parser(__doc__)
    parser.add_argument("--quick", action="store_true", help="one round, small corpora")
    parser.add_argument("--rounds", type=int, default=None, help="rounds on the big corpus")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="recompute the sizes and the scaling table from the last results and indexes",
    )
    parser.add_argument(
        "--child", nargs=3, metavar=("ENGINE", "FOLDER", "INDEX"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.child:
        child(*args.child)
        return 0
    os.chdir(REPO)
    path = RESULTS / ("scale-quick.json" if args.quick else "scale.json")
    if args.report_only:
        results = json.loads(path.read_text(encoding="utf-8"))
        for name, c in results["builds"]["corpora"].items():
            index_dir, folder = SCALE / f"index-{name}-ray", REPO / c["folder"]
            c["bytes_per_passage"] = _bytes_per_passage(index_dir, folder)
    else:
        results = measure(args.quick, args.rounds, args.xquad.resolve())
    results["scaling"] = part_scaling(results["builds"])
    write_json(path, results, indent=2, ascii_only=True, default=str)
    print(report_builds(results))
    print(report_scaling(results))
    if not args.quick:
        replace_section("Ray builds", report_builds(results))
        replace_section("Scaling out", report_scaling(results))
    return 0


def measure(quick: bool, rounds: int | None, xquad: Path) -> dict[str, Any]:
    """Prepares the corpora and runs the builds; returns the results."""
    from common.tiers import PERF, real_units

    import qa

    SCALE.mkdir(parents=True, exist_ok=True)
    questions = prepare_xquad(xquad, DATA / "xquad-de")
    texts, _ = real_units(qa)
    files = 10 if quick else 100
    for _ in write_pool(texts, PERF / "pool", files, PER_FILE):
        pass
    generated = f"gen-{files * PER_FILE // 1000}k"
    link_tier(PERF / "pool", SCALE / generated, files)
    corpora = {"xquad": DATA / "xquad-de", generated: SCALE / generated}
    asked = questions[:: max(1, len(questions) // 200)] if quick else questions
    results: dict[str, Any] = provenance(quick=quick)
    counts = {"xquad": 1 if quick else 3, generated: rounds or 1}
    results["builds"] = part_builds(corpora, asked, counts)
    return results


if __name__ == "__main__":
    sys.exit(main())
