"""Milvus and local: the same answers from both store backends, and what Milvus Lite costs.

Two parts:

- ``quality``: XQuAD-de (all German questions) and the seed questions, asked in the
  hybrid, dense and lexical modes of a local index and of a Milvus Lite index of the
  same articles, both built through ``qa.Index.build`` as a user would. Reports hit@1,
  hit@5 and MRR@10 (``common.metrics.score``) of both and their differences (target: within
  0.005), and how many questions get exactly the same top 10 from both.
- ``tiers``: the 10k and 100k passage corpora of ``benchmarks/perf.py`` (generated text,
  derived vectors; built there, or here if missing). Each tier's local generation is
  published as it is into Milvus Lite (``MilvusStore.publish``: insert, flush, FLAT or
  HNSW index, load), so both backends serve the same vectors. Then, for the same
  XQuAD-de questions, interleaved: hybrid ``search(q, k=5)`` p50/p95 including query
  embedding (as ``common.cold_search``), the dense search call alone, recall@10 of the
  dense search against brute force over the stored vectors, and how often the hybrid top
  5 equals the local one.

Writes ``benchmarks/results/backends.json`` and the "Milvus and local" section of
``benchmarks/RESULTS.md`` (``--quick``: 150 German questions and the 10k tier,
``backends-quick.json`` only).

Usage:
    .venv/bin/python benchmarks/backends.py [--parts quality,tiers] [--tiers 10k,100k]
        [--queries N] [--quick] [--report-only]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from common.args import arg_parser, choices
from common.corpora import Hit, Question, load_seeds, prepare_xquad, qa_hits
from common.derived import DERIVED_MODEL
from common.machine import command_line, describe_machine, machine_info, set_environment, today
from common.metrics import recall, score
from common.paths import DATA, DEFAULT_XQUAD, REPO, RESULTS, SEED_QUESTIONS, rel
from common.results import publish, write_json
from common.tables import markdown_table
from common.tiers import (
    PER_FILE,
    PERF,
    TIERS,
    build_tier,
    derived_embedder,
    ensure_pool,
    exact_top,
    real_units,
)
from common.timing import cold_search, percentiles_ms, rotate, spread
from tqdm import tqdm

if TYPE_CHECKING:
    import qa

SECTION = "Milvus and local"
WORK = DATA / "backends"
PARTS = ("quality", "tiers")
K = 10  # quality: the top 10 (MRR@10)
TIER_K = 5  # tiers: as perf.py's latency
WITHIN = 0.005  # issue #12: the same hit@1, hit@5 and MRR@10 within this
FIGURES = ("hit@1", "hit@5", "mrr@10")
SETS = {"de": "XQuAD-de", "seeds": "seeds"}


# --- quality -------------------------------------------------------------------------


def _ask(index: qa.Index, mode: qa.SearchMode, questions: Sequence[Question]) -> list[list[Hit]]:
    """Returns the top ``K`` of every question, asked in batches of 32."""
    out: list[list[Hit]] = []
    for start in tqdm(range(0, len(questions), 32), desc=f"{mode.value}", leave=False):
        texts = [q.text for q in questions[start : start + 32]]
        out.extend(qa_hits(h) for h in index.batch_search(texts, k=K, mode=mode))
    return out


def _same(a: Sequence[Hit], b: Sequence[Hit]) -> bool:
    return [(h.source, h.line_start, h.line_end) for h in a] == [
        (h.source, h.line_start, h.line_end) for h in b
    ]


def part_quality(qa_mod: object, quick: bool) -> dict[str, object]:
    """Builds both backends over XQuAD-de and the seeds; scores both on the same questions."""
    german = prepare_xquad(DEFAULT_XQUAD, DATA / "xquad-de")
    questions = {
        "de": spread(german, 150) if quick else german,
        "seeds": load_seeds(SEED_QUESTIONS),
    }
    corpora = {"de": DATA / "xquad-de", "seeds": REPO / "seeds"}
    WORK.mkdir(parents=True, exist_ok=True)
    out: dict[str, object] = {"questions": {s: len(q) for s, q in questions.items()}, "sets": {}}
    for name, folder in corpora.items():
        indexes = {}
        for backend, location in {
            "local": rel(WORK / f"index-{name}"),
            "milvus": f"milvus:{rel(WORK / f'{name}.db')}",
        }.items():
            start = time.perf_counter()
            indexes[backend] = qa_mod.Index.build([rel(folder)], location)  # type: ignore[attr-defined]
            report = indexes[backend].build_report
            print(
                f"{name} {backend}: {len(indexes[backend])} passages, {report.embedded} "
                f"embedded, {time.perf_counter() - start:.1f} s"
            )
        figures: dict[str, object] = {"passages": len(indexes["local"])}
        for mode in qa_mod.SearchMode:  # type: ignore[attr-defined]
            answers = {b: _ask(i, mode, questions[name]) for b, i in indexes.items()}
            scored = {b: score(a, questions[name]) for b, a in answers.items()}
            for s in scored.values():
                s.pop("ranks")
            same = sum(
                _same(a, b) for a, b in zip(answers["local"], answers["milvus"], strict=True)
            )
            figures[mode.value] = {
                **scored,
                "delta": {f: scored["milvus"][f] - scored["local"][f] for f in FIGURES},
                "same_top10": same / len(questions[name]),
            }
            print(
                f"{name} {mode.value}: "
                + ", ".join(
                    f"{f} {scored['local'][f]:.3f}/{scored['milvus'][f]:.3f}" for f in FIGURES
                )
                + f", same top 10: {same}/{len(questions[name])}"
            )
        out["sets"][name] = figures  # type: ignore[index]
    return out


# --- tiers ---------------------------------------------------------------------------


def _link_or_copy(src: str, dst: str) -> None:
    """Hard-links a file (the local index keeps it unchanged), else copies it."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _milvus_tier(tier: str, local: qa.Index) -> tuple[str, dict[str, object]]:
    """Publishes a tier's local generation into Milvus Lite, unless it already holds it.

    Returns:
        The Milvus location and the publish facts (seconds, size on disk).
    """
    from vectorstore import open_store
    from vectorstore.store.local.folder import MANIFEST

    db = WORK / f"tier-{tier}.db"
    location = f"milvus:{rel(db)}"
    sidecar = WORK / f"tier-{tier}.json"
    facts = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    if facts.get("local_generation") == local.generation and db.exists():
        return location, facts | {"cached": True}
    shutil.rmtree(db, ignore_errors=True)
    store = open_store(location)
    snapshot = local._snapshot
    with store.lock():
        tmp = store.new_generation()
        shutil.copytree(snapshot.path, tmp, copy_function=_link_or_copy, dirs_exist_ok=True)
        (tmp / MANIFEST).unlink()  # publish writes its own; never into the local index's file
        print(f"tier {tier}: publishing {len(local):,} passages into Milvus Lite")
        start = time.perf_counter()
        store.publish(tmp, snapshot.manifest)
        seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in db.rglob("*") if p.is_file())
    facts = {
        "local_generation": local.generation,
        "date": today(),
        "publish_seconds": seconds,
        "passages_per_second": len(local) / seconds,
        "db_bytes": size,
    }
    sidecar.write_text(json.dumps(facts, indent=1))
    return location, facts | {"cached": False}


def part_tiers(
    qa_mod: object, tiers: Sequence[str], questions: Sequence[Question], n_queries: int
) -> dict[str, object]:
    """Latency, recall@10 and agreement of both backends on perf.py's tiers."""
    from vectorstore import IndexMismatchError
    from vectorstore.model.embedding import get_embedder, register_embedder
    from vectorstore.sources.terms import tokenize

    texts, units = real_units(qa_mod)
    ensure_pool(texts, max(TIERS[t] for t in tiers) // PER_FILE)
    timing = spread(questions, n_queries)
    out: dict[str, object] = {"queries": len(timing), "k": TIER_K, "tiers": {}}
    for tier in tiers:
        try:
            build_tier(qa_mod, tier, units, rebuild=False, reuse=True)
        except IndexMismatchError as exc:  # an older format: perf.py would rebuild it too
            print(f"tier {tier}: {exc}; rebuilding")
            build_tier(qa_mod, tier, units, rebuild=True, reuse=False)
        register_embedder(DERIVED_MODEL, derived_embedder(units))
        local = qa_mod.Index.load(rel(PERF / f"index-tier-{tier}"))  # type: ignore[attr-defined]
        location, publish = _milvus_tier(tier, local)
        milvus = qa_mod.Index.load(location)  # type: ignore[attr-defined]
        indexes = {"local": local, "milvus": milvus}
        vectors = get_embedder(DERIVED_MODEL).encode_queries([q.text for q in timing])
        exact, _ = exact_top(local._snapshot.vectors, vectors, 10)
        figures: dict[str, object] = {
            "passages": len(local),
            "publish": publish,
            "dense": {
                "local": type(local._snapshot.dense).__name__,
                "milvus": "FLAT" if milvus._snapshot.dense_exact else "HNSW",
            },
        }
        for backend, index in indexes.items():
            found = index._snapshot.dense_search(vectors, 10)
            figures[f"recall@10 {backend}"] = recall(found, exact)
        for q in timing[:5]:  # warm-up: Milvus Lite builds its BM25 scorer on first use
            for index in indexes.values():
                index.search(q.text, k=TIER_K)
        latencies: dict[str, list[float]] = {
            f"{kind} {b}": [] for kind in ("hybrid", "dense") for b in indexes
        }
        same = overlap = 0.0
        drift = []
        for i, q in enumerate(tqdm(timing, desc=f"tier {tier} queries", leave=False)):
            weights = dict(Counter(tokenize(q.text)))
            hits = [x._snapshot.lexical_search(weights, 20) for x in indexes.values()]
            rows = np.union1d(hits[0].rows, hits[1].rows)
            if len(rows):
                mine, theirs = hits[1].scores(rows), hits[0].scores(rows)
                drift.append(float((np.abs(mine - theirs) / np.maximum(theirs, 1e-9)).max()))
            answers = {}
            for backend in rotate(list(indexes), i):
                start = time.perf_counter()
                answers[backend] = cold_search(indexes[backend], q.text, TIER_K)
                latencies[f"hybrid {backend}"].append(time.perf_counter() - start)
                start = time.perf_counter()
                indexes[backend]._snapshot.dense_search(vectors[i : i + 1], 20)
                latencies[f"dense {backend}"].append(time.perf_counter() - start)
            cited = {b: [(p.source, p.line_start) for p in a] for b, a in answers.items()}
            same += cited["local"] == cited["milvus"]
            overlap += len(set(cited["local"]) & set(cited["milvus"])) / TIER_K
        for key, values in latencies.items():
            figures[f"p50 {key}"], figures[f"p95 {key}"] = percentiles_ms(values)
        figures["same_top5"] = same / len(timing)
        figures["bm25_drift_median"] = float(np.median(drift)) if drift else 0.0
        figures["bm25_drift_max"] = max(drift, default=0.0)
        figures["overlap_top5"] = overlap / len(timing)
        out["tiers"][tier] = figures  # type: ignore[index]
        print(
            f"tier {tier}: hybrid p50 local {figures['p50 hybrid local']:.1f} ms, milvus "
            f"{figures['p50 hybrid milvus']:.1f} ms; recall@10 local "
            f"{figures['recall@10 local']:.3f}, milvus {figures['recall@10 milvus']:.3f}; "
            f"same top 5 {figures['same_top5']:.2f}"
        )
        del indexes, local, milvus
        gc.collect()
    return out


# --- report --------------------------------------------------------------------------


def _qualitymarkdown_table(quality: dict[str, object]) -> str:
    rows = []
    for name, figures in quality["sets"].items():  # type: ignore[attr-defined]
        for mode in ("hybrid", "dense", "lexical"):
            f = figures[mode]
            cells: list[object] = [f"{SETS[name]} {mode}"]
            for figure in FIGURES:
                cells += [f"{f['local'][figure]:.3f}", f"{f['milvus'][figure]:.3f}"]
            worst = max(abs(v) for v in f["delta"].values())
            cells += [f"{worst:.3f} {'✅' if worst <= WITHIN else '❌'}", f"{f['same_top10']:.3f}"]
            rows.append(cells)
    head = ["questions, mode"]
    for figure in ("hit@1", "hit@5", "MRR@10"):
        head += [f"{figure} local", f"{figure} Milvus"]
    head += [f"largest difference (≤ {WITHIN})", "same top 10"]
    return markdown_table(head, rows)


def _tiermarkdown_table(tiers: dict[str, object]) -> str:
    rows = []
    for tier, f in tiers["tiers"].items():  # type: ignore[attr-defined]
        for backend in ("local", "milvus"):
            publish = f["publish"]
            rows.append(
                [
                    f"{tier} ({f['passages']:,})",
                    "local (FAISS + BM25 files)" if backend == "local" else "Milvus Lite",
                    f["dense"][backend],
                    f"{f[f'p50 hybrid {backend}']:.1f}",
                    f"{f[f'p95 hybrid {backend}']:.1f}",
                    f"{f[f'p50 dense {backend}']:.1f}",
                    f"{f[f'p95 dense {backend}']:.1f}",
                    f"{f[f'recall@10 {backend}']:.3f}",
                    "–" if backend == "local" else f"{f['same_top5']:.2f}",
                    "–"
                    if backend == "local"
                    else f"{f['bm25_drift_median']:.3f} / {f['bm25_drift_max']:.3f}",
                    "–"
                    if backend == "local"
                    else f"{publish['publish_seconds']:.0f} s "
                    f"({publish['passages_per_second']:.0f}/s), "
                    f"{publish['db_bytes'] / 2**20:,.0f} MiB",
                ]
            )
    head = [
        "tier",
        "backend",
        "dense index",
        "hybrid p50 ms",
        "hybrid p95 ms",
        "dense call p50 ms",
        "dense call p95 ms",
        "dense recall@10",
        "same top 5 as local",
        "BM25 drift, median / max",
        "publish (insert, index, load), size",
    ]
    return markdown_table(head, rows)


def report_markdown(results: dict[str, object]) -> str:
    """Returns the RESULTS.md section body."""
    machine = results["machine"]
    assert isinstance(machine, dict)
    lines = [
        f"Machine: {describe_machine(machine)}. pymilvus "
        f"{results['versions']['pymilvus']}, milvus-lite {results['versions']['milvus_lite']} "
        "(embedded: the Milvus Lite server runs in qa's process, as `milvus:PATH.db` does).",
    ]
    quality = results.get("quality")
    if isinstance(quality, dict):
        counts = quality["questions"]
        lines += [
            "",
            "### The same answers (measured)",
            "",
            f"Measured {quality['date']} with `{quality['command']}`.",
            "",
            f"The same questions asked of a local index and of a Milvus Lite index of the same "
            f"articles (`qa.Index.build`, default model): XQuAD-de, {counts['de']} German "
            f"questions over 48 articles; seeds, {counts['seeds']} questions over `seeds/` "
            f"(as `benchmarks/xquad_de.py` scores them, top {K}). Target (issue #12): hit@1, "
            f"hit@5 and MRR@10 within {WITHIN} of the local backend. *Same top 10*: share of "
            "questions whose 10 cited passages are the same, in the same order.",
            "",
            _qualitymarkdown_table(quality),
        ]
    tiers = results.get("tiers")
    if isinstance(tiers, dict):
        lines += [
            "",
            "### Latency and dense recall by corpus size (measured)",
            "",
            f"Measured {tiers['date']} with `{tiers['command']}`.",
            "",
            f"`benchmarks/perf.py`'s latency tiers (generated passages, derived vectors); each "
            f"tier's local generation published as it is into Milvus Lite, so both serve the "
            f"same vectors (FLAT up to 50,000 passages, above it HNSW M=16, efConstruction=200, "
            f"ef=128 in Milvus; FAISS IVF locally). {tiers['queries']} XQuAD-de questions, "
            f"asked of both in turn: *hybrid* is `search(q, k={TIER_K})` including query "
            "embedding; *dense call* is the dense search alone (`Reader.dense_search`, 20 "
            "neighbours); recall@10 of the dense search against brute force over the stored "
            "vectors; *same top 5*: share of questions whose hybrid top 5 equals the local one; "
            "*BM25 drift*: per question, the largest relative difference between Milvus's and "
            "qa's BM25 score of any of both backends' 20 best rows (median and maximum over "
            "the questions).",
            "",
            _tiermarkdown_table(tiers),
            "",
            "Where the BM25 scores agree, a different top 5 comes from ties: the generated "
            "passages are near-duplicates of each other, and among equal BM25 scores at the "
            "20th candidate the two backends keep different rows, which changes the fusion's "
            "scaling. Milvus Lite is a Python reimplementation of Milvus: its searches scan "
            "every row's key in Python (latency grows with the corpus), its BM25 scorer builds "
            "its posting lists on the first query after loading, and it computes BM25 "
            "statistics per segment (what fits its 128 MB memtable: the 100k collection spans "
            "several), hence the drift at 100k. A Milvus server keeps corpus-wide BM25 "
            "statistics and runs its indexes in C++: these figures say what Milvus Lite costs "
            "on one machine, not what a cluster does.",
        ]
    lines += ["", "Raw figures: `benchmarks/results/backends.json`."]
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = arg_parser(__doc__, xquad=False)
    parser.add_argument("--parts", default=",".join(PARTS), help="quality,tiers")
    parser.add_argument("--tiers", default=None, help="10k,100k (quick: 10k)")
    parser.add_argument("--queries", type=int, default=None, help="tier questions (100)")
    parser.add_argument("--quick", action="store_true", help="150 German questions, 10k only")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the report from the results file"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark and writes the results; returns the exit status."""
    args = parse_args(argv)
    set_environment()
    parts = choices(args.parts, PARTS, "parts")
    tiers = choices(args.tiers or ("10k" if args.quick else "10k,100k"), list(TIERS), "tiers")
    path = RESULTS / f"backends{'-quick' if args.quick else ''}.json"
    previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if args.report_only:
        return _report(previous, path, args.quick)
    import milvus_lite
    import pymilvus

    import qa

    os.chdir(REPO)
    results: dict[str, object] = {
        **previous,
        "machine": machine_info(),
        "versions": {"pymilvus": pymilvus.__version__, "milvus_lite": milvus_lite.__version__},
    }
    stamp = {"date": today(), "command": command_line()}
    if "quality" in parts:
        results["quality"] = part_quality(qa, args.quick) | stamp
    if "tiers" in parts:
        questions = prepare_xquad(DEFAULT_XQUAD, DATA / "xquad-de")
        n = args.queries or (20 if args.quick else 100)
        results["tiers"] = part_tiers(qa, tiers, questions, n) | stamp
    write_json(path, results)
    return _report(results, path, args.quick)


def _report(results: dict[str, object], path: Path, quick: bool) -> int:
    """Prints and writes the report; returns 1 if the quality target is missed."""
    body = report_markdown(results)
    print()
    print(body)
    publish(SECTION, body, [rel(path)], quick)
    failed = False
    if isinstance(results.get("quality"), dict):
        for figures in results["quality"]["sets"].values():  # type: ignore[index]
            failed |= any(abs(v) > WITHIN for v in figures["hybrid"]["delta"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
