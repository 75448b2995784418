"""The public retrieval API: build or load an index, and search it."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.fusion import Fusion, SearchMode, fuse
from qa.highlight import best_sentence
from qa.passage import Passage
from vectorstore import (
    DEFAULT_MODEL,
    BuildReport,
    BuildSettings,
    IndexDir,
    IndexMismatchError,
    Snapshot,
    build_index,
    get_embedder,
)
from vectorstore.lexical import tokenize

__all__ = ["DEFAULT_INDEX_DIR", "MAX_QUESTION_CHARS", "Index", "default_corpus", "retrieve"]

DEFAULT_INDEX_DIR = ".qa-index"
# Embedding models read about 512 tokens (some 2,000 characters); longer questions cost
# seconds to embed and would be cut anyway.
MAX_QUESTION_CHARS = 2000
_MAX_K = 1000


def _default_model() -> str:
    return os.environ.get("QA_MODEL", DEFAULT_MODEL)


def default_corpus() -> str:
    """The corpus ``retrieve`` indexes on first use: ``$QA_CORPUS``, else ``seeds``.

    ``seeds`` is taken from the working directory when it has one, else from the
    repository this package lives in.
    """
    if "QA_CORPUS" in os.environ:
        return os.environ["QA_CORPUS"]
    if Path("seeds").is_dir():
        return "seeds"
    return str(Path(__file__).resolve().parent.parent / "seeds")


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Returns the rows of the ``n`` highest positive scores, best first."""
    n = min(n, int(np.count_nonzero(scores > 0)))
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.argpartition(-scores, n - 1)[:n]
    return rows[np.argsort(-scores[rows], kind="stable")]


def _check_question(question: object) -> str:
    if not isinstance(question, str):
        raise ValueError(f"the question must be a string, not {type(question).__name__}")
    if not question.strip():
        raise ValueError("the question is empty: ask something, e.g. 'Wer hat die Wahl gewonnen?'")
    if len(question) > MAX_QUESTION_CHARS:
        raise ValueError(
            f"the question is too long ({len(question):,} characters; "
            f"at most {MAX_QUESTION_CHARS:,}): ask about one thing"
        )
    return question


def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int):
        raise ValueError(f"k must be a whole number, not {k!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    return min(k, _MAX_K)


class Index:
    """A searchable index of passages with their citations.

    Open one with ``Index.load`` or make one with ``Index.build``; any number of
    processes may read one index folder while one process updates it.
    """

    def __init__(
        self, index_dir: IndexDir, snapshot: Snapshot, report: BuildReport | None = None
    ) -> None:
        self._dir = index_dir
        self._snapshot = snapshot
        self.build_report = report
        self.fusion = Fusion()

    @classmethod
    def build(
        cls,
        paths: Sequence[str | os.PathLike[str]],
        index_dir: str | os.PathLike[str] = DEFAULT_INDEX_DIR,
        *,
        model: str | None = None,
        chunk_size: int = 1000,
        chunk_overlap: int = 100,
        rebuild: bool = False,
        progress: bool = False,
    ) -> Index:
        """Builds an index over files and folders, or updates it in place.

        Only new and changed files are embedded; files that are gone are dropped.
        The folders already in the index are rescanned too.

        Args:
            paths: Article files and folders (``.txt`` files are taken from folders).
                Sources are cited by these paths as given.
            index_dir: The index folder.
            model: Embedding model; default ``$QA_MODEL`` or the packaged MiniLM.
            chunk_size: Maximum passage length in characters.
            chunk_overlap: Overlap between pieces of a paragraph longer than chunk_size.
            rebuild: Start from scratch, ignoring (and replacing) the existing index.
            progress: Show progress bars.

        Returns:
            The index; ``build_report`` says what changed.

        Raises:
            QAError: A subclass naming the problem (missing path, model mismatch,
                locked index, nothing to index).
            ValueError: If the chunk sizes are out of range.
        """
        settings = BuildSettings(
            model=model or _default_model(), chunk_size=chunk_size, chunk_overlap=chunk_overlap
        )
        if chunk_size < 1 or not 0 <= chunk_overlap < chunk_size:
            raise ValueError(
                f"need chunk_size >= 1 and 0 <= chunk_overlap < chunk_size, "
                f"not {chunk_size} and {chunk_overlap}"
            )
        report = build_index(
            index_dir, [os.fspath(p) for p in paths], settings, rebuild=rebuild, progress=progress
        )
        index = cls.load(index_dir)
        index.build_report = report
        return index

    @classmethod
    def load(
        cls, index_dir: str | os.PathLike[str] = DEFAULT_INDEX_DIR, *, model: str | None = None
    ) -> Index:
        """Opens an index folder.

        Args:
            index_dir: The index folder.
            model: If given, the model the caller expects; a different one is an error.

        Raises:
            IndexNotFoundError: If there is no index there.
            IndexMismatchError: If it was built with another model or format version.
            IndexCorruptError: If a file is damaged.
        """
        directory = IndexDir(index_dir)
        snapshot = directory.open()
        if model is not None and model != snapshot.manifest.model:
            raise IndexMismatchError(
                f"the index at {index_dir} was built with model {snapshot.manifest.model!r}, "
                f"not {model!r}; rebuild it with "
                f"`qa index PATH --rebuild --index {index_dir} --model {model}`"
            )
        return cls(directory, snapshot)

    @property
    def path(self) -> Path:
        """The index folder."""
        return self._dir.path

    @property
    def model(self) -> str:
        """The embedding model the index was built with."""
        return self._snapshot.manifest.model

    @property
    def sources(self) -> tuple[str, ...]:
        """The indexed source names, sorted."""
        return self._snapshot.source_names

    def __len__(self) -> int:
        """Number of passages."""
        return self._snapshot.manifest.passage_count

    def source_text(self, source: str) -> str:
        """Returns the full text of an indexed article.

        Raises:
            KeyError: If ``source`` is not in the index (nothing else is ever read).
        """
        try:
            return self._snapshot.source_text(source)
        except KeyError:
            raise KeyError(f"{source!r} is not an indexed source") from None

    def warm_up(self) -> None:
        """Loads the embedding model and asks one question, so that the next one is fast."""
        self.search("warm-up", k=1)

    def search(
        self, question: str, k: int = 5, *, mode: SearchMode = SearchMode.HYBRID
    ) -> list[Passage]:
        """Returns the ``k`` passages that best answer ``question``, best first.

        Args:
            question: The question, in any language.
            k: Number of passages.
            mode: Hybrid (default), or one signal alone.

        Raises:
            ValueError: If the question is empty or longer than ``MAX_QUESTION_CHARS``,
                or ``k`` < 1.
        """
        return self.batch_search([question], k, mode=mode)[0]

    def batch_search(
        self, questions: Sequence[str], k: int = 5, *, mode: SearchMode = SearchMode.HYBRID
    ) -> list[list[Passage]]:
        """Answers several questions at once (one embedding batch); see ``search``.

        Raises:
            ValueError: If a question is empty or ``k`` < 1.
        """
        questions = [_check_question(q) for q in questions]
        k = _check_k(k)
        mode = SearchMode(mode)
        if not questions:
            return []
        snapshot = self._snapshot
        n = min(max(k, self.fusion.candidates), len(self))
        if mode is not SearchMode.LEXICAL:
            vectors = get_embedder(snapshot.manifest.model).encode_queries(questions)
            _, dense_rows = snapshot.dense.search(vectors, n)
        results = []
        for i, question in enumerate(questions):
            terms = tokenize(question)
            if mode is SearchMode.LEXICAL:
                lexical = snapshot.lexical.scores(terms)
                rows = _top(lexical, k)
                scores = lexical[rows]
            else:
                rows = dense_rows[i][dense_rows[i] >= 0]
                if mode is SearchMode.HYBRID:
                    lexical = snapshot.lexical.scores(terms)
                    rows = np.union1d(rows, _top(lexical, n))
                # Exact cosines from the stored vectors, whatever index found the rows.
                scores = np.asarray(snapshot.vectors[rows]) @ vectors[i]
                if mode is SearchMode.HYBRID:
                    scores = fuse(scores, lexical[rows], self.fusion)
                order = np.argsort(-scores, kind="stable")[:k]
                rows, scores = rows[order], scores[order]
            weights = snapshot.lexical.idf(set(terms))
            results.append(
                [
                    self._passage(question, weights, int(r), float(s))
                    for r, s in zip(rows, scores, strict=True)
                ]
            )
        return results

    def _passage(self, question: str, weights: dict[str, float], row: int, score: float) -> Passage:
        snapshot = self._snapshot
        p = snapshot.passages[row]
        text = snapshot.passage_text(row)
        return Passage(
            source=snapshot.source_names[int(p["source"])],
            line_start=int(p["line_start"]),
            line_end=int(p["line_end"]),
            text=text,
            score=score,
            highlight_span=best_sentence(question, weights, text),
        )


_default: dict[str, Index] = {}
_default_lock = threading.Lock()


def retrieve(
    question: str, k: int = 5, *, index_dir: str | os.PathLike[str] | None = None
) -> list[Passage]:
    """Searches the default index, building it over ``default_corpus()`` on first use.

    Args:
        question: The question.
        k: Number of passages.
        index_dir: The index folder; default ``$QA_INDEX`` or ``.qa-index``.

    Returns:
        The best passages, best first.
    """
    _check_question(question)
    _check_k(k)
    directory = os.fspath(index_dir or os.environ.get("QA_INDEX", DEFAULT_INDEX_DIR))
    with _default_lock:
        if directory not in _default:
            if IndexDir(directory).exists():
                _default[directory] = Index.load(directory)
            else:
                _default[directory] = Index.build([default_corpus()], directory)
        index = _default[directory]
    return index.search(question, k)
