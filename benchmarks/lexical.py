"""Lexical knowledge: each lever of ``qa.expansion`` on its own and together.

Asks every question set with the BM25 side's question terms expanded by one lever at a
time (translation of English questions with the Ding dictionary, OpenThesaurus synonyms,
simplemma lemmas), by the German ones together, and by qa's defaults (all three), in
hybrid and (``--lexical``) lexical-only mode. Sets: XQuAD-de (German questions over the
German paragraphs), its English questions (``benchmarks/en_questions.tsv``), its German
paraphrases (DE-para), the seed questions, and the natural questions over real news
pages (``benchmarks/eval/news``, German and English apart). Reports hit@1 / hit@5 / MRR@10 per
set and the single-query p50 of hybrid search (cold: the question is embedded), each
configuration timed in turn on the same questions.

``--index-lemmas`` measures lemmas in the index instead of in the question: each index's
BM25 part is rebuilt in memory over lemmatised passage text, and questions (and the
highlight) are lemmatised the same way; qa's index format is not changed by it.

Writes ``benchmarks/results/lexical.md`` and ``lexical.json`` and the "Lexical knowledge"
section of ``benchmarks/RESULTS.md`` (``--index-lemmas``: ``lexical-index-lemmas.*`` and
its own section; ``--quick`` writes ``*-quick.*`` only).

Usage:
    .venv/bin/python benchmarks/lexical.py [--quick] [--lexical] [--configs none,translation,...]
    .venv/bin/python benchmarks/lexical.py --index-lemmas --configs none,translation,default
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.args import arg_parser, choices
from common.corpora import build_index, load_english, load_paraphrases, load_seeds, prepare_xquad
from common.machine import describe_machine, provenance, set_environment, slug
from common.metrics import K, is_gold, rank_figures
from common.paths import DATA, DEFAULT_EN, DEFAULT_PARA, EVAL, REPO, RESULTS, SEED_QUESTIONS, rel
from common.results import publish, write_json
from common.tables import markdown_table
from common.timing import cold_search, interleaved, percentiles_ms, spread

if TYPE_CHECKING:
    import qa

SECTION = "Lexical knowledge"
INDEX_LEMMAS = "Lexical knowledge: lemmas in the index (emulated)"
NEWS = EVAL / "news"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Item:
    """A question with a test of whether a passage answers it."""

    text: str
    gold: Callable[[Any], bool]


def _configs() -> dict[str, Any]:
    from qa.expansion import Expansions

    off = Expansions(translations=0, synonym_weight=0.0, lemma_weight=0.0)
    return {
        "none": off,
        "translation": replace(off, translations=3),
        "translation-1": replace(off, translations=1),
        "translation-2": replace(off, translations=2),
        "translation-5": replace(off, translations=5),
        "translation-0.5": replace(off, translations=3, translation_weight=0.5),
        "synonyms": replace(off, synonym_weight=0.2),
        "synonyms-0.1": replace(off, synonym_weight=0.1),
        "lemmas": replace(off, lemma_weight=0.5),
        "lemmas-1": replace(off, lemma_weight=1.0),
        "lemmas+synonyms": replace(off, lemma_weight=0.5, synonym_weight=0.2),
        "default": Expansions(),
    }


DEFAULT_CONFIGS = "none,translation,synonyms,lemmas,lemmas+synonyms,default"
NOTES = """\
What is on by default, and what was dropped:

- The dictionary (3 translations per English word or phrase, at the weight of the
  question's own words) is what pays: English questions over German text gain on every
  set, German questions are untouched. 1, 2 or 5 translations, or weight 0.5, were no
  better overall (`--quick --configs translation,translation-1,translation-2,translation-5,
  translation-0.5`: 5 found one more English news question and one seed question less).
- Lemmas (0.5) and synonyms (0.2) add a little on the natural German sets (seeds, DE-para,
  news-de) and lose nothing; together they are on.
- Compound parts (HanTa, LGPL-3) as a question-side lever lost on the natural sets
  (DE-para hit@1 0.875 → 0.866, seeds 0.671 → 0.659, news-de 0.797 → 0.791; full run of
  commit f43e2c8, `benchmarks/results/lexical.json` there) and were removed.
- Lemmas in the index instead of in the question (next section, `--index-lemmas`,
  emulated in memory) found 2 more seed questions, 2 more English news questions and 1
  more English XQuAD question with the defaults, and 1 DE-para and 1 XQuAD-de question
  less. That needs another index format (the analyser in the manifest, old indexes
  re-tokenised) and lemmatising every passage at build time; not adopted yet."""


def lemmatised_terms(text: str) -> list[str]:
    """Returns the BM25 terms of ``text`` with every word replaced by its simplemma lemma."""
    import simplemma

    from vectorstore.sources.terms import tokenize

    return tokenize(_WORD.sub(lambda m: _lemma(simplemma, m.group()), text))


@functools.lru_cache(maxsize=200_000)
def _lemma(simplemma: Any, word: str) -> str:
    return simplemma.lemmatize(word, lang="de")


def lemmatise_index(index: qa.Index) -> None:
    """Replaces a loaded index's BM25 part, in memory, by one over lemmatised terms.

    Emulates lemmas in the index (``--index-lemmas``) without another index format: the
    files on disk stay as they are.
    """
    import numpy as np

    from vectorstore.store.local.lexical import LexicalIndex

    snapshot = index._snapshot
    vocab: dict[str, int] = {}
    ids = [
        [vocab.setdefault(t, len(vocab)) for t in lemmatised_terms(snapshot.passage_text(r))]
        for r in range(snapshot.manifest.passage_count)
    ]
    offsets = np.cumsum([0] + [len(i) for i in ids])
    tokens = np.array([t for i in ids for t in i], dtype=np.int32)
    snapshot.lexical = LexicalIndex.build(list(vocab), tokens, offsets)


def _xquad_items(questions: Sequence[Any]) -> list[Item]:
    return [Item(q.text, lambda p, q=q: is_gold(p, q.file, q.lines)) for q in questions]


def _news_items(lang: str) -> list[Item]:
    """Returns the news questions in one language (any gold passage answers)."""
    import qa

    path = NEWS / "questions.jsonl"
    langs = [json.loads(x)["lang"] for x in path.read_text(encoding="utf-8").splitlines() if x]
    return [
        Item(q.question, lambda p, g=q.gold: any(c.matches(p) for c in g))
        for q, language in zip(qa.read_questions(path), langs, strict=True)
        if language == lang
    ]


def ask(index: qa.Index, items: Sequence[Item], mode: qa.SearchMode) -> dict[str, float]:
    """Returns hit@1, hit@5 and MRR@10 of ``items`` asked of ``index``."""
    ranks: list[int | None] = []
    for start in range(0, len(items), 32):
        chunk = items[start : start + 32]
        found = index.batch_search([i.text for i in chunk], k=K, mode=mode)
        for item, passages in zip(chunk, found, strict=True):
            ranks.append(next((r for r, p in enumerate(passages, 1) if item.gold(p)), None))
    return rank_figures(ranks)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = arg_parser(__doc__)
    parser.add_argument("--model", default=None, help="embedding model (default: the library's)")
    parser.add_argument("--seeds", type=Path, default=REPO / "seeds", help="seed articles")
    parser.add_argument(
        "--configs", default=DEFAULT_CONFIGS, help=f"configurations (default {DEFAULT_CONFIGS})"
    )
    parser.add_argument("--quick", action="store_true", help="150 XQuAD-de questions, 30 timed")
    parser.add_argument("--latency-n", type=int, default=None, help="questions timed (120)")
    parser.add_argument("--lexical", action="store_true", help="also lexical-only rows")
    parser.add_argument(
        "--index-lemmas",
        action="store_true",
        help="BM25 over lemmatised terms, passages and questions alike (emulated in memory)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark and writes the results; returns the exit status."""
    args = parse_args(argv)
    set_environment(one_thread=True)
    meta: dict[str, object] = provenance(quick=args.quick)
    import qa
    import qa.index

    configs = _configs()
    names = choices(args.configs, list(configs), "configurations")
    os.chdir(REPO)  # sources are cited relative to the repository
    qa.index._VECTOR_CACHE = 100_000  # every question embedded once for all configurations
    german = prepare_xquad(args.xquad.resolve(), DATA / "xquad-de")
    model = args.model or os.environ.get("QA_MODEL") or qa.DEFAULT_MODEL
    indexes = {
        "xquad": build_index(qa, DATA / "xquad-de", DATA / f"index-{slug(model)}", args.model),
        "seeds": build_index(
            qa, args.seeds.resolve(), DATA / f"index-seeds-{slug(model)}", args.model
        ),
        "news": build_index(qa, NEWS / "articles", DATA / f"index-news-{slug(model)}", args.model),
    }
    sets = {
        "XQuAD-de": ("xquad", _xquad_items(spread(german, 150 if args.quick else len(german)))),
        "EN": ("xquad", _xquad_items(load_english(DEFAULT_EN, german))),
        "DE-para": ("xquad", _xquad_items(load_paraphrases(DEFAULT_PARA, german))),
        "seeds": ("seeds", _xquad_items(load_seeds(SEED_QUESTIONS))),
        "news-de": ("news", _news_items("de")),
        "news-en": ("news", _news_items("en")),
    }
    meta["questions"] = {name: len(items) for name, (_, items) in sets.items()}
    meta["index_lemmas"] = args.index_lemmas
    if args.index_lemmas:
        import qa.conversation
        import qa.expansion
        import qa.highlight

        for index in indexes.values():
            lemmatise_index(index)
        for module in (qa.expansion, qa.highlight, qa.conversation):
            module.tokenize = lemmatised_terms  # type: ignore[attr-defined]
    modes = [qa.SearchMode.HYBRID] + ([qa.SearchMode.LEXICAL] if args.lexical else [])
    figures: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for name in names:
        for index in indexes.values():
            index.expansion = configs[name]
        for mode in modes:
            row = figures.setdefault(mode.value, {}).setdefault(name, {})
            for set_name, (which, items) in sets.items():
                row[set_name] = ask(indexes[which], items, mode)
            print(mode.value, name, {s: round(f["hit@1"], 3) for s, f in row.items()})

    # Latency: the configurations take turns on the same questions (XQuAD-de, EN, news).
    n = args.latency_n or (30 if args.quick else 120)
    timing = [
        (which, item.text)
        for _, (which, items) in sets.items()
        for item in spread(items, max(1, n // len(sets)))
    ]

    def search(name: str) -> Callable[[tuple[str, str]], object]:
        def run(case: tuple[str, str]) -> object:
            index = indexes[case[0]]
            index.expansion = configs[name]
            return cold_search(index, case[1], K)

        return run

    for name in names:  # warm up: load each lever's resources
        search(name)(timing[0])
    latencies = interleaved({name: search(name) for name in names}, timing, desc="latency")
    p50 = {name: percentiles_ms(latencies[name])[0] for name in names}
    meta["latency_n"] = len(timing)

    section = INDEX_LEMMAS if args.index_lemmas else SECTION
    body = report(figures, p50, names, configs, meta)
    print(body)
    stem = ("lexical-index-lemmas" if args.index_lemmas else "lexical") + (
        "-quick" if args.quick else ""
    )
    write_json(
        RESULTS / f"{stem}.json",
        {
            **meta,
            "configs": {n: asdict(configs[n]) for n in names},
            "figures": figures,
            "p50_ms": p50,
        },
    )
    (RESULTS / f"{stem}.md").write_text(f"# {section}\n\n{body}\n", encoding="utf-8")
    publish(section, body, [rel(RESULTS / f"{stem}.md"), rel(RESULTS / f"{stem}.json")], args.quick)
    return 0


def report(
    figures: dict[str, dict[str, dict[str, dict[str, float]]]],
    p50: dict[str, float],
    names: Sequence[str],
    configs: dict[str, Any],
    meta: dict[str, Any],
) -> str:
    """Returns the markdown section: the command, the sets, one table per mode."""
    base = p50.get("none")
    parts = [
        f"Command: `{meta['command']}`  ",
        f"Measured {meta['date']} on {describe_machine(meta['machine'])}.",
        "",
        "Each cell: hit@1 / hit@5 / MRR@10. Questions: "
        + ", ".join(f"{k} {v}" for k, v in meta["questions"].items())
        + f". p50: one cold hybrid search (question embedded), {meta['latency_n']} questions "
        "from every set, the configurations taking turns.",
        "",
        "Configurations (`qa.Expansions`): "
        + "; ".join(f"**{n}** {_describe(configs[n])}" for n in names)
        + ".",
    ]
    for mode, rows in figures.items():
        set_names = list(next(iter(rows.values())))
        head = ["configuration", *set_names, "p50 ms"]
        table = []
        for name, row in rows.items():
            cells = [
                f"{f['hit@1']:.3f} / {f['hit@5']:.3f} / {f['mrr@10']:.3f}" for f in row.values()
            ]
            ratio = f" ({p50[name] / base:.2f}×)" if base else ""
            table.append([name, *cells, f"{p50[name]:.1f}{ratio}" if mode == "hybrid" else "–"])
        parts += ["", f"**{mode}**", "", markdown_table(head, table)]
    hybrid = figures.get("hybrid", {})
    if "none" in hybrid and "default" in hybrid:
        changes = ", ".join(
            f"{s} {hybrid['none'][s]['hit@1']:.3f} → {hybrid['default'][s]['hit@1']:.3f}"
            for s in hybrid["none"]
        )
        parts += ["", f"qa's default against none, hybrid hit@1: {changes}."]
    if not meta.get("index_lemmas"):
        parts += ["", NOTES]
    return "\n".join(parts)


def _describe(settings: Any) -> str:
    on = []
    if settings.translations:
        on.append(f"{settings.translations} translations at {settings.translation_weight}")
    if settings.synonym_weight:
        on.append(f"synonyms at {settings.synonym_weight} (sets of ≤ {settings.max_synset} words)")
    if settings.lemma_weight:
        on.append(f"lemmas at {settings.lemma_weight}")
    return ", ".join(on) or "no expansion"


if __name__ == "__main__":
    raise SystemExit(main())
