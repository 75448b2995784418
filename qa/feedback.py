"""Readers' votes on passages: one JSON line each, appended to a file ``qa eval`` reads.

``qa serve --feedback FILE`` records a 👍 ("passt") or 👎 ("passt nicht") on a passage
of an answer as one line of a :class:`FeedbackFile` (see :func:`vote_line`)::

    {"time": "2026-12-07T20:00:00Z", "question": "Wer …?", "history": [],
     "gold": [{"source": "seeds/003_….txt", "line_start": 5, "line_end": 5}],
     "vote": "up", "passage": {"source": "seeds/003_….txt", "line_start": 5,
     "line_end": 5, "page": null}, "generation": "g-…"}

Such a file is a question set as it stands (:func:`qa.read_questions`): a 👍 line's
``gold`` is the passage voted on; a 👎 line has ``"gold": []`` and is skipped by
``qa.evaluate`` for its ``"vote": "down"`` (it says a passage is wrong, not where the
answer is). Each line is appended with one ``write`` and made durable with ``fsync``, so
a line is whole or absent; the file never grows past its size limit
(:class:`FeedbackFullError` says so instead).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qa.evaluation import GoldCitation, Vote
from vectorstore import QAError

__all__ = ["DEFAULT_FEEDBACK_MAX_MB", "FeedbackFile", "FeedbackFullError", "vote_line"]

DEFAULT_FEEDBACK_MAX_MB = 100
_MODE = 0o600  # the questions readers asked: for the server's user only


class FeedbackFullError(QAError):
    """The feedback file has reached its size limit; the vote was not recorded."""


def vote_line(
    question: str,
    history: Sequence[str],
    passage: GoldCitation,
    vote: Vote | str,
    generation: str,
    time: datetime | None = None,
    collection: str | None = None,
) -> dict[str, Any]:
    """Returns the feedback line of one vote, as :meth:`FeedbackFile.append` writes it.

    Args:
        question: The question as searched.
        history: The conversation's earlier questions, oldest first.
        passage: The citation of the passage voted on.
        vote: ``Vote.UP`` (👍, "passt") or ``Vote.DOWN`` (👎, "passt nicht").
        generation: The index generation that answered.
        time: When the vote was cast (default: now), stored in UTC to the second.
        collection: The collection that answered, when a server has several (then the
            line has a ``collection`` field: run ``qa eval`` on that collection's index).

    Returns:
        ``{"time", "question", "history", "gold", "vote", "passage", "generation"}``
        (and ``"collection"`` if given): ``gold`` holds the passage's citation for 👍
        and is empty for 👎.

    Raises:
        ValueError: If the question is empty, the history is not a list of strings, or
            the vote is neither up nor down.
    """
    if not isinstance(question, str) or not question.strip():
        raise ValueError("a vote needs the question it answers, not an empty one")
    if isinstance(history, str) or not all(isinstance(h, str) for h in history):
        raise ValueError("history must be a list of questions (strings)")
    if vote not in [v.value for v in Vote]:
        raise ValueError(f"vote must be 'up' or 'down', not {vote!r}")
    vote = Vote(vote)
    when = (time or datetime.now(UTC)).astimezone(UTC)
    line = {
        "time": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "question": question,
        "history": list(history),
        "gold": [passage.to_dict()] if vote is Vote.UP else [],
        "vote": vote.value,
        "passage": {**passage.to_dict(), "page": passage.page},
        "generation": generation,
    }
    return line if collection is None else {**line, "collection": collection}


class FeedbackFile:
    """A JSON Lines file that votes are appended to, atomically and up to a size limit.

    The file is opened for each line (so one moved away is started anew), the line
    written with a single ``os.write`` in append mode and the file ``fsync``-ed: readers
    and other writers never see half a line. Threads of one process append one at a
    time, which keeps the size limit exact.

    Args:
        path: The file; created (mode 0600) if missing; its folder must exist.
        max_bytes: The size the file may reach; a line that would pass it is refused.

    Raises:
        ValueError: If ``max_bytes`` is below 1 KiB, or ``path`` is a folder or in a
            folder that does not exist.
        OSError: If the file cannot be opened for appending.
    """

    def __init__(self, path: str | os.PathLike[str], max_bytes: int) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1024:
            raise ValueError(f"the feedback file's limit must be at least 1 KiB, not {max_bytes!r}")
        self.path = Path(path)
        self.max_bytes = max_bytes
        if self.path.is_dir():
            raise ValueError(f"feedback file {self.path} is a folder")
        if not self.path.parent.is_dir():
            raise ValueError(f"feedback file {self.path}: its folder does not exist")
        self._lock = threading.Lock()
        os.close(self._open())  # fail now, not at the first vote

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, _MODE)

    @property
    def size(self) -> int:
        """The file's size in bytes now (0 if it was moved away)."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def append(self, line: dict[str, Any]) -> None:
        """Appends one JSON line (as :func:`vote_line` makes it) and waits until it is on disk.

        Raises:
            FeedbackFullError: If the line would take the file past ``max_bytes``.
            OSError: If the write fails (a partial line is cut off again).
        """
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            fd = self._open()
            try:
                size = os.fstat(fd).st_size
                if size + len(data) > self.max_bytes:
                    raise FeedbackFullError(
                        f"the feedback file {self.path} is full ({size:,} bytes; the limit "
                        f"is {self.max_bytes / 2**20:g} MB, --feedback-max-mb): move it away "
                        "to start a new one, or raise the limit"
                    )
                written = os.write(fd, data)
                if written != len(data):  # e.g. the disk is full: no half line stays
                    os.ftruncate(fd, size)
                    raise OSError(
                        f"only {written} of {len(data)} bytes reached {self.path}; "
                        "the vote was not recorded"
                    )
                os.fsync(fd)
            finally:
                os.close(fd)
