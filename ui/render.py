"""The HTML of chat answers, questions, errors, the overview and upload results.

Security model: every piece of text that comes from an article or from the user (questions,
passage texts, source names) is passed through :func:`escape_text` before it reaches the
browser. That function HTML-escapes it and turns every ASCII punctuation character into a
numeric character reference, so the result holds no HTML tag, no Markdown syntax, no LaTeX
delimiter and no template placeholder: it can only ever display as literal text. On top of
that the chatbot is configured with Markdown and LaTeX rendering off and HTML sanitising on
(:func:`ui.app.build_app`), so the only markup the browser sees is the handful of tags this
module and :mod:`ui.viewer` write themselves.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

import qa
from ui import texts
from ui.feedback import VOTE_CSS, vote_buttons
from ui.texts import DEFAULT_LANGUAGE, Language
from ui.upload import ALLOWED_SUFFIXES, Outcome, Refusal

__all__ = [
    "CSS",
    "escape_text",
    "format_answer",
    "format_error",
    "format_overview",
    "format_question",
    "format_upload",
]

_QUESTION_PREVIEW_CHARS = 300

# C0/C1 control characters other than tab and newline display as U+FFFD; CR is dropped.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Every ASCII punctuation character (this covers & < > " ' and all Markdown, LaTeX and
# template syntax) becomes a numeric character reference: the browser shows the character,
# no parser sees syntax.
_ENTITIES = str.maketrans({c: f"&#{ord(c)};" for c in string.punctuation})


CSS = (
    """
.qa-answer, .qa-user { line-height: 1.5; }
.qa-intro { margin: 0 0 .5em 0; }
.qa-passage { border-left: 3px solid #9ca3af; padding: .25em 0 .25em .75em; margin: .6em 0; }
.qa-cite { font-size: .9em; margin-bottom: .25em; overflow-wrap: anywhere; }
.qa-cite code { font-weight: 600; }
.qa-meta { font-size: .85em; color: #4b5563; margin-bottom: .25em; overflow-wrap: anywhere; }
.qa-rank { font-weight: 700; margin-right: .35em; }
.qa-rel { display: inline-block; margin-left: .5em; padding: 0 .45em; border-radius: 999px;
          font-size: .85em; white-space: nowrap; background: #dcfce7; color: #166534; }
.qa-weak { border-left-style: dashed; color: #6b7280; }
.qa-fit-maybe { background: #fef3c7; color: #92400e; }
.qa-weak .qa-rel { background: #f3f4f6; color: #6b7280; }
.qa-text { white-space: pre-wrap; overflow-wrap: anywhere; }
mark.qa-hl { background: #fde68a; color: inherit; font-weight: 700; padding: 0 .1em; }
.qa-weak mark.qa-hl { background: #f3f4f6; }
.qa-unanswered { margin: 0 0 .5em 0; padding: .4em .6em; border-radius: 6px; font-weight: 600;
                 background: #fffbeb; border: 1px solid #fcd34d; color: #92400e; }
.qa-candidates { margin: .5em 0 0 0; color: #6b7280; font-size: .9em; }
.qa-error { color: #b91c1c; font-weight: 600; }
.qa-note { color: #6b7280; }
.qa-overview { padding-top: 2.25em; }
.qa-overview p { margin: 0 0 .6em 0; }
.qa-label { font-weight: 700; }
.qa-upload p { margin: .3em 0; overflow-wrap: anywhere; }
.qa-added .qa-label { color: #166534; }
.qa-refused .qa-label { color: #b91c1c; }
@media (max-width: 640px) {
  #qa-heading h2 { font-size: 1.25em; margin-bottom: .25em; }
  #qa-heading p { font-size: .9em; }
}
"""
    + VOTE_CSS
)


def escape_text(text: str) -> str:
    """Returns ``text`` as inert HTML that displays exactly as the characters it holds.

    Control characters (other than tab and newline) are replaced, carriage returns dropped,
    and every ASCII punctuation character is written as a numeric character reference.
    Newlines are kept as newlines; callers decide how to display them.

    Args:
        text: Untrusted text from an article or a user.

    Returns:
        A string free of HTML tags, Markdown, LaTeX and template syntax.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("\ufffd", text)
    return text.translate(_ENTITIES)


def _lines_html(text: str) -> str:
    """Escapes ``text`` and keeps its line breaks as ``<br>``, giving one line of HTML."""
    return escape_text(text).replace("\n", "<br>")


def format_question(question: str, lang: Language = DEFAULT_LANGUAGE) -> str:
    """Formats the user's question for the chat: escaped, and shortened if very long.

    Args:
        question: The question as typed.
        lang: The UI language.

    Returns:
        One line of HTML.
    """
    if not question.strip():
        return f'<span class="qa-user qa-note">{texts.text(lang, "empty_question")}</span>'
    if len(question) > _QUESTION_PREVIEW_CHARS:
        shown = _lines_html(question[:_QUESTION_PREVIEW_CHARS])
        count = texts.text(lang, "characters", count=texts.format_number(len(question), lang))
        return f'<span class="qa-user">{shown}&#8230; <span class="qa-note">({count})</span></span>'
    return f'<span class="qa-user">{_lines_html(question)}</span>'


def format_error(message: str) -> str:
    """Formats an error message for the chat or the viewer, escaped.

    Args:
        message: A human-readable message.

    Returns:
        One line of HTML.
    """
    return f'<p class="qa-error">{_lines_html(message)}</p>'


def _passage_text_html(passage: qa.Passage) -> str:
    """The passage text, escaped, with its highlight span wrapped in ``<mark>``."""
    text = passage.text
    try:
        start, end = (int(x) for x in passage.highlight_span)
    except (TypeError, ValueError):
        return _lines_html(text)
    if not 0 <= start < end <= len(text):
        return _lines_html(text)
    return (
        _lines_html(text[:start])
        + f'<mark class="qa-hl">{_lines_html(text[start:end])}</mark>'
        + _lines_html(text[end:])
    )


def _fit_html(passage: qa.Passage, lang: Language) -> str:
    """The passage's fit as a plain badge ("passt gut", "passt vielleicht", "passt kaum")."""
    fit = passage.fit
    return f'<span class="qa-rel qa-fit-{fit.value}">{texts.text(lang, f"fit_{fit.value}")}</span>'


def _meta_html(title: str | None, date: str | None) -> str:
    """The article's title and date (``Titel · 2022-01-15``), escaped; empty if it has neither."""
    shown = " \u00b7 ".join(escape_text(x) for x in (title, date) if x)
    return f'<div class="qa-meta">{shown}</div>' if shown else ""


def _answers(passage: qa.Passage) -> bool:
    """Whether the passage's relevance reaches ``qa.MIN_RELEVANCE`` (NaN does not)."""
    return passage.fit is not qa.Fit.POOR


def format_answer(
    passages: Sequence[qa.Passage],
    lang: Language = DEFAULT_LANGUAGE,
    feedback_turn: int | None = None,
) -> str:
    """Formats retrieved passages as one chat answer.

    Each passage shows its rank, its citation (``source:line_start-line_end``, for a PDF
    ``source:pPAGE:line_start-line_end``), its fit as a plain label (``qa.Fit``: good,
    maybe, poor; no percentage), its article's title and date when it has them, and its
    text, with the sentence that best matches the question marked; passages below
    ``qa.MIN_RELEVANCE`` are greyed (class ``qa-weak``). When even
    the best one is below it, the answer says first that the articles do not seem to
    answer the question (class ``qa-unanswered``) and sets the passages apart as mere
    candidates. All text is escaped.

    Args:
        passages: The passages, best first.
        lang: The UI language.
        feedback_turn: With a feedback file: the answer's number in the session, and
            each passage gets 👍 / 👎 buttons (:func:`ui.feedback.vote_buttons`).

    Returns:
        One line of HTML (no newlines, so the chatbot's dedenting cannot alter it).
    """
    if not passages:
        return f'<p class="qa-note">{texts.text(lang, "no_passages")}</p>'
    if _answers(passages[0]):
        intro = (
            texts.text(lang, "top_one")
            if len(passages) == 1
            else texts.text(lang, "top_many", count=len(passages))
        )
        parts = [f'<div class="qa-answer"><p class="qa-intro">{intro}</p>']
    else:
        parts = [
            '<div class="qa-answer">'
            f'<p class="qa-unanswered">{texts.text(lang, "not_answered")}</p>'
            f'<p class="qa-candidates">{texts.text(lang, "candidates")}</p>'
        ]
    for rank, passage in enumerate(passages, start=1):
        cls = "qa-passage" if _answers(passage) else "qa-passage qa-weak"
        parts.append(
            f'<div class="{cls}">'
            f'<div class="qa-cite"><span class="qa-rank">[{rank}]</span> '
            f"<code>{escape_text(passage.citation)}</code>"
            f"{_fit_html(passage, lang)}"
            f"{'' if feedback_turn is None else vote_buttons(feedback_turn, rank, lang)}</div>"
            f"{_meta_html(passage.title, passage.date)}"
            f'<div class="qa-text">{_passage_text_html(passage)}</div>'
            "</div>"
        )
    parts.append("</div>")
    return "".join(parts)


def format_overview(
    index: qa.Index, lang: Language = DEFAULT_LANGUAGE, with_examples: bool = True
) -> str:
    """Says what is indexed: articles, passages and when the index was last updated.

    Args:
        index: The loaded index.
        lang: The UI language.
        with_examples: Whether example questions follow (the text then points to them).

    Returns:
        HTML for the empty chat (it holds only numbers and a date, no article text).
    """
    articles, passages = len(index.sources), len(index)
    summary = texts.text(
        lang,
        "archive_summary",
        articles=texts.format_number(articles, lang),
        articles_noun=texts.text(lang, "article" if articles == 1 else "articles"),
        passages=texts.format_number(passages, lang),
        passages_noun=texts.text(lang, "passage" if passages == 1 else "passages"),
        updated=texts.format_date(index.updated, lang),
    )
    hint = texts.text(lang, "ask_or_pick_hint" if with_examples else "ask_hint")
    return (
        f'<div class="qa-overview"><p><span class="qa-label">{texts.text(lang, "archive")}</span> '
        f"{summary}</p><p>{hint}</p></div>"
    )


def _upload_hint(limit: int, lang: Language) -> str:
    """What the upload control takes: the formats and the size limit."""
    hint = texts.text(lang, "upload_hint", limit=texts.format_megabytes(limit, lang))
    return f'<p class="qa-note">{hint}</p>'


def format_upload(outcomes: Sequence[Outcome], lang: Language, limit: int) -> str:
    """Says what became of uploaded files, each added or refused; all text escaped.

    An added file shows the name it is cited by, its number of passages, title and date;
    a refused one its name and why.

    Args:
        outcomes: What :meth:`ui.upload.Uploads.add` returned.
        lang: The UI language.
        limit: The size limit in bytes, for the reason a file was too large.

    Returns:
        HTML for the upload result.
    """
    if not outcomes:
        return f'<p class="qa-note">{texts.text(lang, "upload_none")}</p>'
    rows = []
    for outcome in outcomes:
        if outcome.info is not None:
            info = outcome.info
            noun = texts.text(lang, "passage" if info.passages == 1 else "passages")
            count = f"{texts.format_number(info.passages, lang)} {noun}"
            about = " \u00b7 ".join(escape_text(x) for x in (count, info.title, info.date) if x)
            label, name, note = "upload_added", info.source, about
        else:
            size = int(outcome.detail) if outcome.refusal is Refusal.TOO_LARGE else 0
            reason = texts.text(
                lang,
                f"refused_{outcome.refusal}",
                suffixes=", ".join(ALLOWED_SUFFIXES),
                size=texts.format_megabytes(size, lang),
                limit=texts.format_megabytes(limit, lang),
                detail=outcome.detail,
            )
            label, name, note = "upload_refused", outcome.name, escape_text(reason)
        cls = "qa-added" if outcome.info is not None else "qa-refused"
        rows.append(
            f'<p class="{cls}"><span class="qa-label">{texts.text(lang, label)}</span> '
            f"<code>{escape_text(name)}</code> &#8212; {note}</p>"
        )
    return f'<div class="qa-upload">{"".join(rows)}</div>'
