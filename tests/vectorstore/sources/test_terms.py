"""The index terms of a text: stemmed, stopwords dropped, other scripts kept apart."""

from __future__ import annotations

from vectorstore.sources.terms import tokenize


def test_tokenize_german_stems_and_drops_stopwords() -> None:
    assert tokenize("Die Katzen schliefen auf dem Sofa") == ["katz", "schlief", "sofa"]
    assert tokenize("Katze schlief") == ["katz", "schlief"]
    assert tokenize("the cat") == ["cat"]


def test_tokenize_other_scripts() -> None:
    assert tokenize("Москвы") == tokenize("Москва")  # Russian stemmer for Cyrillic
    assert tokenize("首都北京") == ["首", "都", "北", "京", "首都", "都北", "北京"]
    assert tokenize("Émile Zoë") == tokenize("Emile Zoe") == ["emil", "zo"]
