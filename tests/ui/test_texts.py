"""ui.texts: the browser's language, and every text in both languages."""

from __future__ import annotations

import pytest

from ui import texts


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("en-US,en;q=0.9", "en"),
        ("en", "en"),
        ("EN-gb", "en"),
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "de"),
        ("de;q=0.5,en;q=0.9", "en"),
        ("en;q=0,de", "de"),
        ("en;q=x", "de"),
        ("*", "de"),
        ("", "de"),
        (None, "de"),
    ],
)
def test_language_is_english_only_for_english_browsers(header, lang):
    assert texts.language(header) == lang


def test_both_languages_have_every_text():
    assert set(texts.TEXTS["de"]) == set(texts.TEXTS["en"])
