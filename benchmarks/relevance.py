"""Relevance calibration: fits ``qa.relevance``'s model and measures its threshold.

``Passage.relevance`` is a logistic model over evidence that does not depend on the other
candidates (``qa.relevance.FEATURES``). This script fits it and checks it:

- XQuAD-de is split by article: even-numbered articles calibrate, odd ones check.
- Answerable: every XQuAD-de question (German, and the English translations) over an
  index of all 48 articles; a candidate is positive when it cites the gold paragraph.
- Unanswerable, off-topic: the same questions over an index of the other half's articles
  only (their own article is missing), every candidate negative.
- Unanswerable, on-topic: questions about the seeds' subject that no seed answers
  (``benchmarks/eval/unanswerable.json``), over an index of the seeds; check only.
- Answerable seed questions (``benchmarks/eval/seed_questions.json``): check only.

The background moments (``qa/backgrounds/<model>.npy``) are those of the calibration
half's passages; the script writes them, so the check half's articles are not in it.
The model is fitted (logistic regression,
Newton's method) on the top-10 candidates of the calibration questions; the threshold is
the one that best tells the calibration half's answerable questions from its off-topic
ones (most kept plus most below, by their first passages) among those that keep at least
95% of the answerable.
The script prints both in the form ``qa/relevance.py`` holds them, reports the fitted
model on the check half and the seeds with the whole trade-off curve, and writes the
"Relevance" section of benchmarks/RESULTS.md.

Usage:
    .venv/bin/python benchmarks/relevance.py
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common.args import arg_parser
from common.corpora import Question, load_english, load_seeds, prepare_xquad
from common.machine import provenance
from common.metrics import is_gold
from common.paths import DATA, DEFAULT_EN, EVAL, REPO, RESULTS, SEED_QUESTIONS, rel
from common.results import replace_section, write_if_changed, write_json
from common.tables import table_head

SECTION = "Relevance"
K = 10
KEEP = 0.95  # share of answerable calibration questions that keep their first passage
TARGETS = {"answerable_kept": 0.95, "off_topic_below": 0.95, "on_topic_below": 0.70}


@dataclass(frozen=True)
class Candidates:
    """The top-K passages of one question: relevance evidence, label, model relevance.

    ``first`` holds more evidence on the first passage, for the separability table: its
    cosine and its best sentence's cosine to the question.
    """

    features: np.ndarray
    labels: np.ndarray
    relevance: np.ndarray
    first: dict[str, float]


def _half(question: Question) -> int:
    """0 for calibration (even-numbered article), 1 for the check."""
    return int(question.file[:2]) % 2


def _subset(folder: Path, files: set[str], target: Path) -> Path:
    """Writes the articles named in ``files`` into ``target`` (for an index without the rest)."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(folder.glob("*.txt")):
        if path.name in files:
            write_if_changed(target / path.name, path.read_text(encoding="utf-8"))
        elif (target / path.name).exists():
            (target / path.name).unlink()
    return target


def collect(
    index: object,
    questions: Sequence[Question],
    answerable: bool,
    reference: Callable[[Question], object] | None = None,
) -> list[Candidates]:
    """Returns each question's top-K candidates with their evidence and labels.

    Args:
        index: A ``qa.Index``.
        questions: The questions.
        answerable: Whether the index holds their articles (else every label is 0).
        reference: The background for a question, if not the shipped one.
    """
    from qa import SearchMode
    from qa.index import _queries

    out = []
    queries = _queries(index.model, [q.text for q in questions], ())  # type: ignore[attr-defined]
    generation = index._generation  # type: ignore[attr-defined]
    ranked = index._rank(generation, queries, K, SearchMode.HYBRID)  # type: ignore[attr-defined]
    for question, query, (rows, scores, cosines) in zip(questions, queries, ranked, strict=True):
        passages = index._passages(  # type: ignore[attr-defined]
            generation, query, rows, scores, cosines, None
        )
        labels = np.array(
            [answerable and is_gold(p, question.file, question.lines) for p in passages],
            dtype=np.float64,
        )
        features = index._features(  # type: ignore[attr-defined]
            generation,
            query,
            rows,
            cosines,
            [p.text for p in passages],
            reference(question) if reference else None,
        )
        first = {}
        if len(rows):
            sentences = generation.snapshot.sentence_cosines(int(rows[0]), query.vector)
            first = {
                "cosine": float(cosines[0]),
                "sentence cosine": float(sentences.max()) if sentences is not None else 0.0,
            }
        relevances = np.array([p.relevance for p in passages])
        out.append(Candidates(features, labels, relevances, first))
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3) -> tuple[float, np.ndarray]:
    """Fits ``P(y=1) = sigmoid(b + x @ w)`` by Newton's method; returns ``(b, w)``."""
    design = np.hstack([np.ones((len(x), 1)), x])
    beta = np.zeros(design.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-design @ beta))
        gradient = design.T @ (p - y) + l2 * np.r_[0, beta[1:]]
        hessian = (design * (p * (1 - p))[:, None]).T @ design + l2 * np.diag(
            np.r_[0, np.ones(len(beta) - 1)]
        )
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-9:
            break
    return float(beta[0]), beta[1:]


def _first(candidates: Sequence[Candidates], model: tuple[float, np.ndarray] | None) -> np.ndarray:
    """The first passage's relevance per question, by ``model`` or as qa computed it."""
    if model is None:
        return np.array([c.relevance[0] if len(c.relevance) else 0.0 for c in candidates])
    bias, weights = model
    return np.array(
        [
            1 / (1 + np.exp(-(bias + c.features[0] @ weights))) if len(c.labels) else 0.0
            for c in candidates
        ]
    )


def choose_threshold(answerable: np.ndarray, unanswerable: np.ndarray) -> float:
    """Returns the threshold with the most answerable kept plus unanswerable below.

    Only thresholds that keep at least ``KEEP`` of the answerable questions count; ties go
    to the lower one.
    """
    candidates = np.unique(np.round(np.concatenate([answerable, unanswerable]), 2))
    allowed = [t for t in candidates if (answerable >= t).mean() >= KEEP]
    return float(max(allowed, key=lambda t: (answerable >= t).mean() + (unanswerable < t).mean()))


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Returns the chance that a random ``positive`` value exceeds a random ``negative`` one.

    Ties count half; 0.5 means the evidence does not tell the two groups apart.
    """
    above = (positive[:, None] > negative[None, :]).mean()
    ties = (positive[:, None] == negative[None, :]).mean()
    return float(above + ties / 2)


def separability(
    pairs: dict[str, tuple[Sequence[Candidates], Sequence[Candidates]]], features: Sequence[str]
) -> list[str]:
    """Rows of a table: per evidence on the first passage, the AUC of each pair of groups.

    Args:
        pairs: By column title, the answerable group and the unanswerable one.
        features: The names of ``Candidates.features``' columns.
    """

    def evidence(group: Sequence[Candidates]) -> dict[str, np.ndarray]:
        kept = [c for c in group if len(c.labels)]
        named = {f: np.array([c.features[0, i] for c in kept]) for i, f in enumerate(features)}
        named |= {name: np.array([c.first[name] for c in kept]) for name in kept[0].first}
        return named | {"relevance": np.array([c.relevance[0] for c in kept])}

    values = {pair: (evidence(a), evidence(b)) for pair, (a, b) in pairs.items()}
    names = list(next(iter(values.values()))[0])
    rows = table_head(["first passage's", *pairs])
    for name in names:
        cells = [f"{auc(a[name], b[name]):.3f}" for a, b in values.values()]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def curve_rows(groups: dict[str, np.ndarray], thresholds: Sequence[float]) -> list[list[str]]:
    """Rows of the trade-off table: per threshold, each group's share kept or below."""
    rows = []
    for t in thresholds:
        cells = [f"{t:.2f}"]
        for name, first in groups.items():
            share = (first >= t).mean() if name.startswith("answerable") else (first < t).mean()
            cells.append(f"{share:.3f}")
        rows.append(cells)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the calibration and the check; returns the exit status."""
    parser = arg_parser(__doc__)
    parser.add_argument(
        "--background-passages",
        type=int,
        default=None,
        help="try another weight of the background against the corpus (qa: 300)",
    )
    args = parser.parse_args(argv)
    meta = provenance()
    import qa
    import qa.index
    from qa import relevance as model

    if args.background_passages is not None:
        qa.index.BACKGROUND_PASSAGES = args.background_passages
    os.chdir(REPO)
    german = prepare_xquad(args.xquad.resolve(), DATA / "xquad-de")
    questions = german + load_english(DEFAULT_EN, german)
    halves: dict[int, list[Question]] = {0: [], 1: []}
    for q in questions:
        halves[_half(q)].append(q)
    files = {h: {q.file for q in halves[h]} for h in halves}
    full = qa.Index.build([rel(DATA / "xquad-de")], rel(DATA / "index-multilingual-e5-small"))
    # The index for a half's off-topic questions holds only the other half's articles.
    without = {
        h: qa.Index.build(
            [rel(_subset(DATA / "xquad-de", files[1 - h], DATA / f"xquad-de-half{1 - h}"))],
            rel(DATA / f"index-xquad-half{1 - h}"),
        )
        for h in halves
    }
    seeds = qa.Index.build(["seeds"], rel(DATA / "index-seeds-multilingual-e5-small"))
    seed_set = load_seeds(SEED_QUESTIONS)
    on_topic = json.loads((EVAL / "unanswerable.json").read_text(encoding="utf-8"))
    on_topic_set = [Question(u["id"], u["question"], "", (0, 0), ()) for u in on_topic]
    model.BACKGROUNDS.mkdir(exist_ok=True)
    # The background: the calibration half's passages (the index that lacks the check half).
    without[1]._snapshot.moments.save(model.BACKGROUNDS / f"{full.model}.npy", np.float32)
    model.background.cache_clear()
    shipped = without[1]._snapshot

    # A calibration question's own article is in that background, as no user's article
    # is: leave it out (moments are sums, so exactly).
    def leave_out(question: Question) -> object:
        record = shipped.source_record(rel(DATA / "xquad-de-half0" / question.file))
        rows = slice(record.first_passage, record.first_passage + record.passage_count)
        return shipped.moments.without(shipped.vectors[rows], len(shipped.passages))

    answerable = {0: collect(full, halves[0], True, leave_out), 1: collect(full, halves[1], True)}
    off_topic = {
        0: collect(without[0], halves[0], False, leave_out),
        1: collect(without[1], halves[1], False),
    }
    seeds_answerable = collect(seeds, seed_set, True)
    seeds_unanswerable = collect(seeds, on_topic_set, False)

    train = answerable[0] + off_topic[0]
    x = np.vstack([c.features for c in train if len(c.labels)])
    y = np.concatenate([c.labels for c in train])
    fitted = fit_logistic(x, y)
    threshold = choose_threshold(_first(answerable[0], fitted), _first(off_topic[0], fitted))
    bias, weights = fitted
    print("fitted on", len(y), "candidates of", len(answerable[0]), "calibration questions:")
    print(f"_BIAS = {bias:.3f}")
    print(f"_WEIGHTS = np.array([{', '.join(f'{w:.3f}' for w in weights)}])  # {model.FEATURES}")
    print(f"MIN_RELEVANCE = {threshold:.2f}")

    in_code = (model._BIAS, model._WEIGHTS, model.MIN_RELEVANCE)
    matches = (
        abs(in_code[0] - bias) < 0.01
        and np.allclose(in_code[1], weights, atol=0.01)
        and abs(in_code[2] - round(threshold, 2)) < 1e-9
    )
    groups = {
        "answerable, check half (DE+EN)": _first(answerable[1], fitted),
        "answerable seeds questions": _first(seeds_answerable, fitted),
        "off-topic, check half": _first(off_topic[1], fitted),
        "on-topic unanswerable (seeds)": _first(seeds_unanswerable, fitted),
    }
    de_check = np.array([not q.qid.startswith("en-") for q in halves[1]])
    t = round(threshold, 2)
    results = {
        "answerable_kept": float((groups["answerable, check half (DE+EN)"] >= t).mean()),
        "answerable_kept_de": float(
            (groups["answerable, check half (DE+EN)"][de_check] >= t).mean()
        ),
        "answerable_kept_en": float(
            (groups["answerable, check half (DE+EN)"][~de_check] >= t).mean()
        ),
        "seeds_answerable_kept": float((groups["answerable seeds questions"] >= t).mean()),
        "off_topic_below": float((groups["off-topic, check half"] < t).mean()),
        "on_topic_below": float((groups["on-topic unanswerable (seeds)"] < t).mean()),
    }
    head = ["threshold", *groups]
    table = table_head(head)
    thresholds = sorted({*np.round(np.arange(0.05, 1.0, 0.05), 2), round(t, 2)})
    for cells in curve_rows(groups, thresholds):
        bold = float(cells[0]) == round(t, 2)
        table.append("| " + " | ".join(f"**{c}**" if bold else c for c in cells) + " |")
    checks = [
        ("answerable questions keep their first passage", "answerable_kept", True),
        ("off-topic questions fall below", "off_topic_below", True),
        ("on-topic unanswerable questions fall below", "on_topic_below", True),
    ]
    lines = [
        f"Measured {meta['date']} with `{meta['command']}`.",
        "",
        f"Background weight: {qa.index.BACKGROUND_PASSAGES} passages. "
        f"Fitted on the calibration half (even-numbered XQuAD-de articles, "
        f"{len(answerable[0])} questions, {len(y)} candidates): features "
        f"{', '.join(model.FEATURES)}, bias {bias:.3f}, weights "
        f"{[round(float(w), 3) for w in weights]}, threshold `MIN_RELEVANCE` = {t} "
        f"({'as qa/relevance.py has them' if matches else 'NOT what qa/relevance.py has'}).",
        "",
        f"Checked on the other half ({len(halves[1])} questions, German and English) and on "
        f"the seeds: {len(seed_set)} answerable questions "
        f"(`benchmarks/eval/seed_questions.json`) and {len(on_topic_set)} on-topic "
        f"questions no seed answers (`benchmarks/eval/unanswerable.json`). A question keeps "
        f"its answer when its first passage (k={K}) has relevance at or above the threshold; "
        f"answerable = its article is indexed, off-topic = an index of the other half's "
        f"articles only.",
        "",
        *[
            f"- {'✅' if results[key] >= TARGETS[key] else '❌'} {label}: "
            f"{results[key]:.3f} (target ≥ {TARGETS[key]})"
            for label, key, _ in checks
        ],
        f"- answerable, German {results['answerable_kept_de']:.3f}, English "
        f"{results['answerable_kept_en']:.3f}; answerable seed questions kept: "
        f"{results['seeds_answerable_kept']:.3f}",
        "",
        "How well each piece of evidence on the first passage tells answerable questions from "
        "unanswerable ones (AUC: the chance that an answerable question's first passage "
        "scores higher than an unanswerable one's; 0.5 = no better than chance). Relevance "
        f"combines {', '.join(model.FEATURES)}; on the seeds, no evidence separates the two "
        "groups, which is why no threshold meets the on-topic target:",
        "",
        *separability(
            {
                "check half: answerable vs off-topic": (answerable[1], off_topic[1]),
                "seeds: answerable vs on-topic unanswerable": (
                    seeds_answerable,
                    seeds_unanswerable,
                ),
            },
            model.FEATURES,
        ),
        "",
        "Trade-off (share kept for answerable rows, share below for unanswerable rows; the "
        "code's threshold in bold):",
        "",
        *table,
    ]
    body = "\n".join(lines)
    print(body)
    fit = {"bias": bias, "weights": list(weights), "threshold": threshold}
    write_json(
        RESULTS / "relevance.json", {**meta, "fit": fit} | {"results": results}, ascii_only=True
    )
    replace_section(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
