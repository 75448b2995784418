"""Finding the articles under the corpus paths and reading them as text."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vectorstore.errors import SourceError

__all__ = [
    "ARTICLE_SUFFIXES",
    "Article",
    "SkippedFile",
    "decode_article",
    "discover",
    "read_bytes",
]

log = logging.getLogger("qa")

ARTICLE_SUFFIXES = (".txt",)
# Encodings tried in order; Latin-1 decodes any byte string, so it comes last.
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
_BINARY_SNIFF = 8192


@dataclass(frozen=True)
class Article:
    """One article read from disk.

    Attributes:
        name: The source name cited to users: the path as the user named it.
        text: The decoded text; its line breaks are the file's.
        sha256: Hash of the file's bytes; an unchanged hash means unchanged passages.
        encoding: The encoding the bytes were decoded with.
    """

    name: str
    text: str
    sha256: str
    encoding: str


class SkippedFile(Exception):
    """A file that is not indexed, with the reason."""


def _display_name(root: str, path: Path, root_path: Path) -> str:
    rel = path.relative_to(root_path).as_posix()
    if root_path.is_file():
        return Path(root).as_posix()
    return f"{Path(root).as_posix().rstrip('/')}/{rel}"


def discover(roots: Iterable[str]) -> dict[str, Path]:
    """Lists the article files under the corpus paths.

    A path may be a file (taken whatever its suffix) or a folder (searched recursively
    for ``ARTICLE_SUFFIXES``, skipping hidden entries, not following symlinked folders,
    and skipping symlinked files that point outside the folder).

    Args:
        roots: Corpus paths as the user gave them.

    Returns:
        Source name (``root/relative/path``) to file path, sorted by name.

    Raises:
        SourceError: If a path does not exist.
    """
    found: dict[str, Path] = {}
    for root in roots:
        root_path = Path(root)
        if root_path.is_file():
            found[Path(root).as_posix()] = root_path
            continue
        if not root_path.is_dir():
            raise SourceError(f"corpus path does not exist: {root}")
        real_root = root_path.resolve()
        for dirpath, dirnames, filenames in os.walk(root_path, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for filename in sorted(filenames):
                path = Path(dirpath) / filename
                if filename.startswith(".") or path.suffix.lower() not in ARTICLE_SUFFIXES:
                    continue
                if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                    log.warning("skipped %s: a symlink to a file outside %s", path, root)
                    continue
                found[_display_name(root, path, root_path)] = path
    return dict(sorted(found.items()))


def read_bytes(name: str, path: Path) -> tuple[bytes, str]:
    """Reads a file whole and hashes it, so that what is hashed is what is indexed.

    Args:
        name: The source name, for messages.
        path: The file to read.

    Returns:
        The bytes and their SHA-256 hex digest.

    Raises:
        SkippedFile: If the file cannot be read.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SkippedFile(f"{name}: cannot read it ({exc.strerror or exc})") from exc
    return data, hashlib.sha256(data).hexdigest()


def decode_article(name: str, data: bytes, sha256: str) -> Article:
    """Decodes an article's bytes: UTF-8 first, then Windows-1252, then Latin-1.

    Args:
        name: The source name.
        data: The file's bytes.
        sha256: Their hash, from ``read_bytes``.

    Returns:
        The article.

    Raises:
        SkippedFile: If the file is binary or holds no text.
    """
    if b"\x00" in data[:_BINARY_SNIFF]:
        raise SkippedFile(f"{name}: looks binary (it holds NUL bytes)")
    text, encoding = "", _ENCODINGS[-1]
    for encoding in _ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if not text.strip():
        raise SkippedFile(f"{name}: empty")
    if encoding != _ENCODINGS[0]:
        log.warning("%s is not UTF-8; decoded it as %s", name, encoding)
    return Article(name, text, sha256, encoding)
