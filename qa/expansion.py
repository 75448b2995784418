"""A question's BM25 terms, with what lexical knowledge adds to them.

The dense side always embeds the question as asked; only the lexical search reads the
expansions. Each lever can be switched on its own (``Expansions``):

- translation: an English question gets German words from the Ding dictionary for its
  words and phrases ("election" → Wahl), so BM25 can match German passages;
- synonym: a German question gets OpenThesaurus synonyms of its words (gratulieren →
  beglückwünschen), weighed below the question's own words;
- lemma: a German word's dictionary form (simplemma: beglückwünschte → beglückwünschen),
  where it stems differently; synonyms are looked up for the lemma too.

All three are on by default (measured in benchmarks/RESULTS.md, "Lexical knowledge";
compound parts from HanTa were measured too and did not pay). A missing resource (the
Debian packages, or simplemma from the ``lexicon`` extra) switches its lever off, with
one log note; ``expand`` then returns what the others give.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bm25s.stopwords import STOPWORDS_GERMAN

from qa.relevance import ENGLISH_FUNCTION_WORDS, language
from vectorstore.lexicon import DING, THESAURUS, dictionary, thesaurus
from vectorstore.sources.terms import tokenize

__all__ = [
    "Expansion",
    "Expansions",
    "Origin",
    "expand",
    "lexicon_notes",
    "prepare",
    "term_weights",
]

_log = logging.getLogger("qa")

_WORD = re.compile(r"\w+(?:[-'’]\w+)*")
# English words never translated: function words, question words and auxiliaries
# ("did" → tat, machte would only add noise).
_ENGLISH_SKIP = ENGLISH_FUNCTION_WORDS | {"there", "also", "according", "says", "said", "say"}
_GERMAN_SKIP = frozenset(STOPWORDS_GERMAN)
_PHRASE = 3  # longest English phrase looked up ("partial mobilization")


class Origin(StrEnum):
    """Where a search term comes from."""

    QUESTION = "question"
    LEMMA = "lemma"
    SYNONYM = "synonym"
    TRANSLATION = "translation"


@dataclass(frozen=True)
class Expansion:
    """One BM25 term of a question.

    Attributes:
        term: The index term (as ``vectorstore.sources.terms.tokenize`` makes them).
        weight: Its BM25 weight (the question's own terms: how often it holds them).
        origin: Where it comes from.
        word: The word it stands for: the question's word, or the lemma, synonym or
            translation that was added.
        source: The question's word or phrase it was found for.
    """

    term: str
    weight: float
    origin: Origin
    word: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        """Returns the expansion as plain JSON data."""
        return {
            "term": self.term,
            "weight": self.weight,
            "origin": str(self.origin),
            "word": self.word,
            "source": self.source,
        }


@dataclass(frozen=True)
class Expansions:
    """Which levers ``expand`` pulls, and how much their terms weigh (see benchmarks/lexical.py).

    Raises:
        ValueError: If a weight is negative or not a number, ``translations`` is not an
            integer >= 0 or ``max_synset`` not one >= 2.

    Attributes:
        translations: German translations per English word or phrase (0: off).
        translation_weight: Weight of each translation.
        synonym_weight: Weight of each synonym (0: off).
        max_synset: Synonym sets with more words than this are left out (too vague).
        lemma_weight: Weight of a German word's lemma where it stems differently (0: off).
    """

    translations: int = 3
    translation_weight: float = 1.0
    synonym_weight: float = 0.2
    max_synset: int = 12
    lemma_weight: float = 0.5

    def __post_init__(self) -> None:
        for name in ("translation_weight", "synonym_weight", "lemma_weight"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
                raise ValueError(f"Expansions.{name} must be a number >= 0, not {value!r}")
        for name, least in (("translations", 0), ("max_synset", 2)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ValueError(f"Expansions.{name} must be an integer >= {least}, not {value!r}")


@functools.cache
def _lemmatizer() -> Any:
    try:
        import simplemma
    except ImportError:
        _log.info("lexicon: simplemma is not installed (pip install 'qa[lexicon]'); no lemmas")
        return None
    return simplemma


@functools.lru_cache(maxsize=65536)
def _terms(word: str) -> tuple[str, ...]:
    """Returns the index terms of one word (synonyms and translations recur often)."""
    return tuple(tokenize(word))


@functools.lru_cache(maxsize=8192)
def _lemma(word: str) -> str | None:
    lemmatizer = _lemmatizer()
    return None if lemmatizer is None else lemmatizer.lemmatize(word, lang="de")


def _phrases(words: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Returns the English phrases and words of a question with their German words.

    The longest phrase the dictionary knows wins ("prime minister" over "prime").
    """
    found = []
    ding = dictionary()
    i = 0
    while i < len(words):
        for n in range(min(_PHRASE, len(words) - i), 0, -1):
            phrase = " ".join(words[i : i + n]).casefold()
            if n == 1 and phrase in _ENGLISH_SKIP:
                break
            german = ding.translate(phrase)
            if german:
                found.append((" ".join(words[i : i + n]), german))
                i += n - 1
                break
        i += 1
    return found


def expand(question: str, settings: Expansions = Expansions()) -> tuple[Expansion, ...]:
    """Returns the BM25 terms of ``question``: its own, then those the levers add.

    An added term the question already holds is left out; a term added twice keeps its
    heaviest word (the first, of equal weights).

    Args:
        question: The question as asked.
        settings: The levers.
    """
    own = Counter(tokenize(question))
    words = _WORD.findall(question)
    written: dict[str, str] = {}  # each own term's first word as the question writes it
    for word in words:
        for term in _terms(word):
            written.setdefault(term, word)
    out = {
        t: Expansion(t, float(n), Origin.QUESTION, written.get(t, t), written.get(t, t))
        for t, n in own.items()
    }

    def add(word: str, weight: float, origin: Origin, source: str) -> None:
        for term in _terms(word):
            if term not in own and (term not in out or out[term].weight < weight):
                out[term] = Expansion(term, weight, origin, word, source)

    english = language(question) == "en"
    if english and settings.translations > 0:
        for phrase, german in _phrases(words):
            for word in german[: settings.translations]:
                add(word, settings.translation_weight, Origin.TRANSLATION, phrase)
    if not english:
        for word in (w for w in words if w.casefold() not in _GERMAN_SKIP):
            forms = [word]
            if settings.lemma_weight > 0 or settings.synonym_weight > 0:
                lemma = _lemma(word)
                if lemma and lemma != word:
                    forms.append(lemma)
                    if settings.lemma_weight > 0:
                        add(lemma, settings.lemma_weight, Origin.LEMMA, word)
            if settings.synonym_weight > 0:
                for form in forms:
                    for synset in thesaurus().synonyms(form):
                        if len(synset) + 1 <= settings.max_synset:  # the word and its synonyms
                            for synonym in synset:
                                add(synonym, settings.synonym_weight, Origin.SYNONYM, word)
    return tuple(out.values())


def term_weights(expansions: Sequence[Expansion]) -> dict[str, float]:
    """Returns each term's BM25 weight."""
    return {e.term: e.weight for e in expansions}


def lexicon_notes(settings: Expansions) -> list[str]:
    """Returns one line per lever: off, on with its resource, or on but missing it."""

    def file(found: Any, path: Any, package: str, variable: str) -> str:
        if found.path is None:
            return (
                f"missing ({path} not found: "
                f"install the Debian package {package} or set {variable})"
            )
        return f"{found.path} ({len(found):,} entries)"

    notes = []
    if settings.translations > 0:
        ding = file(dictionary(), os.environ.get("QA_DING") or DING, "trans-de-en", "QA_DING")
        notes.append(f"translation (English questions): {ding}")
    else:
        notes.append("translation: off")
    if settings.synonym_weight > 0:
        found = file(
            thesaurus(),
            os.environ.get("QA_THESAURUS") or THESAURUS,
            "openthesaurus-de-text",
            "QA_THESAURUS",
        )
        notes.append(f"synonyms (German questions): {found}")
    else:
        notes.append("synonyms: off")
    if settings.lemma_weight > 0:
        state = "simplemma" if _lemmatizer() is not None else "missing (pip install 'qa[lexicon]')"
        notes.append(f"lemmas (German questions): {state}")
    else:
        notes.append("lemmas: off")
    return notes


def prepare(settings: Expansions) -> None:
    """Loads the resources of the levers that are on, so that no question waits for them."""
    if settings.translations > 0:
        dictionary()
    if settings.synonym_weight > 0:
        thesaurus()
    if settings.lemma_weight > 0:
        _lemma("Vorbereitung")
