"""The Ding and OpenThesaurus readers: on small files written in their formats, and on the
Debian packages' files when they are installed."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from vectorstore import lexicon
from vectorstore.lexicon import dictionary, parse_ding, parse_thesaurus, thesaurus

DATA = Path(__file__).resolve().parents[1] / "data" / "lexicon"
DING = DATA / "ding.txt"
THESAURUS = DATA / "thesaurus.txt"

EXPECTED_DING = {
    "election": ("Wahl", "Gnadenwahl"),
    "elections": ("Wahlen",),
    "choice": ("Auswahl", "Wahl"),
    "selection": ("Auswahl", "Wahl"),
    "congratulate": ("gratulieren", "beglückwünschen"),
    "congratulating": ("gratulierend",),
    "congratulated": ("gratuliert", "beglückwünscht"),
    "beekeeper": ("Imker", "Imkerin"),
    "beekeepers": ("Imker",),
    "honey": ("Honig", "Schatz"),
    "acacia honey": ("Akazienhonig",),
    "darling": ("Schatz",),
    "prime minister": ("Ministerpräsident",),
    "premier": ("Ministerpräsident",),
    "partial mobilization": ("Teilmobilmachung",),
}


@pytest.fixture
def cleared() -> Iterator[None]:
    """Reads the lexicon anew (the dictionary's cache stays where it is)."""
    dictionary.cache_clear()
    thesaurus.cache_clear()
    yield
    dictionary.cache_clear()
    thesaurus.cache_clear()


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Reads the lexicon anew, caching under a temporary folder; yields that folder."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("QA_CACHE_DIR", str(cache))
    dictionary.cache_clear()
    thesaurus.cache_clear()
    yield cache
    dictionary.cache_clear()
    thesaurus.cache_clear()


def test_parse_ding_ranks_the_translations_each_key_has() -> None:
    with DING.open(encoding="utf-8") as lines:
        assert parse_ding(lines) == EXPECTED_DING


def test_parse_thesaurus_keeps_single_words_without_notes() -> None:
    with THESAURUS.open(encoding="utf-8") as lines:
        assert parse_thesaurus(lines) == [
            ("beglückwünschen", "gratulieren"),
            ("Imker", "Bienenzüchter", "Bienenhalter"),
            ("Wahl", "Abstimmung", "Urnengang", "Stimmabgabe"),  # "Wahl..." is no word
            ("Ernte", "Ertrag", "Ausbeute", "Lese"),
        ]  # "sehr schnell;rasch" keeps one single word: no set


def test_dictionary_is_cached_by_the_files_size_and_time(
    fresh: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = tmp_path / "de-en"
    source.write_bytes(DING.read_bytes())
    monkeypatch.setenv("QA_DING", str(source))
    ding = dictionary()
    assert ding.path == source
    assert ding.translate("Election") == ("Wahl", "Gnadenwahl")
    assert ding.translate("unknown") == ()
    (cache,) = fresh.glob("ding-*.json")
    # A second process reads the cache, not the file: prove it by changing the cache.
    cache.write_text('{"election": ["Urnengang"]}', encoding="utf-8")
    dictionary.cache_clear()
    assert dictionary().translate("election") == ("Urnengang",)
    # A changed file (size, time) is read again, into a cache of its own.
    with source.open("a", encoding="utf-8") as out:
        out.write("Urne {f} :: ballot box\n")
    os.utime(source, ns=(1, 1))
    dictionary.cache_clear()
    assert dictionary().translate("ballot box") == ("Urne",)
    assert dictionary().translate("election") == ("Wahl", "Gnadenwahl")
    assert len(list(fresh.glob("ding-*.json"))) == 2
    assert not list(fresh.glob(".ding-*"))  # no temporary file left behind


def test_an_unwritable_cache_only_costs_time(
    fresh: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("QA_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setenv("QA_DING", str(DING))
    with caplog.at_level(logging.INFO, logger="qa"):
        entries = dictionary().entries
    assert {k: tuple(v) for k, v in entries.items()} == EXPECTED_DING
    assert "could not cache the dictionary" in caplog.text


def test_thesaurus_synonyms(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_THESAURUS", str(THESAURUS))
    found = thesaurus()
    assert len(found) == 4
    assert found.synonyms("gratulieren") == [("beglückwünschen",)]
    assert found.synonyms("WAHL") == [("Abstimmung", "Urnengang", "Stimmabgabe")]
    assert found.synonyms("rasch") == []


def test_missing_files_give_an_empty_lexicon_and_say_so(
    fresh: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("QA_DING", str(tmp_path / "no-ding"))
    monkeypatch.setenv("QA_THESAURUS", str(tmp_path / "no-thesaurus"))
    with caplog.at_level(logging.INFO, logger="qa"):
        assert dictionary().path is None and len(dictionary()) == 0
        assert thesaurus().path is None and thesaurus().synonyms("Wahl") == []
        dictionary()  # read once: one note each
    notes = [r.getMessage() for r in caplog.records]
    assert len(notes) == 2
    assert "no-ding not found" in notes[0] and "trans-de-en" in notes[0]
    assert "QA_DING" in notes[0]
    assert "no-thesaurus not found" in notes[1] and "openthesaurus-de-text" in notes[1]


@pytest.mark.skipif(not lexicon.DING.is_file(), reason="Debian package trans-de-en not installed")
def test_the_installed_dictionary(cleared: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QA_DING", raising=False)
    ding = dictionary()
    assert ding.path == lexicon.DING
    assert len(ding) > 200_000
    assert ding.translate("congratulate")[:2] == ("gratulieren", "beglückwünschen")
    assert ding.translate("election")[0] == "Wahl"
    assert ding.translate("partial mobilization") == ("Teilmobilmachung",)


@pytest.mark.skipif(
    not lexicon.THESAURUS.is_file(), reason="Debian package openthesaurus-de-text not installed"
)
def test_the_installed_thesaurus(cleared: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QA_THESAURUS", raising=False)
    found = thesaurus()
    assert len(found) > 20_000
    assert ("beglückwünschen",) in found.synonyms("gratulieren")
