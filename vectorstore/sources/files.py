"""Finding the articles under the corpus paths and reading them as text."""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import re
import stat
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vectorstore.errors import SourceError
from vectorstore.sources.formats import SUFFIXES, Format, format_of

__all__ = ["SkippedFile", "SourceFile", "discover", "read_text", "scan"]

log = logging.getLogger("qa")

# Encodings tried in order; Latin-1 decodes any byte string, so it comes last.
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
_BINARY_SNIFF = 8192
_READ_BYTES = 1 << 20


@dataclass(frozen=True)
class SourceFile:
    """An article file as scanned: what it is called, and the bytes it held.

    Attributes:
        name: The source name cited to users: the path as the user named it.
        path: The file.
        sha256: Hash of the file's bytes; an unchanged hash means unchanged passages.
        encoding: The encoding its bytes decode with (``binary`` for PDF).
        size: Its size in bytes.
        format: How it is read: by its suffix (a file named on its own with another
            suffix is read as text).
    """

    name: str
    path: Path
    sha256: str
    encoding: str
    size: int
    format: Format = Format.TXT


class SkippedFile(Exception):
    """A file that is not indexed, with the reason."""


def _display_name(root: str, path: Path, root_path: Path) -> str:
    rel = path.relative_to(root_path).as_posix()
    if root_path.is_file():
        return Path(root).as_posix()
    return f"{Path(root).as_posix().rstrip('/')}/{rel}"


def discover(roots: Iterable[str], formats: Collection[Format] = tuple(Format)) -> dict[str, Path]:
    """Lists the article files under the corpus paths.

    A path may be a file (taken whatever its suffix) or a folder (searched recursively
    for the suffixes of ``formats``, skipping hidden entries, not following symlinked
    folders, and skipping symlinked files that point outside the folder).

    Args:
        roots: Corpus paths as the user gave them.
        formats: The formats whose files are taken from folders.

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
        suffixes = {suffix for suffix, f in SUFFIXES.items() if f in formats}
        for dirpath, dirnames, filenames in os.walk(root_path, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for filename in sorted(filenames):
                path = Path(dirpath) / filename
                if filename.startswith(".") or path.suffix.lower() not in suffixes:
                    continue
                if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                    log.warning("skipped %s: a symlink to a file outside %s", path, root)
                    continue
                found[_display_name(root, path, root_path)] = path
    return dict(sorted(found.items()))


def _read(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while block := f.read(_READ_BYTES):
            yield block


def scan(name: str, path: Path) -> SourceFile:
    """Hashes a file and finds its encoding, reading it in blocks (bounded memory).

    UTF-8 comes first (a BOM is fine), then Windows-1252, then Latin-1, which decodes any
    bytes.

    Args:
        name: The source name, for messages.
        path: The file.

    Returns:
        What the file holds.

    Raises:
        SkippedFile: If the file cannot be read, is no regular file, looks binary (or, for
            a PDF, not like a PDF), holds no text, or holds another format than its suffix
            says.
    """
    fmt = format_of(path) or Format.TXT
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or device would block or never end
            raise SkippedFile(f"{name}: not a regular file")
        first = next(_read(path), b"")
        _check_content(name, fmt, first)
        if fmt is Format.PDF:
            digest, size = hashlib.sha256(), 0
            for block in _read(path):
                digest.update(block)
                size += len(block)
            return SourceFile(name, path, digest.hexdigest(), "binary", size, fmt)
        if b"\x00" in first[:_BINARY_SNIFF]:
            raise SkippedFile(f"{name}: looks binary (it holds NUL bytes)")
        for encoding in _ENCODINGS:
            digest, decoder, has_text, size = hashlib.sha256(), _decoder(encoding), False, 0
            try:
                for block in _read(path):
                    digest.update(block)
                    size += len(block)
                    has_text = has_text or bool(decoder.decode(block).strip())
                has_text = has_text or bool(decoder.decode(b"", final=True).strip())
                break
            except UnicodeDecodeError:
                continue
    except OSError as exc:
        raise SkippedFile(f"{name}: cannot read it ({exc.strerror or exc})") from exc
    if not has_text:
        raise SkippedFile(f"{name}: empty")
    if encoding != _ENCODINGS[0]:
        log.warning("%s is not UTF-8; decoded it as %s", name, encoding)
    return SourceFile(name, path, digest.hexdigest(), encoding, size, fmt)


_HTML_START = re.compile(rb"\s*(?:<!doctype\s+html|<html[\s>])", re.IGNORECASE)


def _check_content(name: str, fmt: Format, first: bytes) -> None:
    """Raises SkippedFile if a file's first bytes show another format than its suffix.

    A PDF must start like one; a text or Markdown file must not be an HTML page or a
    PDF (its markup would be indexed as text).
    """
    head = first.removeprefix(b"\xef\xbb\xbf")
    if head.startswith(b"%PDF-"):
        actual = Format.PDF
    elif _HTML_START.match(head[:1024]):
        actual = Format.HTML
    else:
        actual = None
    if fmt is Format.PDF and actual is not Format.PDF:
        what = "an HTML page" if actual is Format.HTML else "something else"
        raise SkippedFile(f"{name}: not a PDF (it holds {what}); skipped")
    if fmt in (Format.TXT, Format.MARKDOWN) and actual is not None:
        what = "an HTML page" if actual is Format.HTML else "a PDF"
        raise SkippedFile(
            f"{name}: holds {what}, not text (its markup would be indexed as words); "
            f"rename it to .{actual.value} to index it as {actual.value.upper()}"
        )


_PARAGRAPH_END = re.compile(r"\n[ \t\r\f\v]*\n")


def read_text(source: SourceFile, sha256: Any, block_chars: int = 1 << 20) -> Iterator[str]:
    """Decodes a scanned file in blocks that end at paragraph breaks where possible.

    The file is read again, so it may have changed since ``scan``: bytes that no longer
    decode become U+FFFD, and ``sha256`` (a hashlib object) is fed every byte read, so the
    caller can record the hash of exactly the text it indexed.

    Args:
        source: The scanned file.
        sha256: A fresh ``hashlib.sha256()`` to update with the bytes read.
        block_chars: Preferred block size in characters; a paragraph longer than four
            blocks is cut at a line break, or else at the block size.

    Yields:
        Consecutive pieces of the text; joined, they are the whole text.
    """
    decoder = _decoder(source.encoding, errors="replace")
    pending = ""
    for block in _read(source.path):
        sha256.update(block)
        pending += decoder.decode(block)
        while len(pending) >= block_chars:
            cut = _cut(pending, block_chars)
            yield pending[:cut]
            pending = pending[cut:]
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def _cut(text: str, block_chars: int) -> int:
    """Where to end a block of ``text``: after its last paragraph break, if any is close."""
    window = text[: 4 * block_chars]
    last = None
    for last in _PARAGRAPH_END.finditer(window):  # noqa: B007 - we want the last one
        pass
    if last is not None:
        return last.end()
    newline = window.rfind("\n")
    return newline + 1 if newline >= 0 else min(len(text), 4 * block_chars)


def _decoder(encoding: str, errors: str = "strict") -> codecs.IncrementalDecoder:
    return codecs.getincrementaldecoder(encoding)(errors=errors)
