"""Measuring qa on your own questions: hit@1, hit@5, MRR, highlight, relevance, latency.

A question set is a list of questions with their gold citations: the lines of an indexed
article that answer each one, or none when no article does. ``read_questions`` reads it
from a JSON Lines file (one ``{"question", "gold", …}`` object a line; the feedback file
of ``qa serve --feedback`` is one too) and ``evaluate`` asks each question of an index.

A hit is a returned passage from the gold source (and the gold page, when one is given)
whose cited lines overlap the gold lines, as in ``benchmarks/xquad_de.py``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from qa.index import Index, clear_question_cache
from qa.passage import Passage
from qa.relevance import MIN_RELEVANCE

__all__ = [
    "EvalQuestion",
    "EvalRecord",
    "EvalReport",
    "GoldCitation",
    "Vote",
    "evaluate",
    "normalise",
    "read_questions",
]


class Vote(StrEnum):
    """A reader's vote on a passage, as ``qa serve --feedback`` records it."""

    UP = "up"
    DOWN = "down"


def normalise(text: str) -> str:
    """Returns text with runs of whitespace collapsed to one space, case-folded."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class GoldCitation:
    """Lines of an indexed article that answer a question.

    Attributes:
        source: The article, as the index cites it (``seeds/003_….txt``).
        line_start: First line (1-based).
        line_end: Last line (1-based, inclusive).
        page: The PDF page, or None: any page (and the only choice for other formats).
    """

    source: str
    line_start: int
    line_end: int
    page: int | None = None

    @property
    def citation(self) -> str:
        """``source:line_start-line_end``, or ``source:pPAGE:line_start-line_end``."""
        page = f"p{self.page}:" if self.page is not None else ""
        return f"{self.source}:{page}{self.line_start}-{self.line_end}"

    def matches(self, passage: Passage) -> bool:
        """Whether the passage is from these lines: same source (and page), lines overlap."""
        return (
            passage.source == self.source
            and (self.page is None or passage.page == self.page)
            and passage.line_start <= self.line_end
            and passage.line_end >= self.line_start
        )

    def to_dict(self) -> dict[str, Any]:
        """Returns the citation as in a question file."""
        out: dict[str, Any] = {
            "source": self.source,
            "line_start": self.line_start,
            "line_end": self.line_end,
        }
        if self.page is not None:
            out["page"] = self.page
        return out


@dataclass(frozen=True)
class EvalQuestion:
    """One question of a set, with what counts as its answer.

    Attributes:
        question: The question.
        gold: The citations that answer it; empty: no article answers it.
        history: The conversation's earlier questions, oldest first.
        answer: A short text the first passage's highlight should contain, or None.
        id: The question's id, or None.
        vote: The reader's vote when the line comes from a feedback file, or None.
        where: Where the question was read (``FILE:LINE``, ``question 3``), for messages.
    """

    question: str
    gold: tuple[GoldCitation, ...]
    history: tuple[str, ...] = ()
    answer: str | None = None
    id: str | None = None
    vote: Vote | None = None
    where: str = ""

    @classmethod
    def from_dict(cls, item: Any, where: str) -> EvalQuestion:
        """Reads one question object.

        A null optional field is as if absent; keys other than these are ignored.

        Args:
            item: ``{"question": str, "gold": [{"source", "line_start", "line_end",
                "page"?}], "history"?: [str], "answer"?: str, "id"?: str,
                "vote"?: "up" | "down"}``.
            where: Where it was read, to start error messages with.

        Raises:
            ValueError: Naming ``where`` and the field that is missing or wrong.
        """
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}: expected a JSON object, got {type(item).__name__}")
        question = item.get("question")
        if question is None:
            raise ValueError(f"{where}: 'question' is missing")
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"{where}: 'question' must be a non-empty string")
        if "gold" not in item:
            raise ValueError(f"{where}: 'gold' is missing (use [] when no article answers)")
        gold = item["gold"]
        if not isinstance(gold, list):
            raise ValueError(f"{where}: 'gold' must be a list of citations")
        history = [] if item.get("history") is None else item["history"]
        if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
            raise ValueError(f"{where}: 'history' must be a list of strings")
        for key in ("answer", "id"):
            if item.get(key) is not None and not isinstance(item[key], str):
                raise ValueError(f"{where}: '{key}' must be a string")
        vote = item.get("vote")
        if vote is not None and vote not in [v.value for v in Vote]:
            raise ValueError(f"{where}: 'vote' must be 'up' or 'down', not {vote!r}")
        return cls(
            question=question,
            gold=tuple(_gold(g, f"{where}: gold[{i}]") for i, g in enumerate(gold)),
            history=tuple(history),
            answer=item.get("answer") or None,
            id=item.get("id"),
            vote=None if vote is None else Vote(vote),
            where=where,
        )


def _gold(item: Any, where: str) -> GoldCitation:
    if not isinstance(item, Mapping):
        raise ValueError(f"{where}: expected an object with source, line_start and line_end")
    source = item.get("source")
    if not isinstance(source, str) or not source:
        raise ValueError(f"{where}: 'source' must be a non-empty string")
    numbers = {}
    for key in ("line_start", "line_end", "page"):
        value = item.get(key)
        if value is None and key == "page":
            continue
        if value is None:
            raise ValueError(f"{where}: '{key}' is missing")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{where}: '{key}' must be a whole number >= 1, not {value!r}")
        numbers[key] = value
    if numbers["line_start"] > numbers["line_end"]:
        raise ValueError(
            f"{where}: 'line_start' {numbers['line_start']} is after "
            f"'line_end' {numbers['line_end']}"
        )
    return GoldCitation(source, numbers["line_start"], numbers["line_end"], numbers.get("page"))


def read_questions(path: str | os.PathLike[str]) -> list[EvalQuestion]:
    """Reads a question set: one JSON object a line (blank lines are skipped).

    Raises:
        OSError: If the file cannot be read.
        ValueError: Naming ``FILE:LINE`` and the field, for a line that is not JSON or
            not a question.
    """
    questions = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: not JSON ({exc.msg}, column {exc.colno})") from None
            questions.append(EvalQuestion.from_dict(item, where))
    return questions


@dataclass(frozen=True)
class EvalRecord:
    """How the index answered one question.

    Attributes:
        id: The question's id, or where it was read.
        question: The question.
        history: The conversation's earlier questions.
        gold: Its gold citations (empty: no article answers it).
        answer: The text the highlight should contain, or None.
        rank: The 1-based rank of the first passage matching a gold citation within
            the top ``k``, or None.
        citations: The returned passages' citations, best first.
        relevance: The first passage's relevance, or None if nothing was returned.
        highlight: The first passage's highlight ("" if nothing was returned).
        answer_in_highlight: Whether that highlight contains ``answer`` (whitespace
            normalised, case-insensitive); None without an ``answer``.
        seconds: How long the search took.
    """

    id: str
    question: str
    history: tuple[str, ...]
    gold: tuple[GoldCitation, ...]
    answer: str | None
    rank: int | None
    citations: tuple[str, ...]
    relevance: float | None
    highlight: str
    answer_in_highlight: bool | None
    seconds: float

    @property
    def answerable(self) -> bool:
        """Whether some article answers the question (its gold is not empty)."""
        return bool(self.gold)

    @property
    def kept(self) -> bool:
        """Whether the first passage's relevance is at least ``MIN_RELEVANCE``."""
        return self.relevance is not None and self.relevance >= MIN_RELEVANCE

    @property
    def missed(self) -> bool:
        """Answerable and not first, or unanswerable and kept (an answer to nothing)."""
        return self.rank != 1 if self.answerable else self.kept

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-ready dict of the fields and the properties."""
        return {
            "id": self.id,
            "question": self.question,
            "history": list(self.history),
            "gold": [g.to_dict() for g in self.gold],
            "answer": self.answer,
            "rank": self.rank,
            "citations": list(self.citations),
            "relevance": None if self.relevance is None else round(self.relevance, 6),
            "highlight": self.highlight,
            "answer_in_highlight": self.answer_in_highlight,
            "seconds": round(self.seconds, 6),
            "answerable": self.answerable,
            "kept": self.kept,
            "missed": self.missed,
        }


def _share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


@dataclass(frozen=True)
class EvalReport:
    """The figures of one question set on one index.

    Attributes:
        records: One per evaluated question, in the set's order.
        k: Passages asked for per question.
        skipped: Lines left out: feedback lines whose only vote is 👎 ("passt nicht"),
            which say a passage is wrong, not where the answer is.
        merged: 👍 lines of a question already asked (same question and history),
            whose gold was added to that question's.
    """

    records: tuple[EvalRecord, ...]
    k: int
    skipped: int = 0
    merged: int = 0

    @property
    def answerable(self) -> tuple[EvalRecord, ...]:
        """The records of questions with a gold citation."""
        return tuple(r for r in self.records if r.answerable)

    @property
    def unanswerable(self) -> tuple[EvalRecord, ...]:
        """The records of questions no article answers."""
        return tuple(r for r in self.records if not r.answerable)

    def hit_at(self, n: int) -> float | None:
        """The share of answerable questions with a gold passage in the top ``n``."""
        return _share([r.rank is not None and r.rank <= n for r in self.answerable])

    @property
    def hit_at_1(self) -> float | None:
        """hit@1 over the answerable questions (None if there are none)."""
        return self.hit_at(1)

    @property
    def hit_at_5(self) -> float | None:
        """hit@5 over the answerable questions (None if there are none)."""
        return self.hit_at(5)

    @property
    def mrr(self) -> float | None:
        """Mean reciprocal rank within the top ``k`` (MRR@k) over answerable questions."""
        ranks = [r.rank for r in self.answerable]
        return sum(1 / r for r in ranks if r is not None) / len(ranks) if ranks else None

    @property
    def answer_in_highlight(self) -> float | None:
        """The share of questions with an ``answer`` whose first highlight contains it."""
        shown = [r.answer_in_highlight for r in self.records]
        return _share([s for s in shown if s is not None])

    @property
    def answerable_kept(self) -> float | None:
        """The share of answerable questions whose first relevance is >= MIN_RELEVANCE."""
        return _share([r.kept for r in self.answerable])

    @property
    def unanswerable_rejected(self) -> float | None:
        """The share of unanswerable questions whose first relevance is below it."""
        return _share([not r.kept for r in self.unanswerable])

    def latency_ms(self, percentile: float) -> float | None:
        """A percentile (0 to 100) of the search times, in milliseconds."""
        seconds = [r.seconds for r in self.records]
        return float(np.percentile(seconds, percentile)) * 1000 if seconds else None

    def worst_misses(self, n: int = 5) -> tuple[EvalRecord, ...]:
        """Returns the ``n`` worst misses, worst first.

        Not found in the top ``k`` (or, for an unanswerable question, kept above
        ``MIN_RELEVANCE``) comes first, then found lowest; ties go to the highest first
        relevance (the most confident wrong answer).
        """
        misses = [r for r in self.records if r.missed]
        misses.sort(key=lambda r: (r.rank is not None, -(r.rank or 0), -(r.relevance or 0.0)))
        return tuple(misses[:n])

    def summary(self) -> dict[str, Any]:
        """Returns the figures as a JSON-ready dict."""
        return {
            "questions": len(self.records),
            "answerable": len(self.answerable),
            "unanswerable": len(self.unanswerable),
            "skipped": self.skipped,
            "merged": self.merged,
            "k": self.k,
            "min_relevance": MIN_RELEVANCE,
            "hit@1": self.hit_at_1,
            "hit@5": self.hit_at_5,
            f"mrr@{self.k}": self.mrr,
            "answer_in_highlight": self.answer_in_highlight,
            "answerable_kept": self.answerable_kept,
            "unanswerable_rejected": self.unanswerable_rejected,
            "p50_ms": self.latency_ms(50),
            "p95_ms": self.latency_ms(95),
        }

    def to_dict(self) -> dict[str, Any]:
        """Returns the summary and every record as a JSON-ready dict."""
        return {"summary": self.summary(), "records": [r.to_dict() for r in self.records]}


def _check_gold(index: Index, questions: Sequence[EvalQuestion]) -> None:
    """Raises ValueError for a gold citation the index does not hold."""
    sources = set(index.sources)
    extent: dict[tuple[str, int | None], int] = {}  # (source, page) -> last line
    for q in questions:
        for g in q.gold:
            if g.source not in sources:
                raise ValueError(
                    f"{q.where}: gold source {g.source!r} is not in the index at "
                    f"{index.location} ({len(sources)} sources)"
                )
            if (g.source, g.page) not in extent:
                lines = index.source_lines(g.source)
                ends = [x.line_end for x in lines if g.page is None or x.page == g.page]
                extent[(g.source, g.page)] = max(ends, default=0)
            last = extent[(g.source, g.page)]
            if last == 0:
                raise ValueError(f"{q.where}: gold {g.citation}: {g.source} has no page {g.page}")
            if g.line_end > last:
                where = f"page {g.page} of {g.source}" if g.page is not None else g.source
                raise ValueError(f"{q.where}: gold {g.citation}: {where} has only {last} lines")


def _merge(questions: Iterable[EvalQuestion]) -> tuple[list[EvalQuestion], int, int]:
    """Drops 👎-only lines and adds a 👍 line's gold to its question's first line.

    Returns:
        The questions to ask, the number skipped, the number merged.
    """
    asked: list[EvalQuestion] = []
    first_up: dict[tuple[str, tuple[str, ...]], int] = {}
    skipped = merged = 0
    for q in questions:
        if q.vote is Vote.DOWN:
            skipped += 1
            continue
        if q.vote is Vote.UP:
            key = (q.question, q.history)
            if key in first_up:
                i = first_up[key]
                gold = asked[i].gold + tuple(g for g in q.gold if g not in asked[i].gold)
                asked[i] = replace(asked[i], gold=gold)
                merged += 1
                continue
            first_up[key] = len(asked)
        asked.append(q)
    return asked, skipped, merged


def evaluate(
    index: Index,
    questions: Iterable[EvalQuestion | Mapping[str, Any]],
    k: int = 10,
    *,
    progress: bool = False,
) -> EvalReport:
    """Asks each question of the index and measures the answers against the gold.

    Each question is searched alone (its conversation's history included), as a new
    question whose vector is not kept from earlier searches, so its time includes
    embedding it (the model is loaded before the first).

    Feedback lines: a 👎-only line (``"vote": "down"``) is skipped, a 👍 line's citation
    is gold, and 👍 lines of one question (same text and history) add up to one
    question whose gold is all the passages voted for.

    Args:
        index: The index to ask.
        questions: ``EvalQuestion``s, or dicts as in a question file (see
            ``EvalQuestion.from_dict``; errors then name ``question N``, 1-based).
        k: Passages asked for per question (hit@n and MRR look within these).
        progress: Show a progress bar on stderr.

    Raises:
        ValueError: If a question is malformed, ``k`` < 1, a gold citation names a
            source, page or lines the index does not hold, or a question is one
            ``Index.search`` refuses (naming where it was read).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a whole number of at least 1, not {k!r}")
    parsed = [
        replace(q, where=q.where or f"question {i}")
        if isinstance(q, EvalQuestion)
        else EvalQuestion.from_dict(q, f"question {i}")
        for i, q in enumerate(questions, 1)
    ]
    asked, skipped, merged = _merge(parsed)
    _check_gold(index, asked)
    if asked:
        index.warm_up()  # loading the model is no question's latency
    records = []
    for q in tqdm(asked, desc="evaluating", unit="question", disable=not progress):
        clear_question_cache()
        start = time.perf_counter()
        try:
            passages = index.search(q.question, k, history=q.history)
        except ValueError as exc:
            raise ValueError(f"{q.where}: {exc}") from None
        seconds = time.perf_counter() - start
        rank = next(
            (n for n, p in enumerate(passages, 1) if any(g.matches(p) for g in q.gold)), None
        )
        top = passages[0] if passages else None
        highlight = top.highlight if top else ""
        records.append(
            EvalRecord(
                id=q.id or q.where,
                question=q.question,
                history=q.history,
                gold=q.gold,
                answer=q.answer,
                rank=rank,
                citations=tuple(p.citation for p in passages),
                relevance=None if top is None else float(top.relevance),
                highlight=highlight,
                answer_in_highlight=(
                    None if q.answer is None else normalise(q.answer) in normalise(highlight)
                ),
                seconds=seconds,
            )
        )
    return EvalReport(tuple(records), k, skipped, merged)
