"""The harness the benchmark scripts share; each script keeps only what it measures.

- ``paths``: where data, evaluation sets and results live;
- ``machine``: the machine, the date and the command of a measurement;
- ``timing``: percentiles, cold searches, alternatives timed in turn;
- ``tables``: markdown tables and their cells;
- ``results``: RESULTS.md sections and results files;
- ``corpora``: XQuAD-de as article files, its English questions, the seed questions;
- ``metrics``: gold ranks, hit@k, MRR@10, answer in highlight, recall;
- ``args``: command-line pieces.

The scripts run as ``python benchmarks/X.py``, so ``benchmarks/`` is on the path and
this package imports as ``common``.
"""

from __future__ import annotations

from common.args import arg_parser, choices
from common.corpora import (
    Hit,
    Question,
    build_index,
    load_english,
    load_seeds,
    normalise,
    prepare_xquad,
    qa_hits,
)
from common.machine import (
    command_line,
    describe_machine,
    machine_info,
    set_environment,
    slug,
    today,
)
from common.metrics import (
    K,
    answer_in_highlight,
    gold_rank,
    is_gold,
    rank_figures,
    rank_of,
    recall,
    score,
)
from common.paths import (
    BENCH,
    DATA,
    DEFAULT_EN,
    DEFAULT_XQUAD,
    EVAL,
    REPO,
    RESULTS,
    RESULTS_MD,
    SEED_QUESTIONS,
    rel,
)
from common.results import publish, replace_section, write_if_changed, write_json
from common.tables import fmt, markdown_table, table_head
from common.timing import cold_search, interleaved, percentiles_ms, rotate, spread, timed

__all__ = [
    "BENCH",
    "DATA",
    "DEFAULT_EN",
    "DEFAULT_XQUAD",
    "EVAL",
    "REPO",
    "RESULTS",
    "RESULTS_MD",
    "SEED_QUESTIONS",
    "Hit",
    "K",
    "Question",
    "answer_in_highlight",
    "arg_parser",
    "build_index",
    "choices",
    "cold_search",
    "command_line",
    "describe_machine",
    "fmt",
    "gold_rank",
    "interleaved",
    "is_gold",
    "load_english",
    "load_seeds",
    "machine_info",
    "markdown_table",
    "normalise",
    "percentiles_ms",
    "prepare_xquad",
    "publish",
    "qa_hits",
    "rank_figures",
    "rank_of",
    "recall",
    "rel",
    "replace_section",
    "rotate",
    "score",
    "set_environment",
    "slug",
    "spread",
    "table_head",
    "timed",
    "today",
    "write_if_changed",
    "write_json",
]
