"""Where the benchmarks read their data and write their results."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BENCH",
    "DATA",
    "DEFAULT_EN",
    "DEFAULT_PARA",
    "DEFAULT_XQUAD",
    "EVAL",
    "REPO",
    "RESULTS",
    "RESULTS_MD",
    "SEED_QUESTIONS",
    "rel",
]

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"
DATA = BENCH / "data"
RESULTS = BENCH / "results"
RESULTS_MD = BENCH / "RESULTS.md"
EVAL = BENCH / "eval"
DEFAULT_XQUAD = REPO.parent / "shared" / "benchmarks" / "xquad-de" / "xquad.de.json"
DEFAULT_EN = BENCH / "en_questions.tsv"
DEFAULT_PARA = EVAL / "xquad_paraphrase.jsonl"
SEED_QUESTIONS = EVAL / "seed_questions.json"


def rel(path: Path) -> str:
    """Returns a path relative to the repository (as given if it lies outside)."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)
