"""The Gradio web UI of qa (``gradio`` is imported only inside this package)."""

from ui.app import (
    DEFAULT_K,
    MAX_K,
    MAX_QUESTION_CHARS,
    QABlocks,
    build_app,
    chat_turn,
    escape_text,
    format_answer,
    format_error,
    format_question,
    format_source,
    launch,
    retrieve,
    view_source,
)

__all__ = [
    "DEFAULT_K",
    "MAX_K",
    "MAX_QUESTION_CHARS",
    "QABlocks",
    "build_app",
    "chat_turn",
    "escape_text",
    "format_answer",
    "format_error",
    "format_question",
    "format_source",
    "launch",
    "retrieve",
    "view_source",
]
