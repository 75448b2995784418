"""👍 / 👎 per passage: the buttons in the answer, the votes recorded, and a vote in a real
browser ending up in `qa eval`'s input.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

import qa
import ui
from tests.qa.test_cli import run_qa
from tests.ui.serving import qa_serve
from ui import texts
from ui.feedback import Votes, answered

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")

QUESTION = "Wie viele Reservisten umfasst die Teilmobilmachung?"


def _votes_counted(operations: ui.Operations) -> dict[tuple[str, str], float]:
    return {
        (s.labels["vote"], s.labels["outcome"]): s.value
        for family in text_string_to_metric_families(operations.metrics_text().decode())
        for s in family.samples
        if s.name == "qa_feedback_votes_total"
    }


@pytest.fixture
def session(seed_index: qa.Index, tmp_path: Path) -> tuple:
    """A Votes over a real feedback file, and one answered chat turn it may vote on."""
    operations = ui.Operations(seed_index)
    votes = Votes(qa.FeedbackFile(tmp_path / "votes.jsonl", 64 * 1024), operations)
    turn = ui.chat_turn(seed_index, QUESTION, 3, history=["Was geschah?"], feedback_turn=0)
    answers = [answered(QUESTION, ["Was geschah?"], turn.hits, seed_index.generation)]
    return votes, answers, turn


def test_buttons_name_their_answer_and_passage(seed_index: qa.Index) -> None:
    turn = ui.chat_turn(seed_index, QUESTION, 3, feedback_turn=4, lang=ui.Language.EN)
    for rank in (1, 2, 3):
        assert f'class="qa-vote qa-up qa-turn-4 qa-rank-{rank}" title="fits"' in turn.answer
        assert f'class="qa-vote qa-down qa-turn-4 qa-rank-{rank}"' in turn.answer
    assert turn.answer.count("\U0001f44d fits</button>") == 3
    assert "\U0001f44e passt nicht" in ui.chat_turn(seed_index, QUESTION, 1, feedback_turn=0)[0]
    assert "qa-vote" not in ui.chat_turn(seed_index, QUESTION, 3).answer  # without feedback


def test_a_vote_appends_a_line(session: tuple, seed_index: qa.Index) -> None:
    votes, answers, turn = session
    status, voted = votes.cast("0:2:up:1765000000000", answers, [], ui.Language.DE)
    assert voted == ["0:2"]
    assert "„passt“ für Stelle [2] ist gespeichert" in status
    (line,) = [json.loads(x) for x in votes.feedback.path.read_text("utf-8").splitlines()]
    hit = turn.hits[1]
    cite = {k: hit[k] for k in ("source", "line_start", "line_end")}
    assert line["question"] == QUESTION and line["history"] == ["Was geschah?"]
    assert line["gold"] == [cite] and line["passage"] == {**cite, "page": hit["page"]}
    assert (line["vote"], line["generation"]) == ("up", seed_index.generation)
    assert _votes_counted(votes.operations)[("up", "recorded")] == 1


@pytest.mark.parametrize(
    ("payload", "voted", "key"),
    [
        ("0:2:up:1", ["0:2"], "vote_twice"),
        ("1:1:up:1", [], "vote_unknown"),  # no answer 1 in this session
        ("0:4:down:1", [], "vote_unknown"),  # the answer has 3 passages
        ("0:0:down:1", [], "vote_unknown"),
        ("0:1:maybe:1", [], "vote_unknown"),
        ("<script>", [], "vote_unknown"),
        (None, [], "vote_unknown"),
    ],
)
def test_refused_votes_write_nothing(session: tuple, payload, voted, key) -> None:
    votes, answers, _ = session
    status, after = votes.cast(payload, answers, voted, ui.Language.EN)
    assert texts.text(ui.Language.EN, key) in status and after == voted
    assert votes.feedback.size == 0
    counted = _votes_counted(votes.operations)
    assert sum(v for (_, outcome), v in counted.items() if outcome == "refused") == 1


def test_a_full_file_refuses_the_vote(seed_index: qa.Index, tmp_path: Path) -> None:
    operations = ui.Operations(seed_index)
    feedback = qa.FeedbackFile(tmp_path / "votes.jsonl", 1024)
    feedback.path.write_bytes(b"x" * 1000)
    turn = ui.chat_turn(seed_index, QUESTION, 1, feedback_turn=0)
    answers = [answered(QUESTION, [], turn.hits, seed_index.generation)]
    status, voted = Votes(feedback, operations).cast("0:1:down:1", answers, [], ui.Language.EN)
    assert "the feedback file is full" in status and "qa-error" in status and voted == []
    assert feedback.size == 1000
    assert _votes_counted(operations)[("down", "refused")] == 1


@pytest.mark.browser
def test_a_vote_in_the_browser_is_a_qa_eval_input(
    seed_index: qa.Index, page, tmp_path: Path
) -> None:
    """Ask in the chat of `qa serve --feedback FILE`, click 👍 on the first passage, then
    `qa eval FILE` measures hit@1 = 1 (the passage voted for is the one it finds first).
    """
    feedback, output = tmp_path / "votes.jsonl", tmp_path / "out.log"
    with qa_serve(seed_index.path, "--feedback", str(feedback), output=output) as url:
        page.goto(url)
        page.wait_for_selector("#qa-question textarea")
        page.fill("#qa-question textarea", QUESTION)
        page.click("#qa-ask")
        first = page.locator("#qa-chat .qa-answer .qa-passage").first
        first.wait_for()
        cited = first.locator(".qa-cite code").inner_text()
        up = first.locator("button.qa-vote.qa-up")
        assert up.inner_text() == "\U0001f44d passt"
        up.click()
        page.wait_for_selector("#qa-vote-status .qa-note")
        assert "„passt“ für Stelle [1] ist gespeichert" in page.inner_text("#qa-vote-status")
        assert up.is_disabled() and "qa-chosen" in (up.get_attribute("class") or "")
        # A second click on the other button of that passage is not sent: one vote each.
        assert first.locator("button.qa-vote.qa-down").is_disabled()
    (line,) = [json.loads(x) for x in feedback.read_text("utf-8").splitlines()]
    assert (line["question"], line["vote"], line["history"]) == (QUESTION, "up", [])
    logged = [json.loads(x) for x in output.read_text("utf-8").splitlines() if x[:1] == "{"]
    assert [(x["route"], x["status"]) for x in logged] == [("chat", 200), ("vote", 200)]
    assert (logged[0]["k"], logged[0]["passages"], logged[1]["rank"]) == (5, 5, 1)
    gold = line["gold"][0]
    assert f"{gold['source']}:{gold['line_start']}-{gold['line_end']}" == cited
    out = run_qa("eval", str(feedback), "--index", str(seed_index.path), "--json", "-")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)["summary"]
    assert (summary["questions"], summary["answerable"], summary["hit@1"]) == (1, 1, 1.0)
