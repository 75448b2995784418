"""What kind of answer a question asks for, and whether a passage can hold one.

A count question ("Wie viele Tote …?", "How much did it cost?") is answered by a number, a
date question ("Wann …?", "In what year …?") by a date. A passage that holds no number or
no date cannot answer it, however many of the question's words it shares; hybrid search
weighs such passages down (``qa.Fusion.answer_type_weight``). Only the shape of the text is
read (digits, number words, years, month and day names), in German and English.
"""

from __future__ import annotations

import functools
import re
from enum import StrEnum

__all__ = ["AnswerType", "answer_type", "holds"]


class AnswerType(StrEnum):
    """The kind of answer a question asks for."""

    COUNT = "count"  # a number: how many, how much, how old, how long …
    DATE = "date"  # a point in time: when, in what year …
    OTHER = "other"  # anything else: a name, a reason, a place …


_COUNT = re.compile(
    r"\b(?:wie\s*viele?|wie\s+hoch|wie\s+alt|wie\s+lange?|wie\s+groß|wie\s+weit|wie\s+schwer"
    r"|wie\s+teuer|wie\s+oft|wie\s+stark|wie\s+breit|wie\s+tief|welchen\s+betrag"
    r"|welche\s+summe|welche\s+anzahl|wie\s+viel\s+prozent"
    r"|how\s+(?:many|much|old|long|high|large|big|far|heavy|often|tall|wide|deep)"
    r"|what\s+(?:percentage|proportion|share|amount|number)|which\s+(?:amount|number))\b",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(?:wann|seit\s+wann|bis\s+wann|in\s+welchem\s+jahr(?:hundert)?|welches\s+datum"
    r"|an\s+welchem\s+tag|in\s+welchem\s+monat|when|(?:in\s+)?(?:what|which)\s+"
    r"(?:year|century|month|day|date))\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d|\b(?:zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|zwanzig|dreißig"
    r"|vierzig|fünfzig|hundert|tausend|million|milliarde|dutzend|hälfte|doppelt|dreifach"
    r"|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty"
    r"|fifty|hundred|thousand|million|billion|dozen|half|twice|double)",
    re.IGNORECASE,
)
_TIME = re.compile(
    r"\b(?:1\d{3}|20\d{2})\b|\b(?:januar|jänner|februar|märz|april|mai|juni|juli|august"
    r"|september|oktober|november|dezember|montag|dienstag|mittwoch|donnerstag|freitag"
    r"|samstag|sonnabend|sonntag|jahrhundert|jahrzehnt|gestern|vorgestern|heute|morgen"
    r"|january|february|march|june|july|october|december|monday|tuesday|wednesday"
    r"|thursday|friday|saturday|sunday|century|decade|yesterday|today|tomorrow)",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=1024)
def answer_type(question: str) -> AnswerType:
    """Returns the kind of answer ``question`` asks for (a date wins over a count)."""
    if _DATE.search(question):
        return AnswerType.DATE
    if _COUNT.search(question):
        return AnswerType.COUNT
    return AnswerType.OTHER


def holds(kind: AnswerType, text: str) -> bool:
    """Whether ``text`` can hold an answer of ``kind`` (any text can hold ``OTHER``)."""
    if kind is AnswerType.COUNT:
        return _NUMBER.search(text) is not None
    if kind is AnswerType.DATE:
        return _TIME.search(text) is not None
    return True
