"""👍 / 👎 on each passage of an answer, recorded in ``qa serve --feedback FILE``.

With a feedback file, each passage of an answer carries two buttons, 👍 "passt" and
👎 "passt nicht" ("fits" / "does not fit"), drawn into the answer's HTML by
:func:`vote_buttons`. Gradio's HTML sanitiser keeps buttons and class names but drops
``data-`` attributes, so a button names its answer and passage by class
(``qa-vote qa-up qa-turn-0 qa-rank-2``). A click is sent by :data:`VOTE_JS` through a
hidden textbox (``#qa-vote``) as ``TURN:RANK:VOTE:NONCE``; :class:`Votes` looks the
passage up in the session's own record of its answers (a client can only vote on
passages it was shown, each once) and appends a line with :class:`qa.FeedbackFile`.
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any

import qa
from ui import texts
from ui.texts import Language

if TYPE_CHECKING:
    from ui.ops import Operations

__all__ = ["VOTE_CSS", "VOTE_JS", "Votes", "answered", "vote_buttons"]

# Runs once in the browser: a click on a vote button fills the hidden textbox (its
# change event sends the vote) and marks the chosen button.
VOTE_JS = """
() => {
  if (window.qaVotes) { return; }
  window.qaVotes = true;
  document.addEventListener('click', (event) => {
    const button = event.target.closest('#qa-chat button.qa-vote');
    if (!button || button.disabled) { return; }
    const box = document.querySelector('#qa-vote textarea');
    if (!box) { return; }
    const part = (prefix) =>
      ([...button.classList].find((c) => c.startsWith(prefix)) || '').slice(prefix.length);
    const vote = button.classList.contains('qa-up') ? 'up' : 'down';
    box.value = [part('qa-turn-'), part('qa-rank-'), vote, Date.now()].join(':');
    box.dispatchEvent(new Event('input', { bubbles: true }));
    for (const other of button.parentElement.querySelectorAll('button.qa-vote')) {
      other.disabled = true;
    }
    button.classList.add('qa-chosen');
  });
}
"""

VOTE_CSS = """
.qa-votes { margin-left: .6em; white-space: nowrap; }
.qa-vote { font-size: .85em; padding: 0 .45em; margin-left: .25em; border-radius: 999px;
           border: 1px solid #d1d5db; background: #fff; cursor: pointer; }
.qa-vote:hover:not(:disabled) { background: #f3f4f6; }
.qa-vote:disabled { cursor: default; opacity: .55; }
.qa-vote.qa-chosen { opacity: 1; border-color: #6b7280; background: #e5e7eb; }
.qa-vote-status p { margin: .2em 0; }
"""

_log = logging.getLogger("qa.feedback")
_PAYLOAD = re.compile(r"(\d{1,6}):(\d{1,3}):(up|down):\d{1,20}")


def vote_buttons(turn: int, rank: int, lang: Language) -> str:
    """The 👍 / 👎 buttons of passage ``rank`` (1-based) of the session's answer ``turn``."""
    parts = []
    for vote, emoji in ((qa.Vote.UP, "\U0001f44d"), (qa.Vote.DOWN, "\U0001f44e")):
        label = texts.text(lang, f"vote_{vote.value}")
        parts.append(
            f'<button type="button" class="qa-vote qa-{vote.value} qa-turn-{turn} '
            f'qa-rank-{rank}" title="{label}">{emoji} {label}</button>'
        )
    return f'<span class="qa-votes">{"".join(parts)}</span>'


def answered(
    question: str,
    history: list[str],
    hits: list[dict[str, Any]],
    generation: str,
    collection: str | None = None,
) -> dict[str, Any]:
    """What the session keeps of an answer, to look votes up in: its question and citations.

    Args:
        question: The question as searched.
        history: The conversation's earlier questions it was searched with.
        hits: The answer's citations, as ``ui.ChatTurn.hits``.
        generation: The index generation that answered.
        collection: The collection that answered, when the app has several.
    """
    return {
        "question": question,
        "history": list(history),
        "generation": generation,
        "collection": collection,
        "passages": [
            {key: hit[key] for key in ("source", "line_start", "line_end", "page")} for hit in hits
        ],
    }


class Votes:
    """Records the votes of a chat's readers in a feedback file.

    Args:
        feedback: The file votes go to.
        operations: Counts and logs each vote.
    """

    def __init__(self, feedback: qa.FeedbackFile, operations: Operations) -> None:
        self.feedback = feedback
        self.operations = operations

    def cast(
        self, payload: Any, answers: list[dict[str, Any]], voted: list[str], lang: Language
    ) -> tuple[str, list[str]]:
        """Records one vote sent from the page.

        Args:
            payload: ``TURN:RANK:VOTE:NONCE`` from the hidden textbox.
            answers: The session's answers, as :func:`answered` keeps them.
            voted: ``TURN:RANK`` of the passages this session voted on.
            lang: The UI language.

        Returns:
            The status line's HTML, and ``voted`` with this passage added if recorded.
        """
        start = time.perf_counter()
        match = _PAYLOAD.fullmatch(payload) if isinstance(payload, str) else None
        vote, rank, status, key = "invalid", None, 400, "vote_unknown"
        answer = None
        if match:
            turn, rank, vote = int(match[1]), int(match[2]), match[3]
            passages = answers[turn]["passages"] if turn < len(answers) else []
            if not 1 <= rank <= len(passages):
                pass
            elif f"{turn}:{rank}" in voted:
                key = "vote_twice"
            else:
                answer = answers[turn]
                cited = qa.GoldCitation(**passages[rank - 1])
                line = qa.vote_line(
                    answer["question"],
                    answer["history"],
                    cited,
                    vote,
                    answer["generation"],
                    collection=answer["collection"],
                )
                try:
                    self.feedback.append(line)
                except qa.FeedbackFullError as exc:
                    _log.warning("vote not recorded: %s", exc)
                    status, key = 507, "vote_full"
                except OSError as exc:
                    _log.warning("vote not recorded: %s", exc)
                    status, key = 500, "vote_failed"
                else:
                    status, key = 200, "vote_recorded"
                    voted = [*voted, f"{turn}:{rank}"]
        self.operations.voted(vote, status, rank, time.perf_counter() - start, answer)
        cls = "qa-note" if status in (200, 400) else "qa-error"
        label = texts.text(lang, f"vote_{vote}") if vote in ("up", "down") else ""
        message = texts.text(lang, key, vote=label, rank=rank)
        return f'<div class="qa-vote-status"><p class="{cls}">{message}</p></div>', voted
