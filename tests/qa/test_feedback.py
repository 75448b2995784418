"""qa.FeedbackFile and qa.vote_line: whole lines, a size limit, and `qa eval` reading them."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

import qa
from tests.qa.test_cli import run_qa
from tests.qa.test_eval import SEED_QUESTIONS

CITE = qa.GoldCitation("seeds/003_x.txt", 5, 7)
LIMIT = 64 * 1024


def _cite(p: qa.Passage) -> qa.GoldCitation:
    return qa.GoldCitation(p.source, p.line_start, p.line_end, p.page)


def test_vote_lines() -> None:
    when = datetime(2026, 12, 7, 21, 0, 5, 123, tzinfo=UTC)
    up = qa.vote_line("Wer?", ["Was?"], CITE, qa.Vote.UP, "g-1", time=when)
    assert up == {
        "time": "2026-12-07T21:00:05Z",
        "question": "Wer?",
        "history": ["Was?"],
        "gold": [{"source": "seeds/003_x.txt", "line_start": 5, "line_end": 7}],
        "vote": "up",
        "passage": {"source": "seeds/003_x.txt", "line_start": 5, "line_end": 7, "page": None},
        "generation": "g-1",
    }
    down = qa.vote_line("Wer?", [], qa.GoldCitation("a.pdf", 1, 2, 3), "down", "g-1")
    assert down["gold"] == [] and down["vote"] == "down"
    assert down["passage"] == {"source": "a.pdf", "line_start": 1, "line_end": 2, "page": 3}
    # A server with several collections names the one that answered.
    named = qa.vote_line("Wer?", [], CITE, "up", "g-1", time=when, collection="laws")
    assert named == {**up, "history": [], "collection": "laws"}
    # Each line is a question of a question set as it stands.
    for line in (up, down):
        q = qa.EvalQuestion.from_dict(json.loads(json.dumps(line)), "line")
        assert q.vote == line["vote"] and q.history == tuple(line["history"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("  ", [], CITE, "up", "g"), "empty"),
        (("Wer?", "Was?", CITE, "up", "g"), "history"),
        (("Wer?", [], CITE, "maybe", "g"), "'up' or 'down'"),
    ],
)
def test_bad_votes(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        qa.vote_line(*args)


def test_append_and_mode(tmp_path: Path) -> None:
    feedback = qa.FeedbackFile(tmp_path / "votes.jsonl", LIMIT)
    assert feedback.path.exists() and feedback.size == 0  # created at once: errors show early
    assert stat.S_IMODE(feedback.path.stat().st_mode) == 0o600
    lines = [qa.vote_line(f"Frage {n} „ü“?", [], CITE, "up", "g") for n in range(3)]
    for line in lines:
        feedback.append(line)
    text = feedback.path.read_text("utf-8")
    assert [json.loads(x) for x in text.splitlines()] == lines
    assert "„ü“" in text  # UTF-8, not \u escapes
    assert feedback.size == len(text.encode())


def test_size_limit(tmp_path: Path) -> None:
    feedback = qa.FeedbackFile(tmp_path / "votes.jsonl", 1024)
    line = qa.vote_line("Wer?", [], CITE, "up", "g")
    size = len(json.dumps(line, ensure_ascii=False)) + 1
    for _ in range(1024 // size):
        feedback.append(line)
    before = feedback.path.read_bytes()
    with pytest.raises(qa.FeedbackFullError, match=r"is full .*--feedback-max-mb.*move it away"):
        feedback.append(line)
    assert feedback.path.read_bytes() == before  # nothing of the refused line
    # Moved away: the next vote starts a new file.
    feedback.path.rename(tmp_path / "old.jsonl")
    assert feedback.size == 0
    feedback.append(line)
    assert feedback.path.read_text("utf-8").count("\n") == 1


@pytest.mark.parametrize(
    ("where", "limit", "message"),
    [
        ("missing/votes.jsonl", LIMIT, "folder does not exist"),
        (".", LIMIT, "is a folder"),
        ("votes.jsonl", 10, "at least 1 KiB"),
    ],
)
def test_bad_files(tmp_path: Path, where: str, limit: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        qa.FeedbackFile(tmp_path / where, limit)


def _append_many(path: str, writer: int, count: int) -> None:
    feedback = qa.FeedbackFile(path, 2**30)
    long = "x" * 5000  # longer than a pipe's atomic write, as a file write need not be
    for n in range(count):
        feedback.append(qa.vote_line(f"{writer}-{n} {long}", [], CITE, "up", "g"))


def test_concurrent_appends_stay_whole(tmp_path: Path) -> None:
    """Two processes of two threads each append at once: every line arrives whole."""
    path = str(tmp_path / "votes.jsonl")
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_append_many, args=(path, w, 100)) for w in (0, 1)]
    for p in processes:
        p.start()
    threads = [threading.Thread(target=_append_many, args=(path, w, 100)) for w in (2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in processes:
        p.join(timeout=120)
        assert p.exitcode == 0
    questions = [json.loads(line)["question"] for line in Path(path).read_text().splitlines()]
    assert sorted(q.split()[0] for q in questions) == sorted(
        f"{w}-{n}" for w in range(4) for n in range(100)
    )


def test_feedback_file_is_an_eval_input(seed_index: qa.Index, tmp_path: Path) -> None:
    """👍 on the gold passage and 👎 on another: `qa eval` finds hit@1 = 1 and skips the 👎."""
    asked = SEED_QUESTIONS[0]["question"]
    passages = seed_index.search(asked, k=5)
    gold = next(p for p in passages if p.source == SEED_QUESTIONS[0]["source"])
    wrong = next(p for p in passages if p.source != gold.source)
    feedback = qa.FeedbackFile(tmp_path / "votes.jsonl", LIMIT)
    feedback.append(qa.vote_line(asked, [], _cite(gold), qa.Vote.UP, seed_index.generation))
    feedback.append(qa.vote_line(asked, [], _cite(wrong), qa.Vote.DOWN, seed_index.generation))
    report = qa.evaluate(seed_index, qa.read_questions(feedback.path))
    assert (len(report.records), report.skipped) == (1, 1)
    assert [g.citation for g in report.records[0].gold] == [gold.citation]
    expected = 1.0 if passages[0].source == gold.source else 0.0
    assert report.hit_at_1 == expected
    out = run_qa("eval", str(feedback.path), "--index", str(seed_index.path), "--json", "-")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)["summary"]
    assert (summary["hit@1"], summary["skipped"]) == (expected, 1)
    assert os.path.getsize(feedback.path) == feedback.size
