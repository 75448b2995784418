"""Follow-up questions: conversations over the seeds and XQuAD-de, turn by turn.

Three sets of conversations (``benchmarks/eval/README.md`` says how they were made):

- hand-written: ``benchmarks/eval/conversations.json``, German and English, over the seeds
  and XQuAD-de, with follow-ups (pronouns, ellipsis, "und …") and topic switches;
- derived: ``benchmarks/eval/conversations_xquad_auto.json``, two XQuAD-de questions about
  one paragraph, the second's named subject replaced by a pronoun;
- news: ``benchmarks/eval/news/conversations.jsonl``, written the way people talk over the
  54 real news pages (a turn may have several gold passages: any of them is a hit).

Every turn after the first is asked three ways: alone (no history), naively (the previous
question pasted in front of it) and as qa does it (``search(question, history=...)``).
A hit is a passage of the gold file whose lines overlap the gold lines. Reports hit@1 and
hit@5 for follow-up turns, and for switch turns hit@1 against the same questions asked
alone, and writes the "Conversations" section of benchmarks/RESULTS.md.

``--grid`` also measures qa's two context weights (how much of the previous question's
vector and terms a dependent question takes) on the derived set, to choose them there and
check them on the hand-written one.

Usage:
    .venv/bin/python benchmarks/conversations.py [--grid] [--source-weights 0,0.1,0.2]
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from common.args import arg_parser
from common.corpora import build_index, prepare_xquad
from common.machine import provenance
from common.metrics import gold_rank, rank_figures
from common.paths import DATA, DEFAULT_XQUAD, EVAL, REPO, RESULTS
from common.results import replace_section, write_json
from common.tables import table_head

SECTION = "Conversations"
K = 10
SETS = {
    "hand-written": "conversations.json",
    "derived from XQuAD-de": "conversations_xquad_auto.json",
}
NEWS = EVAL / "news"
TARGETS = {"followup_hit@1": 0.85, "followup_hit@5": 0.95, "switch_drop": 0.02}
WAYS = ("alone", "naive", "qa")

Search = Callable[[str, Sequence[str]], list[Any]]


def evaluate(
    conversations: Sequence[dict[str, Any]], indexes: dict[str, Any]
) -> dict[str, dict[str, list[int | None]]]:
    """Returns the gold rank of every later turn, by turn kind and way of asking.

    Args:
        conversations: Conversations as in ``benchmarks/eval/conversations.json``; a turn
            may give ``gold`` (a list of citations, any is a hit) for ``source``/``lines``.
        indexes: The ``qa.Index`` of each corpus ("seeds", "xquad", "news").
    """
    ranks: dict[str, dict[str, list[int | None]]] = {}
    for conversation in conversations:
        index = indexes[conversation["corpus"]]
        turns = conversation["turns"]
        for number, turn in enumerate(turns[1:], 1):
            history = [t["question"] for t in turns[:number]]
            question = turn["question"]
            asked = {
                "alone": index.search(question, K),
                "naive": index.search(f"{history[-1]} {question}", K),
                "qa": index.search(question, K, history=history),
            }
            by_way = ranks.setdefault(turn["kind"], {way: [] for way in WAYS})
            golds = [(g["source"], [g["line_start"], g["line_end"]]) for g in turn.get("gold", [])]
            golds = golds or [(turn["source"], turn["lines"])]
            for way, hits in asked.items():
                found = [gold_rank(hits, Path(source).name, lines, K) for source, lines in golds]
                by_way[way].append(min((r for r in found if r is not None), default=None))
    return ranks


def news_conversations() -> list[dict[str, Any]]:
    """The conversations over the news pages, as ``evaluate`` takes them."""
    lines = (NEWS / "conversations.jsonl").read_text(encoding="utf-8").splitlines()
    return [{**json.loads(line), "corpus": "news"} for line in lines if line.strip()]


def summary(ranks: dict[str, dict[str, list[int | None]]]) -> dict[str, float]:
    """Returns the headline figures: follow-up hit@1/@5 per way, switch hit@1 per way."""
    out: dict[str, float] = {}
    for kind in ("followup", "switch"):
        for way in WAYS:
            figures = rank_figures(ranks.get(kind, {}).get(way, []))
            out[f"{kind}_{way}_hit@1"] = figures["hit@1"]
            out[f"{kind}_{way}_hit@5"] = figures["hit@5"]
        out[f"{kind}_n"] = len(ranks.get(kind, {}).get("qa", []))
    out["switch_drop"] = out["switch_alone_hit@1"] - out["switch_qa_hit@1"]
    return out


def table(figures: dict[str, dict[str, float]]) -> str:
    """The markdown table: one row per set and way of asking."""
    head = [
        "set",
        "asked",
        "follow-ups",
        "follow-up hit@1",
        "follow-up hit@5",
        "switches",
        "switch hit@1",
        "switch hit@5",
    ]
    lines = table_head(head)
    labels = {"alone": "alone", "naive": "previous question pasted in front", "qa": "qa (history)"}
    for name, s in figures.items():
        for way in WAYS:
            lines.append(
                f"| {name} | {labels[way]} | {s['followup_n']:.0f} | "
                f"{s[f'followup_{way}_hit@1']:.3f} | {s[f'followup_{way}_hit@5']:.3f} | "
                f"{s['switch_n']:.0f} | {s[f'switch_{way}_hit@1']:.3f} | "
                f"{s[f'switch_{way}_hit@5']:.3f} |"
            )
    return "\n".join(lines)


def grid(conversations: Sequence[dict[str, Any]], indexes: dict[str, Any]) -> list[str]:
    """Measures qa's context weights on ``conversations``; returns table lines."""
    import qa.index as qa_index

    lines = table_head(["vector weight", "term weight", "follow-up hit@1", "follow-up hit@5"])
    saved = qa_index._CONTEXT_VECTOR, qa_index._CONTEXT_TERMS
    try:
        for vector, terms in itertools.product((0.4, 0.6, 0.8, 1.0, 1.2), (0.0, 0.25, 0.5, 1.0)):
            qa_index._CONTEXT_VECTOR, qa_index._CONTEXT_TERMS = vector, terms
            s = summary(evaluate(conversations, indexes))
            lines.append(
                f"| {vector} | {terms} | {s['followup_qa_hit@1']:.3f} | "
                f"{s['followup_qa_hit@5']:.3f} |"
            )
            print(lines[-1], flush=True)
    finally:
        qa_index._CONTEXT_VECTOR, qa_index._CONTEXT_TERMS = saved
    return lines


def source_sweep(
    sets: dict[str, list[dict[str, Any]]], indexes: dict[str, Any], weights: Sequence[float]
) -> list[str]:
    """Measures ``Fusion.source_weight`` on every set (qa's way); returns the lines."""
    saved = {name: index.fusion for name, index in indexes.items()}
    lines = [
        "`Fusion.source_weight` (`--source-weights`): follow-up hit@1 / hit@5, switch hit@1, "
        "asked with history:",
        "",
        *table_head(["source weight", *sets]),
    ]
    try:
        for weight in weights:
            for name, index in indexes.items():
                index.fusion = dataclasses.replace(saved[name], source_weight=weight)
            cells = []
            for conversations in sets.values():
                s = summary(evaluate(conversations, indexes))
                cells.append(
                    f"{s['followup_qa_hit@1']:.3f} / {s['followup_qa_hit@5']:.3f} / "
                    f"{s['switch_qa_hit@1']:.3f}"
                )
            lines.append(f"| {weight} | {' | '.join(cells)} |")
            print(lines[-1], flush=True)
    finally:
        for name, index in indexes.items():
            index.fusion = saved[name]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the conversations; returns the exit status."""
    parser = arg_parser(__doc__, xquad=False)
    parser.add_argument("--grid", action="store_true", help="measure the context weights")
    parser.add_argument(
        "--source-weights",
        type=lambda text: [float(w) for w in text.split(",")],
        default=[],
        metavar="W,W,…",
        help="also measure Fusion.source_weight at these values (the previous answer's article)",
    )
    args = parser.parse_args(argv)
    meta = provenance()
    import qa
    import qa.index as qa_index

    os.chdir(REPO)
    prepare_xquad(DEFAULT_XQUAD, DATA / "xquad-de")
    indexes = {
        "seeds": qa.Index.build(["seeds"], "benchmarks/data/index-seeds-multilingual-e5-small"),
        "xquad": qa.Index.build(
            ["benchmarks/data/xquad-de"], "benchmarks/data/index-multilingual-e5-small"
        ),
        "news": build_index(qa, NEWS / "articles", DATA / "index-news-multilingual-e5-small", None),
    }
    sets = {
        name: json.loads((EVAL / file).read_text(encoding="utf-8")) for name, file in SETS.items()
    }
    sets["news"] = news_conversations()
    figures = {name: summary(evaluate(c, indexes)) for name, c in sets.items()}
    checks = [
        (f"{name}: {label}", figures[name][key], TARGETS[target], op)
        for name in ("hand-written", "news")
        for label, key, target, op in (
            ("follow-up hit@1", "followup_qa_hit@1", "followup_hit@1", "≥"),
            ("follow-up hit@5", "followup_qa_hit@5", "followup_hit@5", "≥"),
            ("switch hit@1 below alone", "switch_drop", "switch_drop", "≤"),
        )
    ]
    lines = [
        f"Measured {meta['date']} with `{meta['command']}`.",
        "",
        f"Conversations: hand-written {len(sets['hand-written'])} "
        f"(`benchmarks/eval/conversations.json`), derived "
        f"{len(sets['derived from XQuAD-de'])} (`benchmarks/eval/conversations_xquad_auto.json`"
        f"), news {len(sets['news'])} (`benchmarks/eval/news/conversations.jsonl`; how: "
        f"`benchmarks/eval/README.md`). Every turn after the first is asked alone, "
        f"with the previous question pasted in front, and with `history=` (qa's context "
        f"weights: vector {qa_index._CONTEXT_VECTOR}, terms {qa_index._CONTEXT_TERMS}). "
        f"A hit is a passage of the gold file overlapping the gold lines (k={K}).",
        "",
        table(figures),
        "",
        "Targets on the hand-written and news sets:",
        "",
        *[
            f"- {'✅' if (v >= goal if op == '≥' else v <= goal) else '❌'} {label}: "
            f"{v:.3f} (target {op} {goal})"
            for label, v, goal, op in checks
        ],
    ]
    if args.source_weights:
        lines += ["", *source_sweep(sets, indexes, args.source_weights)]
    if args.grid:
        lines += [
            "",
            "Context weights on the derived set (`--grid`; chosen there, checked on the "
            "hand-written set above):",
            "",
            *grid(sets["derived from XQuAD-de"], indexes),
        ]
    body = "\n".join(lines)
    print(body)
    write_json(RESULTS / "conversations.json", {**meta, "figures": figures}, ascii_only=True)
    replace_section(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
