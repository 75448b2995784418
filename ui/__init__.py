"""The Gradio web UI of qa (``gradio`` is imported only inside this package)."""

from ui.app import (
    DEFAULT_K,
    MAX_K,
    MAX_QUESTION_CHARS,
    ChatTurn,
    QABlocks,
    build_app,
    chat_turn,
    escape_text,
    example_questions,
    format_answer,
    format_error,
    format_overview,
    format_question,
    format_source,
    launch,
    retrieve,
    view_source,
)
from ui.texts import Language

__all__ = [
    "DEFAULT_K",
    "MAX_K",
    "MAX_QUESTION_CHARS",
    "ChatTurn",
    "Language",
    "QABlocks",
    "build_app",
    "chat_turn",
    "escape_text",
    "example_questions",
    "format_answer",
    "format_error",
    "format_overview",
    "format_question",
    "format_source",
    "launch",
    "retrieve",
    "view_source",
]
