"""The Gradio web UI of qa (``gradio`` is imported only inside this package).

The package holds no retrieval logic: it only calls the public ``qa`` API
(``Index.search``, ``Index.sources``, ``Index.source_info``, ``Index.source_lines``,
``Index.source_text``, ``Index.updated``, ``Index.generation``, ``Passage``,
``qa.Collections``, ``qa.MIN_RELEVANCE``, and for votes ``qa.FeedbackFile`` and
``qa.vote_line``). :mod:`ui.app` builds and launches the page from the other modules.
"""

from ui.app import build_app, launch
from ui.handlers import (
    DEFAULT_K,
    MAX_K,
    MAX_QUESTION_CHARS,
    ChatTurn,
    chat_turn,
    example_questions,
    retrieve,
    source_pattern,
)
from ui.mcp import MAX_READ_LINES, MCP_PATH, ToolError, mcp_tools
from ui.ops import Operations, log_requests
from ui.render import (
    escape_text,
    format_answer,
    format_error,
    format_overview,
    format_question,
    format_upload,
)
from ui.security import QABlocks
from ui.texts import Language
from ui.viewer import format_source, view_source

__all__ = [
    "DEFAULT_K",
    "MAX_K",
    "MAX_QUESTION_CHARS",
    "MAX_READ_LINES",
    "MCP_PATH",
    "ChatTurn",
    "Language",
    "Operations",
    "QABlocks",
    "ToolError",
    "build_app",
    "chat_turn",
    "escape_text",
    "example_questions",
    "format_answer",
    "format_error",
    "format_overview",
    "format_question",
    "format_source",
    "format_upload",
    "launch",
    "log_requests",
    "mcp_tools",
    "retrieve",
    "source_pattern",
    "view_source",
]
