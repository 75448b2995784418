"""qa.evaluate and `qa eval` on real question sets over the real seed index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import qa
from tests.conftest import REPO
from tests.qa.test_cli import run_qa

SEED_QUESTIONS = json.loads((REPO / "tests" / "data" / "seed_questions.json").read_text("utf-8"))
OFF_TOPIC = ["Wer hat die Fußball-Weltmeisterschaft 2014 gewonnen?", "How do I bake sourdough?"]


def seed_set() -> list[dict]:
    """The test seed questions with their gold line, and two questions no seed answers."""
    items = [
        {
            "id": f"t{n:02d}",
            "question": q["question"],
            "gold": [{"source": q["source"], "line_start": q["line"], "line_end": q["line"]}],
            "answer": q["answer"],
        }
        for n, q in enumerate(SEED_QUESTIONS, 1)
    ]
    return items + [{"question": q, "gold": []} for q in OFF_TOPIC]


def write_jsonl(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), "utf-8")
    return path


def squash(text: str) -> str:
    return " ".join(text.split()).lower()


def test_figures_match_a_recount_from_search(seed_index: qa.Index) -> None:
    items = seed_set()
    report = qa.evaluate(seed_index, items, k=10)
    ranks, shown, kept, rejected = [], [], [], []
    for item in items:
        passages = seed_index.search(item["question"], k=10)
        gold = item["gold"]
        if not gold:
            rejected.append(passages[0].relevance < qa.MIN_RELEVANCE)
            continue
        g = gold[0]
        ranks.append(
            next(
                (
                    n
                    for n, p in enumerate(passages, 1)
                    if p.source == g["source"] and p.line_start <= g["line_start"] <= p.line_end
                ),
                None,
            )
        )
        shown.append(squash(item["answer"]) in squash(passages[0].highlight))
        kept.append(passages[0].relevance >= qa.MIN_RELEVANCE)
    found = [r for r in ranks if r is not None]
    assert len(report.records) == len(items)
    assert [r.rank for r in report.answerable] == ranks
    assert report.hit_at_1 == pytest.approx(sum(r == 1 for r in found) / len(ranks))
    assert report.hit_at_5 == pytest.approx(sum(r <= 5 for r in found) / len(ranks))
    assert report.mrr == pytest.approx(sum(1 / r for r in found) / len(ranks))
    assert report.answer_in_highlight == pytest.approx(np.mean(shown))
    assert report.answerable_kept == pytest.approx(np.mean(kept))
    assert report.unanswerable_rejected == pytest.approx(np.mean(rejected))
    assert len(report.unanswerable) == len(OFF_TOPIC)
    seconds = [r.seconds for r in report.records]
    assert 0 < report.latency_ms(50) <= report.latency_ms(95) <= max(seconds) * 1000
    summary = report.summary()
    assert summary["hit@1"] == report.hit_at_1
    assert summary["mrr@10"] == report.mrr
    misses = report.worst_misses(len(items))
    assert {r.id for r in misses} == {r.id for r in report.records if r.missed}


def test_top_passage_as_gold_is_hit_at_1(seed_index: qa.Index) -> None:
    items = []
    for q in SEED_QUESTIONS:
        top = seed_index.search(q["question"], k=10)[0]
        gold = {"source": top.source, "line_start": top.line_start, "line_end": top.line_end}
        items.append({"question": q["question"], "gold": [gold]})
    report = qa.evaluate(seed_index, items)
    assert report.hit_at_1 == 1.0
    assert report.mrr == 1.0
    assert report.worst_misses() == ()
    assert report.answer_in_highlight is None  # no answers given
    first = report.records[0]
    assert first.citations == tuple(
        p.citation for p in seed_index.search(SEED_QUESTIONS[0]["question"], k=10)
    )


def test_gold_elsewhere_counts_its_rank(seed_index: qa.Index) -> None:
    question = SEED_QUESTIONS[0]["question"]
    passages = seed_index.search(question, k=10)
    third = passages[2]
    gold = {"source": third.source, "line_start": third.line_start, "line_end": third.line_end}
    expected = next(n for n, p in enumerate(passages, 1) if qa.GoldCitation(**gold).matches(p))
    report = qa.evaluate(seed_index, [{"question": question, "gold": [gold]}])
    assert report.records[0].rank == expected
    assert report.mrr == pytest.approx(1 / expected)
    assert report.hit_at_1 == (1.0 if expected == 1 else 0.0)


def test_feedback_lines(seed_index: qa.Index) -> None:
    """👎-only lines are skipped; 👍 lines of one question add their citations to its gold."""
    question = SEED_QUESTIONS[0]["question"]
    passages = seed_index.search(question, k=10)

    def vote(p: qa.Passage, up: bool) -> dict:
        cite = {"source": p.source, "line_start": p.line_start, "line_end": p.line_end}
        return {
            "time": "2026-12-07T20:00:00Z",
            "question": question,
            "history": [],
            "gold": [cite] if up else [],
            "vote": "up" if up else "down",
            "passage": cite | {"page": None},
            "generation": "g-1",
        }

    lines = [vote(passages[3], True), vote(passages[0], False), vote(passages[1], True)]
    report = qa.evaluate(seed_index, lines)
    assert (report.skipped, report.merged, len(report.records)) == (1, 1, 1)
    record = report.records[0]
    assert [g.citation for g in record.gold] == [passages[3].citation, passages[1].citation]
    voted = [passages[3], passages[1]]
    assert record.rank == next(  # the best of the voted passages (or one sharing their lines)
        n
        for n, p in enumerate(passages, 1)
        if any(
            p.source == v.source and p.line_start <= v.line_end and v.line_start <= p.line_end
            for v in voted
        )
    )
    assert report.summary()["skipped"] == 1


def test_off_topic_question_in_unanswerable_share(seed_index: qa.Index) -> None:
    question = OFF_TOPIC[0]
    relevance = seed_index.search(question, k=10)[0].relevance
    report = qa.evaluate(seed_index, [{"question": question, "gold": []}])
    assert report.hit_at_1 is None and report.answerable_kept is None
    assert report.unanswerable_rejected == (1.0 if relevance < qa.MIN_RELEVANCE else 0.0)
    assert report.records[0].missed == (relevance >= qa.MIN_RELEVANCE)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"gold": []}', "'question' is missing"),
        ('{"question": 3, "gold": []}', "'question' must be a non-empty string"),
        ('{"question": "Wer?"}', "'gold' is missing"),
        ('{"question": "Wer?", "gold": {"source": "a"}}', "'gold' must be a list"),
        ('{"question": "Wer?", "gold": ["a.txt"]}', "gold[0]: expected an object"),
        (
            '{"question": "Wer?", "gold": [{"line_start": 1, "line_end": 1}]}',
            "gold[0]: 'source' must be a non-empty string",
        ),
        (
            '{"question": "Wer?", "gold": [{"source": "a.txt", "line_start": 1}]}',
            "gold[0]: 'line_end' is missing",
        ),
        (
            '{"question": "Wer?", "gold": [{"source": "a", "line_start": "2", "line_end": 3}]}',
            "'line_start' must be a whole number >= 1",
        ),
        (
            '{"question": "Wer?", "gold": [{"source": "a", "line_start": 5, "line_end": 3}]}',
            "'line_start' 5 is after 'line_end' 3",
        ),
        (
            '{"question": "Wer?", "gold": [{"source": "a", "line_start": 1, "line_end": 1, '
            '"page": 0}]}',
            "'page' must be a whole number >= 1",
        ),
        ('{"question": "Wer?", "gold": [], "history": "Und?"}', "'history' must be a list"),
        ('{"question": "Wer?", "gold": [], "answer": 3}', "'answer' must be a string"),
        ('{"question": "Wer?", "gold": [], "vote": "maybe"}', "'vote' must be 'up' or 'down'"),
        ('{"question": "Wer?", "gold": [], "vote": ["up"]}', "'vote' must be 'up' or 'down'"),
    ],
)
def test_bad_line_names_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "Wer kommentiert?", "gold": []}\n\n' + line + "\n", "utf-8")
    with pytest.raises(ValueError) as err:
        qa.read_questions(path)
    assert str(err.value).startswith(f"{path}:3: ")
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("gold", "message"),
    [
        ({"source": "seeds/999_missing.txt", "line_start": 1, "line_end": 1}, "not in the index"),
        (
            {"source": "seeds/004_9b559d87cc15ea2d.txt", "line_start": 5, "line_end": 9999},
            "has only",
        ),
        (
            {"source": "seeds/004_9b559d87cc15ea2d.txt", "line_start": 1, "line_end": 1, "page": 2},
            "has no page 2",
        ),
    ],
)
def test_gold_not_in_index_is_an_error(seed_index: qa.Index, gold: dict, message: str) -> None:
    items = [{"question": "Wer kommentiert?", "gold": []}, {"question": "Wer?", "gold": [gold]}]
    with pytest.raises(ValueError, match="question 2: ") as err:
        qa.evaluate(seed_index, items)
    assert message in str(err.value)
    assert gold["source"] in str(err.value)


def test_gold_at_the_last_line_is_accepted(seed_index: qa.Index) -> None:
    source = "seeds/004_9b559d87cc15ea2d.txt"
    last = max(line.line_end for line in seed_index.source_lines(source))
    gold = {"source": source, "line_start": last, "line_end": last}
    report = qa.evaluate(seed_index, [{"question": "Wer kommentiert?", "gold": [gold]}])
    assert report.records[0].gold == (qa.GoldCitation(source, last, last),)


def test_cli_eval(seed_index: qa.Index, tmp_path: Path) -> None:
    questions = write_jsonl(tmp_path / "q.jsonl", seed_set())
    out = tmp_path / "report.json"
    run = run_qa("eval", str(questions), "--index", str(seed_index.path), "--json", str(out))
    assert run.returncode == 0, run.stderr
    data = json.loads(out.read_text("utf-8"))
    assert len(data["records"]) == len(seed_set())
    assert [r["id"] for r in data["records"][:2]] == ["t01", "t02"]
    summary = data["summary"]
    for label, key in [("hit@1", "hit@1"), ("hit@5", "hit@5"), ("MRR@10", "mrr@10")]:
        assert f"{label:<24}{summary[key]:.3f}" in run.stdout
    assert f"({summary['answerable']} answerable; {len(OFF_TOPIC)} unanswerable)" in run.stdout
    assert "latency p50 / p95" in run.stdout
    ranks = [r["rank"] for r in data["records"] if r["answerable"]]
    assert summary["hit@1"] == pytest.approx(ranks.count(1) / len(ranks))

    run = run_qa(
        "eval", str(questions), "--index", str(seed_index.path), "--json", "-", "--min-hit1", "1.01"
    )
    assert run.returncode == 1, run.stderr
    assert "is below --min-hit1 1.01" in run.stderr
    assert "hit@1" in run.stderr  # the table goes to stderr when the JSON takes stdout
    again = json.loads(run.stdout)
    timings = {"p50_ms", "p95_ms"}
    assert {k: v for k, v in again["summary"].items() if k not in timings} == {
        k: v for k, v in summary.items() if k not in timings
    }
    assert [r["citations"] for r in again["records"]] == [r["citations"] for r in data["records"]]


def test_cli_eval_bad_input(seed_index: qa.Index, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "Wer?", "gold": []}\n{"question": "Wer?"}\n', "utf-8")
    run = run_qa("eval", str(questions), "--index", str(seed_index.path))
    assert run.returncode == 2
    assert (
        run.stderr.strip()
        == f"qa: error: {questions}:2: 'gold' is missing (use [] when no article answers)"
    )
    missing = write_jsonl(
        tmp_path / "m.jsonl",
        [{"question": "Wer?", "gold": [{"source": "x.txt", "line_start": 1, "line_end": 1}]}],
    )
    run = run_qa("eval", str(missing), "--index", str(seed_index.path))
    assert run.returncode == 2
    assert f"{missing}:1: gold source 'x.txt' is not in the index" in run.stderr
    run = run_qa("eval", str(missing), "--json", str(tmp_path / "no" / "r.json"))
    assert run.returncode == 2
    assert "its folder does not exist" in run.stderr
