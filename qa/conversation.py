"""Follow-up questions: how much a question leans on the earlier questions of its chat.

No generative model rewrites anything. A question is read for the signs that it points
back (a third-person pronoun or a demonstrative, an opening "und …" / "and …", too few
words of its own to stand alone), and those signs say how strongly the previous
question's meaning and terms are mixed in: into the question vector for the dense side,
and as down-weighted terms for BM25. A question that shows none of them is searched
exactly as if it were asked alone, so a change of subject never suffers from the history.
The weights are measured in benchmarks/conversations.py.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from qa.query import MAX_QUESTION_CHARS
from vectorstore.sources.terms import tokenize

__all__ = ["CONTEXT_TURNS", "MAX_HISTORY_TURNS", "check_history", "dependence"]

MAX_HISTORY_TURNS = 50  # a longer history is refused: it is not a conversation any more
CONTEXT_TURNS = 2  # only the last few earlier questions lend context

# Pronouns and adverbs that point back at something named before. "es", "das", "dies"
# and English "that"/"this" are left out here: they are articles or expletives as often
# ("Gibt es …", "das Treffen"); see _DEICTIC.
# fmt: off
_POINTERS = frozenset({
    "er", "sie", "ihn", "ihm", "ihr", "ihnen", "ihre", "ihren", "ihrem", "ihrer", "ihres",
    "dessen", "deren", "sein", "seine", "seinen", "seinem", "seiner", "seines",
    "dort", "dorthin", "dabei", "dafür", "dagegen", "damit", "danach", "davon", "dazu",
    "darauf", "darüber", "daran", "darum", "damals", "sonst", "außerdem",
    "diese", "dieser", "diesem", "diesen", "jene", "jener", "jenem", "jenen",
    "andere", "anderen", "anderer", "weitere", "weiteren", "weiterer", "solche", "solchen",
    "he", "she", "him", "her", "his", "hers", "they", "them", "their", "theirs", "it", "its",
    "then", "those", "these", "such", "else", "another", "other", "others", "es", "there",
})
# Words that carry no subject of their own: question words, auxiliaries, pronouns (the
# German ones are stopwords of the lexical index already).
_FUNCTION_WORDS = (
    "wer wen wem wessen was wann wo woher wohin warum weshalb wieso wie viel viele welche "
    "welcher welches womit wodurch wozu worüber wovon wofür worauf woran wobei wogegen "
    "woraus worum worin "
    "who whom whose what when where why which how many much one ones "
    "do does did done would could should can will shall may might must has have had having "
    "is are was were been being am he she him her his hers it its i you we they them our "
    "your so also too very more most else another other others"
)
# fmt: on
# A demonstrative that is not followed by a capitalised word (German nouns are
# capitalised): "Wann war das?", "Ist das wichtig?", "Why did this happen?".
_DEICTIC = re.compile(r"\b(?i:das|dies|this|that)\b(?=\W*$|\s+[a-zäöüß])")
# Words that point back only at the end of a question: "Who says so?", "Warum auch?".
_TRAILING = re.compile(r"\b(?i:so|too|auch|noch)\W*$")
# "es" and "there" point back ("Wie lange war es in Betrieb?", "Who lived there?") except
# as expletives: "Gibt es …", "Wie viele gab es?", "Are there …", "there were …".
_EXPLETIVE = re.compile(
    r"\b(?:gibt|gab|gäbe|geht|ging)\s+es\b|\bes\s+(?:gibt|gab|geht|ging)\b"
    r"|\b(?:is|are|was|were|be|been)\s+there\b|\bthere\s+(?:is|are|was|were|be|been)\b",
    re.IGNORECASE,
)
# Openers of a question that continues the previous one: "Und wann?", "And why?",
# "Was ist mit China?", "What about India?".
_CONTINUES = re.compile(
    r"^\W*(?:und|aber|auch|and|but|also|what about|how about|was ist mit|wie ist es mit"
    r"|wie steht es mit|und was|und wie)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")
_FUNCTION_TERMS = frozenset(tokenize(_FUNCTION_WORDS))
_STANDALONE_TERMS = 3  # a question with fewer terms of its own rarely says what it is about


def check_history(history: object) -> tuple[str, ...]:
    """Returns the earlier questions of a conversation, validated, blank ones dropped.

    Args:
        history: The earlier user questions, oldest first: a list or tuple of strings.

    Raises:
        ValueError: If it is not a list of strings, has more than ``MAX_HISTORY_TURNS``
            entries, or an entry is longer than ``MAX_QUESTION_CHARS``.
    """
    if isinstance(history, str) or not isinstance(history, Sequence):
        raise ValueError(
            f"history must be a list of earlier questions (strings), not {type(history).__name__}"
        )
    if len(history) > MAX_HISTORY_TURNS:
        raise ValueError(
            f"history has {len(history)} turns; at most {MAX_HISTORY_TURNS}: "
            "start a new conversation"
        )
    for number, entry in enumerate(history, 1):
        if not isinstance(entry, str):
            raise ValueError(f"history entry {number} must be a string, not {type(entry).__name__}")
        if len(entry) > MAX_QUESTION_CHARS:
            raise ValueError(
                f"history entry {number} is too long ({len(entry):,} characters; "
                f"at most {MAX_QUESTION_CHARS:,})"
            )
    return tuple(entry for entry in history if entry.strip())


def dependence(question: str, previous: Collection[str] = ()) -> float:
    """Returns how strongly ``question`` depends on the question before it, 0 to 1.

    0 means it stands alone (searched exactly as if asked alone); 1 means it only makes
    sense with the previous question ("Und wann war das?").

    Args:
        question: The question.
        previous: The index terms of the question before it.
    """
    words = [w.casefold() for w in _WORD.findall(_EXPLETIVE.sub(" ", question))]
    terms = [t for t in tokenize(question) if t not in _FUNCTION_TERMS]
    own_terms = len(terms)
    points_back = (
        any(w in _POINTERS for w in words)
        or bool(_DEICTIC.search(question))
        or bool(_TRAILING.search(question))
    )
    if _CONTINUES.search(question) or own_terms <= 1:
        return 1.0
    names_nothing = not any(w[:1].isupper() for w in _WORD.findall(question)[1:])
    if points_back or names_nothing:
        return 1.0 if own_terms < _STANDALONE_TERMS else 0.5
    if own_terms <= _STANDALONE_TERMS and not set(previous).isdisjoint(terms):
        return 0.5  # a short question on the same subject: "the report", "der Bericht"
    return 0.0
