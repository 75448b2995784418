"""German lexical knowledge read from the system at run time: a dictionary and a thesaurus.

- The Ding English–German dictionary (Debian's ``trans-de-en``, GPL-2+), at
  ``/usr/share/trans/de-en`` or ``$QA_DING``: lines ``Deutsch {n} | … :: English | …``,
  whose ``|``-separated parts pair up and whose ``;``-separated alternatives are
  synonyms. Read as English word or phrase → German single words, most frequent first.
- OpenThesaurus (Debian's ``openthesaurus-de-text``, LGPL-2.1), at
  ``/usr/share/openthesaurus-de/openthesaurus.txt`` or ``$QA_THESAURUS``: one synonym
  set per line, ``;``-separated, with notes in brackets (``(ugs.)``).

Neither file ships with qa; the data is only read. A missing file gives an empty lexicon
and one log note saying how to install it. Parsing the dictionary takes seconds, so its
reading is cached under ``cache_dir()`` (keyed by the file's path, size and modification
time, written atomically); the thesaurus parses in well under a second.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from vectorstore.model.int8 import cache_dir

__all__ = [
    "DING",
    "THESAURUS",
    "Dictionary",
    "Thesaurus",
    "dictionary",
    "parse_ding",
    "parse_thesaurus",
    "thesaurus",
]

log = logging.getLogger("qa")

DING = Path("/usr/share/trans/de-en")
THESAURUS = Path("/usr/share/openthesaurus-de/openthesaurus.txt")
_CACHE_VERSION = 2
_MAX_PHRASE_WORDS = 3  # English keys of up to three words ("prime minister")
_KEPT = 6  # German words kept per English key

# Notes in any bracket: {f}, [mus.], (zoologische Ordnung), <Aalmolch>.
_NOTES = re.compile(r"\{[^}]*\}|\[[^\]]*\]|\([^)]*\)|<[^>]*>")
_WORD = re.compile(r"\w+(?:[-'’]\w+)*")
# Placeholders of Ding's German and English entries: "etw. beantragen", "jdm. gratulieren".
_PLACEHOLDERS = frozenset(
    {"etw", "jdn", "jdm", "jds", "sich", "jemand", "jemanden", "jemandem"}
    | {"sb", "sth", "sb's", "sth's", "one's", "oneself"}
)
_ENGLISH_LEAD = ("to ", "a ", "an ", "the ")


def _clean(alternative: str) -> list[str]:
    """Returns an alternative's words without notes, placeholders and ellipses."""
    text = _NOTES.sub(" ", alternative).replace("…", " ").replace("/", " ")
    return [w for w in _WORD.findall(text) if w.casefold().rstrip(".") not in _PLACEHOLDERS]


@dataclass(frozen=True)
class Dictionary:
    """English words and phrases with their German translations.

    Attributes:
        path: The file it was read from (None: empty, the file is missing).
        entries: Each casefolded English word or phrase (up to three words, single
            spaces) with its German single-word translations, most frequent first.
    """

    path: Path | None
    entries: Mapping[str, Sequence[str]]

    def __len__(self) -> int:
        return len(self.entries)

    def translate(self, english: str) -> tuple[str, ...]:
        """Returns the German words for an English word or phrase (casefolded), or ()."""
        return tuple(self.entries.get(english.casefold(), ()))


@dataclass(frozen=True)
class Thesaurus:
    """German synonym sets.

    Attributes:
        path: The file it was read from (None: empty, the file is missing).
        synsets: The sets of single words, as written.
        index: Each casefolded word with the numbers of the sets that hold it.
    """

    path: Path | None
    synsets: tuple[tuple[str, ...], ...]
    index: Mapping[str, tuple[int, ...]]

    def __len__(self) -> int:
        return len(self.synsets)

    def synonyms(self, word: str) -> list[tuple[str, ...]]:
        """Returns the synonym sets that hold ``word`` (casefolded), the word left out."""
        key = word.casefold()
        return [
            tuple(w for w in self.synsets[i] if w.casefold() != key)
            for i in self.index.get(key, ())
        ]


def parse_ding(lines: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Reads Ding lines into English key → German single words, most likely first.

    A German word is a candidate for a key where one part of a line gives it as an
    alternative and the key as an English alternative. Candidates are ranked by how
    many parts hold both, counting the parts where they stand in longer phrases too
    ("die Wahl gewinnen :: to win the election" speaks for Wahl as "election"); ties
    keep the order of first appearance.

    Args:
        lines: The dictionary's lines (``#`` lines are comments).
    """
    parts = []
    candidates: dict[str, dict[str, int]] = defaultdict(dict)
    for line in lines:
        if line.startswith("#") or " :: " not in line:
            continue
        german, english = line.rstrip("\n").split(" :: ", 1)
        for de_part, en_part in zip(german.split(" | "), english.split(" | "), strict=False):
            words = _alternatives(de_part)
            keys = []
            for alternative in en_part.split(";"):
                key = " ".join(_clean(alternative.strip())).casefold()
                for lead in _ENGLISH_LEAD:
                    key = key.removeprefix(lead)
                if key and key.count(" ") < _MAX_PHRASE_WORDS:
                    keys.append(key)
            for key in keys:
                found = candidates[key]
                for word in words:
                    found[word] = found.get(word, 0) + 1
            parts.append((frozenset(_clean(en_part.casefold())), frozenset(_clean(de_part))))
    # Single English words: count the parts where key and candidate stand together.
    for english_words, german_words in parts:
        for key in english_words:
            found = candidates.get(key)
            if found:
                for word in german_words.intersection(found):
                    found[word] += 1
    return {
        key: tuple(sorted(found, key=lambda w: -found[w])[:_KEPT])  # stable: first seen wins
        for key, found in candidates.items()
        if found
    }


def _alternatives(part: str) -> list[str]:
    """Returns the single-word alternatives of a ``;``-separated list, as written."""
    words: list[str] = []
    for alternative in part.split(";"):
        if "…" in alternative or "..." in alternative:
            continue  # a word's beginning or end ("Glückwunsch…"), not a word
        cleaned = _clean(alternative)
        if len(cleaned) == 1 and cleaned[0] not in words:
            words.append(cleaned[0])
    return words


def parse_thesaurus(lines: Iterable[str]) -> list[tuple[str, ...]]:
    """Reads OpenThesaurus lines into synonym sets of single words (two or more each).

    Args:
        lines: The thesaurus's lines (``#`` lines are comments).
    """
    out = []
    for line in lines:
        if line.startswith("#"):
            continue
        words = _alternatives(line.rstrip("\n"))
        if len(words) > 1:
            out.append(tuple(words))
    return out


def _source(variable: str, default: Path, package: str) -> Path | None:
    """Returns the file to read, or None (with one log note) when it is missing."""
    path = Path(os.environ.get(variable) or default)
    if path.is_file():
        return path
    log.info(
        "lexicon: %s not found; qa works without it (install the Debian package %s, "
        "or set %s to the file)",
        path,
        package,
        variable,
    )
    return None


def _cache_file(path: Path) -> Path:
    stat = path.stat()
    key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{_CACHE_VERSION}"
    return cache_dir() / f"ding-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def _read_cache(cache: Path) -> dict[str, list[str]] | None:
    try:
        entries = json.loads(cache.read_bytes())
    except (OSError, ValueError):
        return None
    return entries if isinstance(entries, dict) else None


def _write_cache(cache: Path, entries: Mapping[str, Sequence[str]]) -> None:
    """Writes the cache atomically; a cache that cannot be written is only logged."""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".ding-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(entries, out, ensure_ascii=False, separators=(",", ":"))
        os.replace(tmp, cache)
    except OSError as exc:
        log.info("lexicon: could not cache the dictionary in %s (%s)", cache.parent, exc)


@functools.cache
def dictionary() -> Dictionary:
    """Returns the English–German dictionary (read once per process; see the module)."""
    path = _source("QA_DING", DING, "trans-de-en")
    if path is None:
        return Dictionary(None, {})
    cache = _cache_file(path)
    entries = _read_cache(cache)
    if entries is None:
        with path.open(encoding="utf-8", errors="replace") as lines:
            entries = parse_ding(lines)
        _write_cache(cache, entries)
    return Dictionary(path, entries)


@functools.cache
def thesaurus() -> Thesaurus:
    """Returns the German thesaurus (read once per process; see the module)."""
    path = _source("QA_THESAURUS", THESAURUS, "openthesaurus-de-text")
    if path is None:
        return Thesaurus(None, (), {})
    with path.open(encoding="utf-8", errors="replace") as lines:
        synsets = parse_thesaurus(lines)
    index: dict[str, list[int]] = defaultdict(list)
    for number, words in enumerate(synsets):
        for word in words:
            index[word.casefold()].append(number)
    return Thesaurus(path, tuple(synsets), {k: tuple(v) for k, v in index.items()})
