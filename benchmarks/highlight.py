"""Highlight benchmark: which sentence of the gold paragraph holds the answer, and at what cost.

Isolates the highlight step from retrieval. For every XQuAD-de question (the German ones
and the English ones of ``benchmarks/en_questions.tsv``) the gold paragraph is split into
sentences (``vectorstore.sources.sentences.sentence_spans``) and one sentence is chosen by each
rule below; a rule scores when its sentence holds a gold answer (whitespace-normalised,
case-insensitive, as ``common.metrics.answer_in_highlight``).

- lexical: qa's rule today (``qa.highlight.best_sentence``), with the IDF weights of an
  index over the XQuAD articles, built by ``qa.Index.build`` as bench-quality does.
- (a) cosine of the question vector and the sentence's vector pooled from the token
  states of the paragraph's own forward pass (``Embedder.encode_passages_with_spans``).
- (b) cosine of the question vector and the sentence embedded alone, as a passage.
- (c) as (b), the sentences embedded at question time: same choice, another cost.
- lexical + w · cosine: the lexical score normalised per paragraph (by the sum of the
  question's IDFs, or by the paragraph's best sentence) plus ``w`` times the cosine of
  (a) or (b). ``w`` is chosen on the even-numbered German questions and reported on the
  odd ones, and the other way round; the English questions are reported with the ``w``
  chosen on all German ones.
- qa's ``best_sentence`` given the cosines of (a): that rule with ``w`` =
  ``qa.highlight.COSINE_WEIGHT`` (chosen on all German questions, a check of the code).

Cost: passages/s embedding the 240 XQuAD paragraphs with and without pooling the
sentence vectors (in one process, the two alternating paragraph by paragraph), the time
to embed every sentence alone for (b), and for (c) the milliseconds per question to embed
the sentences of the top-5 passages of ``Index.search``.

Writes ``benchmarks/results/highlight.md`` and ``highlight.json``, and the "Highlight"
section of benchmarks/RESULTS.md.

Usage:
    .venv/bin/python benchmarks/highlight.py [--rounds 3] [--latency-n 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from common.args import arg_parser
from common.corpora import Hit, Question, build_index, load_english, prepare_xquad
from common.machine import describe_machine, provenance
from common.metrics import answer_in_highlight
from common.paths import DATA, DEFAULT_EN, REPO, RESULTS
from common.results import replace_section, write_json
from common.tables import table_head
from common.timing import interleaved, percentiles_ms, spread

from qa.highlight import COSINE_WEIGHT, best_sentence, sentence_scores
from vectorstore.model.embedding import DEFAULT_MODEL, Embedder, get_embedder
from vectorstore.sources.sentences import sentence_spans
from vectorstore.sources.terms import tokenize

WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 30.0, 50.0, 100.0)
TARGETS = {"de": 0.85, "en": 0.70}
TOP = 5  # passages whose sentences (c) embeds at question time
KINDS = {"pooled": "(a)", "alone": "(b)"}  # sentence vectors: pooled, or embedded alone
NORMS = {"by_idf": "lexical / ΣIDF", "by_best": "lexical / best"}


@dataclass
class Paragraph:
    """A gold paragraph: its text, its sentences, and their vectors of each kind."""

    text: str
    spans: list[tuple[int, int]]
    vectors: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Case:
    """One question over its gold paragraph, each sentence scored.

    Attributes:
        question: The question.
        paragraph: Index of the gold paragraph.
        correct: Per sentence, whether it holds a gold answer.
        lexical: qa's choice today (``best_sentence``), a sentence index.
        by_idf: Lexical score per sentence divided by the sum of the question's IDFs.
        by_best: Lexical score per sentence divided by the paragraph's best.
        weights: The question's terms and their IDFs.
        cosine: Per kind of sentence vector, the question's cosine with each sentence.
    """

    question: Question
    paragraph: int
    correct: np.ndarray
    lexical: int
    by_idf: np.ndarray
    by_best: np.ndarray
    weights: dict[str, float]
    cosine: dict[str, np.ndarray] = field(default_factory=dict)


def gold_paragraphs(questions: Sequence[Question]) -> tuple[list[Paragraph], dict]:
    """Reads each question's gold paragraph from the article files, once per paragraph.

    Returns:
        The paragraphs, and the index of each ``(file, lines)`` among them.
    """
    paragraphs: list[Paragraph] = []
    where: dict[tuple[str, tuple[int, int]], int] = {}
    files: dict[str, list[str]] = {}
    for q in questions:
        if (q.file, q.lines) in where:
            continue
        if q.file not in files:
            files[q.file] = (DATA / "xquad-de" / q.file).read_text(encoding="utf-8").split("\n")
        first, last = q.lines
        text = "\n".join(files[q.file][first - 1 : last])
        where[q.file, q.lines] = len(paragraphs)
        paragraphs.append(Paragraph(text, sentence_spans(text) or [(0, len(text))]))
    return paragraphs, where


def make_case(
    q: Question,
    paragraph: int,
    paragraphs: Sequence[Paragraph],
    idf: Callable[[set[str]], dict[str, float]],
) -> Case:
    """Scores one question's sentences lexically, as qa does, and marks those holding an answer."""
    p = paragraphs[paragraph]
    weights = idf(set(tokenize(q.text)))
    correct = np.array(
        [bool(answer_in_highlight([Hit(q.file, *q.lines, p.text[s:e])], q)) for s, e in p.spans]
    )
    scores = np.asarray(sentence_scores(q.text, weights, p.text, p.spans))
    total, best = sum(weights.values()), scores.max()
    return Case(
        q,
        paragraph,
        correct,
        p.spans.index(best_sentence(q.text, weights, p.text)),
        scores / total if total > 0 else scores,
        scores / best if best > 0 else scores,
        weights,
    )


# --- rules ---------------------------------------------------------------------------


def accuracy(cases: Sequence[Case], choose: Callable[[Case], int]) -> float:
    """Returns the share of cases whose chosen sentence holds an answer."""
    return sum(bool(c.correct[choose(c)]) for c in cases) / len(cases)


def plain(de: Sequence[Case], en: Sequence[Case], choose: Callable[[Case], int]) -> dict:
    """Figures of a rule without a weight: each half, all German, English."""
    sets = {"de_even": de[0::2], "de_odd": de[1::2], "de": de, "en": en}
    return {name: accuracy(cases, choose) for name, cases in sets.items()}


def cross_validated(
    de: Sequence[Case], en: Sequence[Case], norm: str, kind: str
) -> dict[str, object]:
    """``lexical normalised + w * cosine``, ``w`` chosen on one German half, reported on the other.

    Args:
        de: The German cases.
        en: The English cases.
        norm: The lexical normalisation (a ``Case`` attribute).
        kind: The sentence vectors (a key of ``Case.cosine``).

    Returns:
        Figures on the even and odd halves (each with ``w`` chosen on the other half),
        both halves together, and English (``w`` chosen on all German questions); the
        chosen weights; and every ``w``'s accuracy on each set.
    """

    def rule(w: float) -> Callable[[Case], int]:
        return lambda c: int(np.argmax(getattr(c, norm) + w * c.cosine[kind]))  # ties: earlier

    sets = {"even": de[0::2], "odd": de[1::2], "all": de, "en": en}
    curve = {name: [accuracy(cases, rule(w)) for w in WEIGHTS] for name, cases in sets.items()}
    pick = {name: WEIGHTS[int(np.argmax(curve[name]))] for name in ("even", "odd", "all")}
    even = curve["even"][WEIGHTS.index(pick["odd"])]
    odd = curve["odd"][WEIGHTS.index(pick["even"])]
    n_even, n_odd = len(sets["even"]), len(sets["odd"])
    return {
        "de_even": even,
        "de_odd": odd,
        "de": (even * n_even + odd * n_odd) / (n_even + n_odd),
        "en": curve["en"][WEIGHTS.index(pick["all"])],
        "w_for_even": pick["odd"],
        "w_for_odd": pick["even"],
        "w_all": pick["all"],
        "curve": {"w": list(WEIGHTS), **curve},
    }


def table_rows(
    de: Sequence[Case], en: Sequence[Case], paragraphs: Sequence[Paragraph], costs: dict[str, str]
) -> list[dict]:
    """Returns one row per rule: its figures and its cost."""

    def qa_rule(c: Case) -> int:
        p = paragraphs[c.paragraph]
        return p.spans.index(best_sentence(c.question.text, c.weights, p.text, c.cosine["pooled"]))

    rows: list[dict[str, object]] = [
        {"rule": "lexical (qa today)", **plain(de, en, lambda c: c.lexical), "cost": "–"},
        {"rule": "first sentence", **plain(de, en, lambda _: 0), "cost": "–"},
    ]
    for kind, label in KINDS.items():
        figures = plain(de, en, lambda c, k=kind: int(np.argmax(c.cosine[k])))
        rows.append({"rule": f"{label} cosine, {kind}", **figures, "cost": costs[kind]})
    rows.append(
        {**rows[-1], "rule": "(c) cosine, alone, embedded per question", "cost": costs["c"]}
    )
    for kind, label in KINDS.items():
        for norm, text in NORMS.items():
            figures = cross_validated(de, en, norm, kind)
            rows.append({"rule": f"{text} + w · cosine {label}", **figures, "cost": costs[kind]})
    rows.append(
        {
            "rule": f"qa's best_sentence with (a), w = {COSINE_WEIGHT:g} (chosen on all DE)",
            **plain(de, en, qa_rule),
            "cost": costs["pooled"],
        }
    )
    upper = plain(de, en, lambda c: int(np.argmax(c.correct)))
    rows.append({"rule": "any sentence (upper bound)", **upper, "cost": "–"})
    return rows


# --- cost ----------------------------------------------------------------------------


def time_embedding(
    embedder: Embedder, paragraphs: Sequence[Paragraph], rounds: int
) -> tuple[dict[str, object], dict[str, list[np.ndarray]]]:
    """Times embedding the paragraphs plain, with pooled sentence vectors, and their sentences.

    The three arms run in one process, taking turns paragraph by paragraph (in rotating
    order), and are compared paragraph by paragraph: the median over paragraphs and rounds
    of the time ratio holds while other work on a shared machine moves the rates.

    Returns:
        Passages/s plain (median round), and the throughput change of pooling the sentence
        vectors (a) and of embedding every sentence after its paragraph (b); and each
        paragraph's sentence vectors, pooled (a) and embedded alone (b).
    """
    vectors: dict[str, list[np.ndarray]] = {"pooled": [], "alone": []}

    def pooled(p: Paragraph) -> None:
        _, sentences = embedder.encode_passages_with_spans([p.text], [p.spans])
        if sentences is None:
            raise SystemExit(f"{embedder.name} gives no sentence vectors")
        vectors["pooled"].append(sentences[0])

    def alone(p: Paragraph) -> None:
        vectors["alone"].append(embedder.encode_passages([p.text[s:e] for s, e in p.spans]))

    arms: dict[str, Callable[[Paragraph], object]] = {
        "plain": lambda p: embedder.encode_passages([p.text]),
        "pooled": pooled,
        "sentences": alone,
    }
    embedder.encode_passages([p.text for p in paragraphs[:4]])  # warm-up
    seconds = {name: np.zeros((rounds, len(paragraphs))) for name in arms}
    for number in range(rounds):
        for kind in vectors.values():
            kind.clear()
        for name, durations in interleaved(arms, paragraphs, turn=number).items():
            seconds[name][number] = durations
        rates = ", ".join(
            f"{name} {len(paragraphs) / t[number].sum():.1f}" for name, t in seconds.items()
        )
        print(f"  round {number + 1} (paragraphs/s): {rates}")
    plain = seconds["plain"]
    figures = {
        "paragraphs": len(paragraphs),
        "rounds": rounds,
        "plain_per_s": len(paragraphs) / float(np.median(plain.sum(axis=1))),
        "pooled_change": 1 / float(np.median(seconds["pooled"] / plain)) - 1,
        "alone_change": 1 / float(np.median((plain + seconds["sentences"]) / plain)) - 1,
        "round_seconds": {name: t.sum(axis=1).tolist() for name, t in seconds.items()},
    }
    return figures, vectors


def time_question_embedding(
    index: object, embedder: Embedder, questions: Sequence[Question]
) -> dict[str, object]:
    """(c): per question, the time to embed the sentences of its top passages."""
    durations, counts = [], []
    for q in questions:
        passages = index.search(q.text, k=TOP)  # type: ignore[attr-defined]
        sentences = [
            p.text[s:e] for p in passages for s, e in sentence_spans(p.text) or [(0, len(p.text))]
        ]
        start = time.perf_counter()
        embedder.encode_passages(sentences)
        durations.append(time.perf_counter() - start)
        counts.append(len(sentences))
    p50, p95 = percentiles_ms(durations)
    return {
        "questions": len(questions),
        "sentences_mean": float(np.mean(counts)),
        "p50_ms": p50,
        "p95_ms": p95,
    }


# --- report --------------------------------------------------------------------------


def _f(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "–"


def table(rows: Sequence[dict[str, object]]) -> str:
    """Returns the markdown table: one row per rule."""
    head = ["rule", "DE even", "DE odd", "DE all", "EN", "w (even / odd / EN)", "cost"]
    lines = table_head(head)
    for row in rows:
        w = "–"
        if "w_all" in row:
            w = f"{row['w_for_even']:g} / {row['w_for_odd']:g} / {row['w_all']:g}"
        cells = [row["rule"], *(_f(row.get(k)) for k in ("de_even", "de_odd", "de", "en"))]
        lines.append("| " + " | ".join([*map(str, cells), w, str(row.get("cost", "–"))]) + " |")
    return "\n".join(lines)


def report_markdown(rows: Sequence[dict[str, object]], meta: dict[str, object]) -> str:
    """Returns the results file: command, machine, questions, table, notes."""
    machine = meta["machine"]
    assert isinstance(machine, dict)
    counts = meta["questions"]
    assert isinstance(counts, dict)
    return "\n".join(
        [
            "# Highlight",
            "",
            f"Measured {meta['date']} with `{meta['command']}`.",
            "",
            f"Machine: {describe_machine(machine)} (shared machine).",
            "",
            f"Each XQuAD-de question's gold paragraph ({counts['paragraphs']} paragraphs, "
            f"{counts['sentences']} sentences) is split into sentences and one is chosen; "
            f"the figure is the share of questions whose chosen sentence holds a gold answer "
            f"(whitespace-normalised, case-insensitive). DE: {counts['de']} German questions "
            f"(even / odd: by position; a rule with a weight `w` has it chosen on the other "
            f"half, so DE all is cross-validated); EN: {counts['en']} English questions "
            f"(`benchmarks/en_questions.tsv`, `w` chosen on all German questions). "
            f"Cosines are of the question's vector (`{meta['model']}`, `query: `) and the "
            f"sentence's. Targets for the top passage's highlight: DE ≥ {TARGETS['de']}, "
            f"EN ≥ {TARGETS['en']}.",
            "",
            table(rows),
            "",
            f"Cost: build = passages/s embedding the {counts['paragraphs']} paragraphs "
            f"plain (median of {meta['rounds']} rounds), and with the sentence vectors of (a) "
            f"or (b) (every sentence embedded alone after its paragraph) at the median ratio of "
            f"their time to plain, paragraph by paragraph: the arms take turns paragraph by "
            f"paragraph, so the ratio holds while the machine's load moves the rates. "
            f"(c): milliseconds per question to embed the sentences of the top {TOP} "
            f"passages of a hybrid `search` ({meta['latency_n']} questions); (a) and (b) "
            f"add only a dot product per sentence at question time.",
            "",
            "Raw figures (accuracy for every `w` on each half): "
            "`benchmarks/results/highlight.json`.",
        ]
    )


# --- main ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = arg_parser(__doc__)
    parser.add_argument("--en", type=Path, default=DEFAULT_EN, help="English questions TSV")
    parser.add_argument("--rounds", type=int, default=3, help="embedding rounds")
    parser.add_argument("--latency-n", type=int, default=50, help="questions timed for (c)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark and writes the results; returns the exit status."""
    args = parse_args(argv)
    meta: dict[str, object] = provenance()
    import qa

    os.chdir(REPO)  # sources are cited relative to the repository
    german = prepare_xquad(args.xquad.resolve(), DATA / "xquad-de")
    english = load_english(args.en.resolve(), german)
    index = build_index(qa, DATA / "xquad-de", DATA / f"index-{DEFAULT_MODEL}", None)
    embedder = get_embedder(index.model)
    paragraphs, where = gold_paragraphs(german)
    idf = index._snapshot.lexical.idf
    de, en = (
        [make_case(q, where[q.file, q.lines], paragraphs, idf) for q in qs]
        for qs in (german, english)
    )
    sentences = sum(len(p.spans) for p in paragraphs)
    meta |= {"model": index.model, "rounds": args.rounds, "latency_n": args.latency_n}
    meta["questions"] = {
        "de": len(de),
        "en": len(en),
        "paragraphs": len(paragraphs),
        "sentences": sentences,
    }

    print(f"embedding {len(paragraphs)} paragraphs: plain, with sentence vectors, sentences")
    timing, vectors = time_embedding(embedder, paragraphs, args.rounds)
    for number, p in enumerate(paragraphs):
        p.vectors = {kind: values[number] for kind, values in vectors.items()}
    print(f"(c): embedding the sentences of the top {TOP} passages, {args.latency_n} questions")
    at_question = time_question_embedding(index, embedder, spread(german, args.latency_n))
    for cases in (de, en):
        questions = embedder.encode_queries([c.question.text for c in cases])
        for c, q in zip(cases, questions, strict=True):
            c.cosine = {kind: v @ q for kind, v in paragraphs[c.paragraph].vectors.items()}

    plain = timing["plain_per_s"]
    costs = {
        kind: f"build {plain * (1 + timing[f'{kind}_change']):.1f} vs {plain:.1f} passages/s "
        f"({timing[f'{kind}_change']:+.1%})"
        for kind in KINDS
    }
    costs["c"] = (
        f"question: p50 {at_question['p50_ms']:.0f} ms, p95 {at_question['p95_ms']:.0f} ms "
        f"({at_question['sentences_mean']:.0f} sentences)"
    )
    rows = table_rows(de, en, paragraphs, costs)
    print()
    print(table(rows))
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = report_markdown(rows, meta)
    (RESULTS / "highlight.md").write_text(report + "\n", encoding="utf-8")
    replace_section("Highlight", report.split("\n", 2)[2])
    raw = {**meta, "embedding": timing, "question_time": at_question, "rows": rows}
    write_json(RESULTS / "highlight.json", raw)
    print("wrote benchmarks/results/highlight.md, highlight.json and benchmarks/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
