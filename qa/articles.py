"""Which files qa indexes, and a check of one file before it is indexed (e.g. an upload)."""

from __future__ import annotations

import os
from pathlib import Path

from vectorstore import SourceError
from vectorstore.build.pieces import check_source
from vectorstore.sources.files import SkippedFile
from vectorstore.sources.formats import SUFFIXES

__all__ = ["ARTICLE_SUFFIXES", "check_article"]

# The suffixes of the files a build takes from folders: .txt .md .markdown .html .htm .pdf
ARTICLE_SUFFIXES: tuple[str, ...] = tuple(SUFFIXES)


def check_article(path: str | os.PathLike[str], name: str | None = None) -> None:
    """Checks that a build would index a file, reading and parsing it as the build does.

    Args:
        path: The file; its suffix says its format (one of ``ARTICLE_SUFFIXES``, else it
            is read as text).
        name: What messages call the file (default: its name).

    Raises:
        SourceError: If a build would skip the file: unreadable, binary, empty, of another
            format than its suffix says, or not parseable. The message names the file and
            the reason.
    """
    path = Path(path)
    try:
        check_source(name or path.name, path)
    except SkippedFile as exc:
        raise SourceError(str(exc)) from None
