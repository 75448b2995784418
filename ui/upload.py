"""Adding articles from the web UI: safe file names, a folder of uploads, the served index.

``qa serve --allow-upload DIR`` saves uploaded articles in ``DIR`` and indexes them into
the index it serves (``Index.update([DIR])``). A file is accepted only if

- its name, once sanitised (:func:`safe_name`), ends in a supported suffix;
- it is at most the size limit;
- its content is what its suffix says and can be read: the same checks the index build
  makes (``qa.check_article``), run on a hidden copy inside ``DIR`` that no build reads;
- and the build then indexes it.

A file refused at any step does not stay in ``DIR``. An accepted one gets a name of its
own there: an existing file is never overwritten (``name (2).html``, ``name (3).html`` …,
claimed with ``link``, which fails rather than replace anything). Uploads are serialised
with a lock, and never touch anything outside ``DIR``.

This module does not import gradio; :mod:`ui.app` wires it into the page.
"""

from __future__ import annotations

import enum
import logging
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import qa

__all__ = [
    "ALLOWED_SUFFIXES",
    "DEFAULT_MAX_UPLOAD_MB",
    "MAX_NAME_BYTES",
    "Outcome",
    "Refusal",
    "Uploads",
    "safe_name",
]

_log = logging.getLogger("qa")

ALLOWED_SUFFIXES = qa.ARTICLE_SUFFIXES  # .txt .md .markdown .html .htm .pdf
DEFAULT_MAX_UPLOAD_MB = 20
MAX_NAME_BYTES = 120  # a saved name's UTF-8 length, leaving room for " (n)" in 255 bytes
_FALLBACK_NAME = "upload"
_MAX_COPIES = 1000  # "name (1000).html" is the last name tried
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}$")
# Kept in names: letters and digits of any script (umlauts too), "_", space, "-", "–",
# ".", parentheses and comma. Anything else (separators, quotes, glob and shell
# characters) becomes "_".
_UNSAFE = re.compile(r"[^\w .,()–-]")


def safe_name(name: str) -> str:
    """Returns a file name that is safe to create in the upload folder.

    Only the last path component is kept (a slash or a backslash separates), runs of white
    space become one space, control and format characters (bidirectional overrides too)
    are dropped, characters outside a safe set become ``_``, and leading dots, spaces and
    dashes go (no hidden files, no options); the suffix is lower-cased, and the name is cut
    to ``MAX_NAME_BYTES`` bytes of UTF-8. An empty result becomes ``upload``.

    Args:
        name: The name the browser sent, untrusted.

    Returns:
        A non-empty name without path separators that is neither ``.`` nor ``..``.
    """
    name = re.split(r"[/\\]", unicodedata.normalize("NFC", name))[-1]
    name = "".join(c for c in name if c.isspace() or unicodedata.category(c)[0] != "C")
    name = _UNSAFE.sub("_", " ".join(name.split()))
    name = name.lstrip(". -").rstrip(". ")
    match = _SUFFIX.search(name)
    suffix = match.group().lower() if match and match.start() > 0 else ""
    stem = name[: len(name) - len(suffix)] if suffix else name
    while stem and len((stem + suffix).encode()) > MAX_NAME_BYTES:
        stem = stem[:-1]
    stem = stem.rstrip(". ")
    return (stem or _FALLBACK_NAME) + suffix


class Refusal(enum.StrEnum):
    """Why a file was not added."""

    TYPE = "type"  # its suffix is not an article format
    TOO_LARGE = "too_large"  # larger than the limit
    CONTENT = "content"  # not what its suffix says, or unreadable (the detail says why)
    LOCKED = "locked"  # another process is writing the index
    FAILED = "failed"  # saving or indexing failed (the detail says why)


@dataclass(frozen=True)
class Outcome:
    """What became of one uploaded file.

    Attributes:
        name: The file's name, sanitised: the name it was saved under if added.
        source: The source name it is cited by; None if refused.
        info: What the index knows of it (title, date, passages); None if refused.
        refusal: Why it was refused; None if added.
        detail: qa's message for a refusal (``CONTENT``, ``LOCKED``, ``FAILED``), or
            the file's size in bytes for ``TOO_LARGE``.
    """

    name: str
    source: str | None = None
    info: qa.SourceInfo | None = None
    refusal: Refusal | None = None
    detail: str = ""


class Uploads:
    """Saves uploaded articles in one folder and indexes them into a served index.

    Args:
        index: The served index; ``update`` adds the folder's new files to it.
        folder: The upload folder, as the user named it (its files are cited under this
            name, as ``qa index`` cites a folder's files); created if missing.
        max_bytes: The largest file accepted.

    Raises:
        ValueError: If ``max_bytes`` is not positive.
    """

    def __init__(self, index: qa.Index, folder: str | os.PathLike[str], max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError(f"the upload size limit must be positive, not {max_bytes}")
        self.index = index
        self.folder = os.fspath(folder)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def add(self, files: Sequence[tuple[str | os.PathLike[str], str]]) -> list[Outcome]:
        """Checks, saves and indexes uploaded files; one call at a time.

        Args:
            files: Each file's current path (a temporary copy, only read) and the name it
                was uploaded under (untrusted).

        Returns:
            One outcome per file, in order.
        """
        with self._lock:
            try:
                Path(self.folder).mkdir(parents=True, exist_ok=True)
                folder = Path(self.folder).resolve(strict=True)
            except OSError as exc:
                detail = f"cannot create the upload folder {self.folder}: {exc}"
                return [
                    Outcome(safe_name(name), refusal=Refusal.FAILED, detail=detail)
                    for _, name in files
                ]
            outcomes = [self._save(Path(path), safe_name(name), folder) for path, name in files]
            if any(outcome.refusal is None for outcome in outcomes):
                outcomes = self._index(outcomes, folder)
        for outcome in outcomes:
            if outcome.refusal is None:
                _log.info("added upload %s (%d passages)", outcome.source, outcome.info.passages)
            else:
                _log.info("refused upload %s: %s %s", outcome.name, outcome.refusal, outcome.detail)
        return outcomes

    def _save(self, path: Path, name: str, folder: Path) -> Outcome:
        """Checks one file and saves it in ``folder``, under ``name`` or a free variant."""
        suffix = Path(name).suffix
        if suffix not in ALLOWED_SUFFIXES:
            return Outcome(name, refusal=Refusal.TYPE)
        copy = None
        try:
            size = os.stat(path).st_size
            if size > self.max_bytes:
                return Outcome(name, refusal=Refusal.TOO_LARGE, detail=str(size))
            # A hidden copy with the suffix: builds skip hidden files, checks see the format.
            fd, temporary = tempfile.mkstemp(prefix=".upload-", suffix=suffix, dir=folder)
            copy = Path(temporary)
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                shutil.copyfileobj(src, out)
            problem = _unreadable(name, copy)
            if problem:
                return Outcome(name, refusal=Refusal.CONTENT, detail=problem)
            return Outcome(_claim(copy, name, folder).name)
        except OSError as exc:
            return Outcome(name, refusal=Refusal.FAILED, detail=f"{name}: {exc}")
        finally:
            if copy is not None:
                copy.unlink(missing_ok=True)

    def _index(self, outcomes: list[Outcome], folder: Path) -> list[Outcome]:
        """Indexes the folder; returns the outcomes with what the build made of each file.

        A saved file that the build did not index is removed again, as are all of them
        when the build fails.
        """
        skipped: dict[str, str] = {}
        failure: tuple[Refusal, str] | None = None
        try:
            skipped = dict(self.index.update([self.folder]).skipped)
        except qa.IndexLockedError as exc:
            failure = (Refusal.LOCKED, str(exc))
        except (qa.QAError, OSError) as exc:
            failure = (Refusal.FAILED, str(exc) or type(exc).__name__)
        # Cited as `qa index` cites a folder's files: the folder as named, then the file.
        root = Path(self.folder).as_posix().rstrip("/")
        done = []
        for outcome in outcomes:
            source = f"{root}/{outcome.name}"
            if outcome.refusal is not None:
                done.append(outcome)
            elif failure is None and source in self.index.sources:
                done.append(Outcome(outcome.name, source, self.index.source_info(source)))
            else:
                (folder / outcome.name).unlink(missing_ok=True)
                refusal, detail = failure or (
                    Refusal.CONTENT,
                    skipped.get(source, f"{source}: the index build left it out"),
                )
                done.append(Outcome(outcome.name, refusal=refusal, detail=detail))
        return done


def _unreadable(name: str, path: Path) -> str | None:
    """Why the index build would skip the file, in its words; None if it would not."""
    try:
        qa.check_article(path, name)
    except qa.SourceError as exc:
        return str(exc)
    return None


def _claim(copy: Path, name: str, folder: Path) -> Path:
    """Links ``copy`` as ``folder/name``, or ``name (2)`` … if that is taken; returns it.

    ``link`` creates a name only if nothing (no file, folder or symlink) has it yet, so
    nothing is ever overwritten, even by another process.

    Raises:
        FileExistsError: If all ``_MAX_COPIES`` names are taken.
    """
    suffix = Path(name).suffix
    stem = name[: -len(suffix)]
    for number in range(1, _MAX_COPIES + 1):
        candidate = folder / (name if number == 1 else f"{stem} ({number}){suffix}")
        if candidate.parent != folder:  # a safe name never leaves the folder; make sure
            raise OSError(f"{candidate.name!r} would not be inside {folder}")
        try:
            os.link(copy, candidate, follow_symlinks=False)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"{folder} holds {_MAX_COPIES} files named like {name}")
