"""What the chat and the API do with a question: check it, search, answer; and examples.

Input is checked here (a question is text of allowed length without control characters,
``k`` a whole number within limits); searching is ``qa``'s (``Index.search``), and an
answer for the chat is rendered by :mod:`ui.render`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

import qa
from ui import texts
from ui.render import _CONTROL, format_answer, format_error
from ui.texts import DEFAULT_LANGUAGE, Language

__all__ = [
    "DEFAULT_K",
    "MAX_K",
    "MAX_QUESTION_CHARS",
    "ChatTurn",
    "chat_turn",
    "example_questions",
    "retrieve",
    "source_pattern",
]


DEFAULT_K = 5
MAX_K = 20
MAX_QUESTION_CHARS = qa.MAX_QUESTION_CHARS
_EXAMPLE_COUNT = 3  # examples derived from the index when none are given
_OPENING_WORDS = 10  # words of an article's opening sentence quoted in a derived example
_MIN_OPENING_WORDS = 5  # shorter lines (titles, datelines) are not an opening sentence
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
_GLOB_CHARACTER = re.compile(r"([*?[])")


def _opening(article: str) -> str | None:
    """The start of an article's first sentence, or None if no line reads like one.

    Titles and datelines are skipped: the first line that starts with a capital letter and
    holds at least ``_MIN_OPENING_WORDS`` words is taken, cut to ``_OPENING_WORDS`` words.
    """
    for line in article.splitlines():
        words = line.split()
        if len(words) < _MIN_OPENING_WORDS or not words[0][0].isupper():
            continue
        words = _SENTENCE_END.split(" ".join(words), maxsplit=1)[0].rstrip(".!?").split()
        if len(words) <= _OPENING_WORDS:
            return " ".join(words)
        return " ".join(words[:_OPENING_WORDS]).rstrip(",;:") + " …"
    return None


def example_questions(index: qa.Index, count: int = _EXAMPLE_COUNT) -> list[str]:
    """Derives example questions from the index: where one article's opening stands.

    The answer to such a question is a citation, which is what qa gives. The articles are
    taken in the order of ``index.sources`` (sorted), so the examples are the same on
    every start. The questions are German, like the articles they quote.

    Args:
        index: The loaded index.
        count: How many examples at most.

    Returns:
        Up to ``count`` questions such as ``Wo steht „Der Präsident hat am Mittwoch …“?``.
    """
    questions: list[str] = []
    for source in index.sources:
        if len(questions) == count:
            break
        opening = _opening(index.source_text(source))
        if opening:
            questions.append(f"Wo steht „{opening}“?")
    return questions


def _check_examples(examples: Sequence[str]) -> list[str]:
    """Returns the example questions if each is a non-empty question of allowed length.

    Raises:
        ValueError: Naming the first bad example.
    """
    if isinstance(examples, str):
        raise ValueError("examples must be a list of questions, not one string")
    for number, example in enumerate(examples, 1):
        if not isinstance(example, str) or not example.strip():
            raise ValueError(f"example question {number} is empty or not text")
        if len(example) > MAX_QUESTION_CHARS:
            raise ValueError(
                f"example question {number} is too long ({len(example):,} characters; "
                f"at most {MAX_QUESTION_CHARS:,})"
            )
    return list(examples)


def _clean_question(question: Any) -> str:
    """Returns the question with control characters replaced by spaces.

    Emptiness and length are checked by ``qa`` itself, which raises ``ValueError``.

    Raises:
        ValueError: If the question is not a string.
    """
    if not isinstance(question, str):
        raise ValueError("The question must be text.")
    return _CONTROL.sub(" ", question.replace("\r", " "))


def _whole_number(value: Any, name: str, high: int | None = None) -> int:
    """Validates a whole number of at least 1 (and at most ``high``).

    Raises:
        ValueError: Naming ``name``, if ``value`` is not such a number.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number.") from None
    if not math.isfinite(number) or number != int(number):
        raise ValueError(f"{name} must be a whole number.")
    if number < 1:
        raise ValueError(f"{name} must be at least 1.")
    if high is not None and number > high:
        raise ValueError(f"{name} must be at most {high}.")
    return int(number)


def _clean_k(k: Any) -> int:
    """Validates the number of passages to return.

    Raises:
        ValueError: If ``k`` is not a whole number between 1 and ``MAX_K``.
    """
    return _whole_number(k, "k", MAX_K)


def source_pattern(source: str) -> str:
    """Returns a glob pattern that matches exactly the source name ``source``.

    ``*``, ``?`` and ``[`` become ``[*]``, ``[?]`` and ``[[]``; any other name is a pattern
    that matches only itself already.

    Args:
        source: A source name as cited, e.g. ``seeds/003_2a0abf6ffe095541.txt``.
    """
    return _GLOB_CHARACTER.sub(r"[\1]", source)


def _search(
    index: qa.Index,
    question: Any,
    k: Any,
    history: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[qa.Passage]:
    """Searches the index with the question and ``k`` checked as the UI's limits say.

    Raises:
        ValueError: For a bad question, ``k``, ``history``, ``sources`` or date bound.
        qa.QAError: If the index fails.
    """
    return index.search(
        _clean_question(question),
        k=_clean_k(k),
        history=() if history is None else history,
        sources=sources,
        since=since,
        until=until,
    )


def retrieve(
    index: qa.Index,
    question: str,
    k: int = DEFAULT_K,
    history: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[dict[str, Any]]:
    """Searches the index and returns the passages as JSON-safe dicts.

    Args:
        index: The loaded index.
        question: The question.
        k: How many passages to return.
        history: The earlier questions of the same conversation, oldest first, or None.
        sources: Glob patterns over source names (``"seeds/003_*"``): search only the
            sources matching one of them. None or empty: all.
        since: Only articles dated on or after this day (``YYYY[-MM[-DD]]``), or None.
        until: Only articles dated on or before this day (``YYYY[-MM[-DD]]``), or None.
            With either bound, articles without a date are left out.

    Returns:
        A list of dicts with the fields of ``qa.Passage.to_dict()``: source, line_start,
        line_end, text, score, relevance, highlight, page, title and date.

    Raises:
        ValueError: For an empty or over-long question, a bad ``k``, a bad ``history``,
            ``sources`` that are not patterns or of which one matches no source, or a
            date bound that is not a date.
        qa.QAError: If the index fails.
    """
    return [hit.to_dict() for hit in _search(index, question, k, history, sources, since, until)]


class ChatTurn(NamedTuple):
    """One answered (or refused) chat question.

    Attributes:
        answer: The answer's HTML.
        hits: The citations it shows: dicts with citation, source, line_start, line_end
            and page (empty on error).
        question: The question as searched, to pass as history with the next questions;
            None when it was not searched (empty, too long, an error).
    """

    answer: str
    hits: list[dict[str, Any]]
    question: str | None


def chat_turn(
    index: qa.Index,
    question: str,
    k: Any = DEFAULT_K,
    history: Sequence[str] = (),
    lang: Language = DEFAULT_LANGUAGE,
    sources: Sequence[str] | None = None,
    feedback_turn: int | None = None,
) -> ChatTurn:
    """Answers one chat question, taking context from the conversation's earlier questions.

    Bad input (empty, over-long, bad ``k``, a pattern that matches no source) and index
    errors become an error message in the answer rather than an exception.

    Args:
        index: The loaded index.
        question: The question as typed.
        k: How many passages to show.
        history: The earlier questions of the conversation that were answered, oldest first.
        lang: The UI language.
        sources: Glob patterns over source names: answer only from the matching sources
            (:func:`source_pattern` turns a chosen name into one). None or empty: all.
        feedback_turn: The answer's number in the session when readers may vote on
            its passages (see :mod:`ui.feedback`); None: no vote buttons.

    Returns:
        The answer, its citations and the question as searched.
    """
    try:
        question = _clean_question(question)
        k = _clean_k(k)
    except ValueError as exc:
        return ChatTurn(format_error(str(exc)), [], None)
    if not question.strip():
        return ChatTurn(format_error(texts.text(lang, "error_empty")), [], None)
    if len(question) > MAX_QUESTION_CHARS:
        count, limit = (texts.format_number(n, lang) for n in (len(question), MAX_QUESTION_CHARS))
        message = texts.text(lang, "error_too_long", count=count, limit=limit)
        return ChatTurn(format_error(message), [], None)
    try:
        passages = index.search(question, k=k, history=history, sources=sources)
    except (ValueError, qa.QAError) as exc:
        return ChatTurn(format_error(str(exc) or type(exc).__name__), [], None)
    hits = [
        {
            "citation": p.citation,
            "source": p.source,
            "line_start": p.line_start,
            "line_end": p.line_end,
            "page": p.page,
        }
        for p in passages
    ]
    return ChatTurn(format_answer(passages, lang, feedback_turn), hits, question)
