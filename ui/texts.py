"""The UI's words in German and English, and which language a browser gets.

German is the default: English is chosen only when the browser's preferred language is
English. Fixed labels reach the browser through Gradio's i18n (see :func:`translations`);
text built in Python (the answers) takes the language from the request's
``Accept-Language`` header (see :func:`language`). Both follow the same rule.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

__all__ = [
    "DEFAULT_LANGUAGE",
    "GRADIO_LOCALES",
    "LANGUAGES",
    "TEXTS",
    "Language",
    "format_date",
    "format_megabytes",
    "format_number",
    "language",
    "text",
]


class Language(StrEnum):
    """The languages of the UI's texts."""

    DE = "de"
    EN = "en"


LANGUAGES = tuple(Language)
DEFAULT_LANGUAGE = Language.DE

# The languages Gradio 6's frontend has translations for (gradio/js/core/src/lang/*.json),
# by primary subtag: the frontend picks one of these from the browser's language, or
# English. Each of them other than English gets the German texts, so that a French or
# Polish browser sees German labels, as it gets German answers from :func:`language`.
GRADIO_LOCALES = (
    "ar", "ca", "ckb", "de", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "id", "ja",
    "ko", "lt", "nb", "nl", "pl", "pt", "ro", "ru", "sv", "ta", "th", "tr", "uk", "ur", "uz",
    "zh",
)  # fmt: skip

TEXTS: dict[Language, dict[str, str]] = {
    Language.DE: {
        "heading": (
            "## Fragen an das Nachrichtenarchiv\n"
            "Die Antworten sind Stellen aus den Artikeln, jede mit ihrer Fundstelle "
            "`Datei:Zeilen`; der am besten passende Satz ist markiert."
        ),
        "answers": "Antworten",
        "question_placeholder": "Ihre Frage …",
        "ask": "Fragen",
        "passages_per_answer": "Stellen pro Antwort",
        "only_articles": "Nur in diesen Artikeln suchen",
        "only_articles_info": "Keiner gewählt: alle Artikel.",
        "collection": "Sammlung",
        "collection_info": "Eine andere Sammlung beginnt ein neues Gespräch.",
        "clear": "Chat leeren",
        "open_citation": "Fundstelle aus der letzten Antwort öffnen",
        "viewer_placeholder": (
            "Stellen Sie eine Frage und wählen Sie dann eine ihrer Fundstellen: "
            "hier erscheint der ganze Artikel."
        ),
        "archive": "Im Archiv:",
        "archive_summary": (
            "{articles} {articles_noun}, {passages} {passages_noun}, "
            "zuletzt aktualisiert am {updated}."
        ),
        "ask_hint": "Stellen Sie eine Frage.",
        "ask_or_pick_hint": "Stellen Sie eine Frage, oder wählen Sie ein Beispiel:",
        "article": "Artikel",
        "articles": "Artikel",
        "passage": "Textstelle",
        "passages": "Textstellen",
        "empty_question": "(leere Frage)",
        "characters": "{count} Zeichen",
        "top_one": "Die beste Stelle:",
        "top_many": "Die {count} besten Stellen:",
        "no_passages": "Zu dieser Frage wurden keine Stellen gefunden.",
        "not_answered": "Die Artikel scheinen diese Frage nicht zu beantworten.",
        "candidates": "Nur zum Vergleich, die nächstliegenden Stellen:",
        "fit_good": "passt gut",
        "fit_maybe": "passt vielleicht",
        "fit_poor": "passt kaum",
        "lines": "Zeilen {start}–{end} von {total}",
        "page_lines": "Seite {page}, Zeilen {start}–{end} von {total}",
        "readable_lines": "Zeilen {start}–{end} (lesbarer Text, ohne Markup)",
        "upload_button": "Artikel hinzufügen",
        "upload_hint": "Dateien .txt, .md, .html oder .pdf, je höchstens {limit} MB.",
        "upload_added": "Hinzugefügt:",
        "upload_refused": "Abgelehnt:",
        "upload_none": "Keine Datei erhalten.",
        "refused_type": "kein Artikelformat (erlaubt: {suffixes})",
        "refused_too_large": "zu groß ({size} MB, höchstens {limit} MB)",
        "refused_content": "nicht lesbar, oder nicht, was die Endung sagt: {detail}",
        "refused_locked": (
            "ein anderer Prozess schreibt gerade den Index; bitte gleich noch einmal "
            "versuchen ({detail})"
        ),
        "refused_failed": "konnte nicht hinzugefügt werden: {detail}",
        "error_empty": "Bitte geben Sie eine Frage ein.",
        "error_too_long": "Die Frage ist zu lang ({count} Zeichen, höchstens {limit}).",
        "error_not_indexed": "{source} ist kein Artikel im Index.",
        "error_not_cited": "Diese Fundstelle gehört nicht zur letzten Antwort.",
        "vote_up": "passt",
        "vote_down": "passt nicht",
        "vote_recorded": "Danke! Ihre Bewertung „{vote}“ für Stelle [{rank}] ist gespeichert.",
        "vote_twice": "Diese Stelle haben Sie schon bewertet.",
        "vote_unknown": "Diese Stelle gehört zu keiner Antwort dieses Chats.",
        "vote_full": "Bewertung nicht gespeichert: die Feedback-Datei ist voll.",
        "vote_failed": "Bewertung nicht gespeichert: die Feedback-Datei ist nicht beschreibbar.",
    },
    Language.EN: {
        "heading": (
            "## Ask the news archive\n"
            "Answers are passages from the articles, each with its citation `file:lines`; "
            "the best-matching sentence is marked."
        ),
        "answers": "Answers",
        "question_placeholder": "Your question …",
        "ask": "Ask",
        "passages_per_answer": "Passages per answer",
        "only_articles": "Search only these articles",
        "only_articles_info": "None chosen: all articles.",
        "collection": "Collection",
        "collection_info": "Choosing another one starts a new conversation.",
        "clear": "Clear chat",
        "open_citation": "Open a citation from the last answer",
        "viewer_placeholder": (
            "Ask a question, then pick one of its citations to read the whole article here."
        ),
        "archive": "In the archive:",
        "archive_summary": (
            "{articles} {articles_noun}, {passages} {passages_noun}, last updated {updated}."
        ),
        "ask_hint": "Ask a question.",
        "ask_or_pick_hint": "Ask a question, or pick an example:",
        "article": "article",
        "articles": "articles",
        "passage": "passage",
        "passages": "passages",
        "empty_question": "(empty question)",
        "characters": "{count} characters",
        "top_one": "The best passage:",
        "top_many": "The {count} best passages:",
        "no_passages": "No passages found for this question.",
        "not_answered": "The articles do not seem to answer this question.",
        "candidates": "For comparison only, the closest passages:",
        "fit_good": "good fit",
        "fit_maybe": "possible fit",
        "fit_poor": "poor fit",
        "lines": "lines {start}–{end} of {total}",
        "page_lines": "page {page}, lines {start}–{end} of {total}",
        "readable_lines": "lines {start}–{end} (readable text, without markup)",
        "upload_button": "Add articles",
        "upload_hint": "Files .txt, .md, .html or .pdf, at most {limit} MB each.",
        "upload_added": "Added:",
        "upload_refused": "Refused:",
        "upload_none": "No file received.",
        "refused_type": "not an article format (allowed: {suffixes})",
        "refused_too_large": "too large ({size} MB; at most {limit} MB)",
        "refused_content": "unreadable, or not what its suffix says: {detail}",
        "refused_locked": (
            "another process is writing the index; please try again in a moment ({detail})"
        ),
        "refused_failed": "could not be added: {detail}",
        "error_empty": "Please type a question.",
        "error_too_long": "The question is too long ({count} characters, at most {limit}).",
        "error_not_indexed": "{source} is not an indexed article.",
        "error_not_cited": "That citation is not part of the last answer.",
        "vote_up": "fits",
        "vote_down": "does not fit",
        "vote_recorded": "Thank you! Your vote “{vote}” on passage [{rank}] is saved.",
        "vote_twice": "You have voted on this passage already.",
        "vote_unknown": "That passage is not part of an answer in this chat.",
        "vote_full": "Vote not saved: the feedback file is full.",
        "vote_failed": "Vote not saved: the feedback file cannot be written.",
    },
}


def text(lang: Language, key: str, **fields: object) -> str:
    """Returns the text ``key`` in ``lang``, with ``fields`` filled in.

    Args:
        lang: The language; anything else gets German.
        key: A key of ``TEXTS``.
        **fields: Values for the ``{placeholders}`` of the text.
    """
    template = TEXTS.get(lang, TEXTS[DEFAULT_LANGUAGE])[key]
    return template.format(**fields) if fields else template


def language(accept_language: str | None) -> Language:
    """Returns the UI language for a browser: English if it prefers English, else German.

    Args:
        accept_language: The request's ``Accept-Language`` header, e.g.
            ``"en-US,en;q=0.9,de;q=0.8"``; None or empty when unknown.
    """
    best, best_q = "", 0.0
    for entry in (accept_language or "").split(","):
        tag, _, params = entry.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q > best_q:
            best, best_q = tag.strip(), q
    return Language.EN if best.split("-")[0].lower() == "en" else DEFAULT_LANGUAGE


def format_number(number: int, lang: Language) -> str:
    """Returns ``number`` with the thousands separator of ``lang`` (1.234 or 1,234)."""
    grouped = f"{number:,}"
    return grouped.replace(",", ".") if lang == Language.DE else grouped


def format_megabytes(size: int, lang: Language) -> str:
    """Returns a size in bytes as MB (MiB, as Gradio counts) with at most one decimal.

    Args:
        size: Bytes.
        lang: The language (German writes a decimal comma).
    """
    shown = f"{size / 2**20:.1f}".removesuffix(".0")
    return shown.replace(".", ",") if lang == Language.DE else shown


def format_date(moment: datetime, lang: Language) -> str:
    """Returns a date and time in UTC, as ``lang`` writes it.

    Args:
        moment: An aware datetime (a naive one is taken as UTC).
        lang: The language.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    if lang == Language.DE:
        return moment.strftime("%d.%m.%Y um %H:%M UTC")
    return moment.strftime("%Y-%m-%d at %H:%M UTC")
