"""Building and updating an index folder incrementally.

Unchanged files (same bytes, same chunking, same model) keep their passages and vectors;
only new and changed files are chunked and embedded; deleted files are dropped. The
result is published as a new generation (see ``vectorstore.store``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from vectorstore.chunking import chunk_text
from vectorstore.dense import DenseKind, create_dense
from vectorstore.embedding import DEFAULT_MODEL, get_embedder
from vectorstore.errors import REBUILD_HINT, IndexMismatchError, SourceError
from vectorstore.lexical import LexicalIndex, tokenize
from vectorstore.sources import SkippedFile, decode_article, discover, read_bytes
from vectorstore.store import (
    DENSE,
    DOCUMENTS,
    PASSAGE_DTYPE,
    PASSAGES,
    VECTORS,
    IndexDir,
    Manifest,
    Snapshot,
    SourceRecord,
)

__all__ = ["BuildReport", "BuildSettings", "build_index"]

log = logging.getLogger("qa")


@dataclass(frozen=True)
class BuildSettings:
    """How passages are made and embedded; recorded in the manifest.

    Attributes:
        model: Embedding model (a packaged model name, folder, or cached model name).
        chunk_size: Maximum passage length in characters.
        chunk_overlap: Overlap between pieces of one over-long paragraph.
        dense_kind: The dense index backend.
    """

    model: str = DEFAULT_MODEL
    chunk_size: int = 1000
    chunk_overlap: int = 100
    dense_kind: DenseKind = DenseKind.FLAT


@dataclass(frozen=True)
class BuildReport:
    """What a build did.

    Attributes:
        added: Sources indexed for the first time.
        changed: Sources whose content changed and were re-embedded.
        removed: Sources dropped because their files are gone.
        unchanged: Sources kept without re-embedding.
        skipped: (file, reason) for files that could not be indexed.
        embedded: Number of passages embedded.
        seconds: Wall time of the build.
        published: Whether a new generation was published (False when nothing changed).
    """

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    embedded: int = 0
    seconds: float = 0.0
    published: bool = False


@dataclass
class _Planned:
    """An article in the new generation: reused from the old one, or new text."""

    name: str
    sha256: str
    encoding: str
    reuse: SourceRecord | None = None
    text: str = ""
    chunks: list = field(default_factory=list)


def _open_previous(index_dir: IndexDir, settings: BuildSettings, rebuild: bool) -> Snapshot | None:
    if rebuild or not index_dir.exists():
        return None
    old = index_dir.open()
    if old.manifest.model != settings.model:
        raise IndexMismatchError(
            f"the index at {index_dir.path} was built with model {old.manifest.model!r}, "
            f"not {settings.model!r}; "
            + REBUILD_HINT.format(index_dir=index_dir.path)
            + f" --model {settings.model}"
        )
    return old


def _plan(
    files: dict[str, Path], old: Snapshot | None, settings: BuildSettings
) -> tuple[list[_Planned], list[tuple[str, str]]]:
    same_chunking = old is not None and (old.manifest.chunk_size, old.manifest.chunk_overlap) == (
        settings.chunk_size,
        settings.chunk_overlap,
    )
    planned, skipped = [], []
    for name, path in tqdm(files.items(), desc="reading", unit="file", disable=len(files) < 200):
        try:
            data, sha256 = read_bytes(name, path)
            record = old.source_record(name) if old else None
            if record is not None and same_chunking and record.sha256 == sha256:
                planned.append(_Planned(name, sha256, record.encoding, reuse=record))
                continue
            article = decode_article(name, data, sha256)
        except SkippedFile as exc:
            log.warning("skipped %s", exc)
            skipped.append((name, str(exc)))
            continue
        chunks = chunk_text(article.text, settings.chunk_size, settings.chunk_overlap)
        planned.append(_Planned(name, sha256, article.encoding, text=article.text, chunks=chunks))
    return planned, skipped


def _embed_new(planned: list[_Planned], settings: BuildSettings, progress: bool) -> np.ndarray:
    texts = [p.text[c.start : c.end] for p in planned if p.reuse is None for c in p.chunks]
    embedder = get_embedder(settings.model)
    if progress and texts:
        log.info("embedding %d passages with %s", len(texts), settings.model)
    return embedder.encode_passages(texts, progress=progress)


def _passage_terms(planned: list[_Planned], old: Snapshot | None) -> list[list[str]]:
    """Returns every passage's index terms: stored ones for reused files, new ones else."""
    terms: list[list[str]] = []
    for p in planned:
        if p.reuse is not None:
            assert old is not None
            first = p.reuse.first_passage
            terms.extend(old.lexical.passage_terms(first, first + p.reuse.passage_count))
        else:
            terms.extend(tokenize(p.text[c.start : c.end]) for c in p.chunks)
    return terms


def _write_generation(
    tmp: Path, planned: list[_Planned], new_vectors: np.ndarray, old: Snapshot | None, dim: int
) -> tuple[list[SourceRecord], int]:
    total = sum(p.reuse.passage_count if p.reuse else len(p.chunks) for p in planned)
    passages = np.zeros(total, dtype=PASSAGE_DTYPE)
    vectors = np.lib.format.open_memmap(
        tmp / VECTORS, mode="w+", dtype=np.float32, shape=(total, dim)
    )
    records: list[SourceRecord] = []
    row = new_row = offset = 0
    with open(tmp / DOCUMENTS, "wb") as docs:
        for source_id, p in enumerate(planned):
            if p.reuse is not None:
                r = p.reuse
                assert old is not None
                data = old.document_bytes(r)
                n = r.passage_count
                src = old.passages[r.first_passage : r.first_passage + n]
                rows = passages[row : row + n]
                rows["line_start"], rows["line_end"] = src["line_start"], src["line_end"]
                rows["byte_start"] = src["byte_start"] - r.byte_start + offset
                rows["byte_end"] = src["byte_end"] - r.byte_start + offset
                vectors[row : row + n] = old.vectors[r.first_passage : r.first_passage + n]
            else:
                data = p.text.encode("utf-8")
                n = len(p.chunks)
                rows = passages[row : row + n]
                byte_pos, char_pos = offset, 0
                for i, c in enumerate(p.chunks):
                    byte_pos += len(p.text[char_pos : c.start].encode("utf-8"))
                    char_pos = c.start
                    rows[i] = (
                        source_id,
                        c.line_start,
                        c.line_end,
                        byte_pos,
                        byte_pos + len(p.text[c.start : c.end].encode("utf-8")),
                    )
                vectors[row : row + n] = new_vectors[new_row : new_row + n]
                new_row += n
            rows["source"] = source_id
            docs.write(data)
            records.append(
                SourceRecord(p.name, p.sha256, p.encoding, offset, offset + len(data), row, n)
            )
            row += n
            offset += len(data)
    vectors.flush()
    np.save(tmp / PASSAGES, passages, allow_pickle=False)
    return records, total


def build_index(
    index_dir: str | os.PathLike[str],
    roots: Sequence[str] = (),
    settings: BuildSettings | None = None,
    *,
    rebuild: bool = False,
    progress: bool = False,
) -> BuildReport:
    """Builds the index, or brings it up to date with the files under its corpus paths.

    The corpus is ``roots`` plus the paths the index already covers (unless
    ``rebuild``). A recorded path that no longer exists is dropped with a warning.

    Args:
        index_dir: The index folder.
        roots: Corpus paths (files or folders) to add.
        settings: Model and chunking; defaults to ``BuildSettings()``.
        rebuild: Ignore the existing index (even a damaged one) and embed everything.
        progress: Show progress bars.

    Returns:
        What changed.

    Raises:
        SourceError: If a given path does not exist or no article can be indexed.
        IndexMismatchError: If the existing index uses another model (without rebuild).
        IndexLockedError: If another process is writing the index.
    """
    settings = settings or BuildSettings()
    started = time.perf_counter()
    index = IndexDir(index_dir)
    given = [str(r) for r in roots]
    for root in given:
        if not os.path.exists(root):
            raise SourceError(f"corpus path does not exist: {root}")
    with index.lock():
        old = _open_previous(index, settings, rebuild)
        recorded = [r for r in (old.manifest.roots if old else ()) if r not in given]
        for root in recorded:
            if not os.path.exists(root):
                log.warning("corpus path %s is gone; dropping its files from the index", root)
        all_roots = tuple(given + [r for r in recorded if os.path.exists(r)])
        if not all_roots:
            raise SourceError("no corpus path given: name the files or folders to index")
        files = discover(all_roots)
        planned, skipped = _plan(files, old, settings)
        if not planned:
            raise SourceError(f"no articles to index under {', '.join(all_roots)}")
        old_names = set(old.source_names) if old else set()
        new_names = {p.name for p in planned}
        report = BuildReport(
            added=tuple(p.name for p in planned if p.name not in old_names),
            changed=tuple(p.name for p in planned if p.name in old_names and p.reuse is None),
            removed=tuple(sorted(old_names - new_names)),
            unchanged=tuple(p.name for p in planned if p.reuse is not None),
            skipped=tuple(skipped),
        )
        if (
            old is not None
            and not (report.added or report.changed or report.removed)
            and (set(all_roots) == set(old.manifest.roots))
        ):
            return _finish(report, started, published=False)
        new_vectors = _embed_new(planned, settings, progress)
        dim = get_embedder(settings.model).dim
        tmp = index.new_generation()
        records, total = _write_generation(tmp, planned, new_vectors, old, dim)
        dense = create_dense(settings.dense_kind, dim)
        dense.add(np.load(tmp / VECTORS, mmap_mode="r"))
        dense.save(tmp / DENSE)
        LexicalIndex.build(_passage_terms(planned, old)).save(tmp)
        manifest = Manifest(
            model=settings.model,
            dim=dim,
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
            dense_kind=settings.dense_kind,
            roots=all_roots,
            sources=tuple(records),
            passage_count=total,
        )
        index.publish(tmp, manifest)
        return _finish(replace(report, embedded=len(new_vectors)), started, published=True)


def _finish(report: BuildReport, started: float, *, published: bool) -> BuildReport:
    return replace(report, seconds=time.perf_counter() - started, published=published)
