"""The index terms of a text for BM25: a passage's when it is indexed, a question's in search.

Text is tokenised Unicode-aware: words of any script, casefolded. Latin words lose German
and English stopwords, lose their accents and are reduced by the German Snowball stemmer;
Cyrillic words are reduced by the Russian one; Chinese, Japanese and Korean text, written
without spaces, becomes character unigrams and bigrams.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_GERMAN

__all__ = ["tokenize"]

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|(?:(?![{_CJK}])\w)+")
_CJK_RUN = re.compile(rf"[{_CJK}]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_STOPWORDS = frozenset(STOPWORDS_GERMAN) | frozenset(STOPWORDS_EN)


@lru_cache(maxsize=4)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def _fold_accents(word: str) -> str:
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def tokenize(text: str) -> list[str]:
    """Returns the index terms of ``text`` (see the module docstring)."""
    german, russian = _stemmer("german"), _stemmer("russian")
    terms: list[str] = []
    for word in _TOKEN.findall(text.casefold()):
        if _CJK_RUN.fullmatch(word):
            terms.extend(word)
            terms.extend(word[i : i + 2] for i in range(len(word) - 1))
        elif word not in _STOPWORDS:
            if _CYRILLIC.search(word):
                terms.append(russian.stemWord(word))
            else:
                terms.append(german.stemWord(_fold_accents(word)))
    return terms
