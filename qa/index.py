"""The public retrieval API: build or load an index, and search it."""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np

from qa.answer_type import AnswerType, answer_type, holds
from qa.conversation import CONTEXT_TURNS, check_history, dependence
from qa.expansion import Expansion, Expansions, Origin, expand, prepare, term_weights
from qa.fusion import Fusion, SearchMode, fuse, unit
from qa.highlight import best_sentence
from qa.passage import Passage, SourceInfo, SourceLine
from qa.query import (
    check_date,
    check_formats,
    check_k,
    check_min_relevance,
    check_question,
    check_sources,
    match_sources,
)
from qa.relevance import (
    BACKGROUND_PASSAGES,
    FEATURES,
    absent_numbers,
    background,
    coverage,
    cross_lingual,
    relevance,
)
from vectorstore import (
    DEFAULT_MODEL,
    BuildReport,
    BuildSettings,
    IndexMismatchError,
    Moments,
    QAError,
    Reader,
    Store,
    build_index,
    get_embedder,
    open_store,
)
from vectorstore.build.builder import Engine
from vectorstore.model.embedding import model_revision
from vectorstore.sources.chunking import PassageKind
from vectorstore.sources.terms import tokenize
from vectorstore.store.base import SourceRecord

__all__ = ["DEFAULT_INDEX_DIR", "Index", "clear_question_cache", "default_corpus", "retrieve"]

DEFAULT_INDEX_DIR = ".qa-index"
# A source filter to at most this many passages scores them all exactly from the stored
# vectors; a larger one lets the approximate index filter while it scans.
_EXACT_SELECTION = 20_000
_log = logging.getLogger("qa")


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
    """Returns the positions of the ``n`` highest scores, best first."""
    n = min(n, len(scores))
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.argpartition(-scores, n - 1)[:n]
    return rows[np.argsort(-scores[rows], kind="stable")]


def _dense_rows(
    snapshot: Reader, vectors: np.ndarray, n: int, selection: np.ndarray | None
) -> np.ndarray:
    """Returns each query's ``n`` nearest rows (-1 for none), among ``selection`` if given.

    A filtered search is exact: it finds the ``n`` nearest selected rows whenever there
    are that many, however few of them the approximate index's probed cells hold.
    """
    if selection is None:
        return snapshot.dense_search(vectors, n)
    if snapshot.dense_exact or len(selection) > _EXACT_SELECTION:
        rows = snapshot.dense_search(vectors, n, selection)
        if snapshot.dense_exact or (rows >= 0).sum(axis=1).min() >= n:
            return rows
    cosines = snapshot.vectors_of(selection) @ vectors.T
    return np.stack([selection[_top(c, n)] for c in cosines.T])


@dataclass(frozen=True)
class _Generation:
    """A loaded generation, with what searches derive from it once.

    A search takes the index's generation once and uses it throughout, so that a
    ``refresh`` during the search never mixes two generations in one answer.

    Attributes:
        snapshot: The generation's files, opened.
        reference: The moments a cosine's z-score is taken against (see ``_spread``).
    """

    snapshot: Reader
    reference: Moments

    @classmethod
    def of(cls, snapshot: Reader) -> _Generation:
        """Returns the generation of an opened snapshot."""
        manifest = snapshot.manifest
        return cls(snapshot, _spread(snapshot, background(manifest.model, manifest.dim)))

    def selection(
        self, sources: Sequence[str] | None, since: str | None, until: str | None
    ) -> np.ndarray | None:
        """Returns the sorted rows of the matching sources, or None for all.

        Args:
            sources: Glob patterns of source names, or None.
            since: Keep sources dated on or after this ``YYYY-MM-DD``, or None.
            until: Keep sources dated on or before this ``YYYY-MM-DD``, or None.

        Raises:
            ValueError: Naming a pattern that matches no indexed source.
        """
        if sources is None and since is None and until is None:
            return None
        records = self.snapshot.manifest.sources
        if sources is not None:
            records = tuple(records[i] for i in match_sources(sources, self.snapshot.source_names))
        if since is not None or until is not None:
            records = tuple(r for r in records if _dated(r.date, since, until))
        runs = [np.arange(r.first_passage, r.first_passage + r.passage_count) for r in records]
        return np.sort(np.concatenate([np.zeros(0, np.int64), *runs])).astype(np.int64)


def _dated(date: str | None, since: str | None, until: str | None) -> bool:
    """Whether an article's date is within the bounds; an undated one never is.

    A date given to the month or year counts as its first day.
    """
    if date is None:
        return False
    day = check_date(date, "date")
    return (since is None or day >= since) and (until is None or day <= until)


def _record(snapshot: Reader, source: str) -> SourceRecord:
    """Returns an indexed source's record.

    Raises:
        KeyError: If ``source`` is not in the index (nothing else is ever read).
    """
    record = snapshot.source_record(source)
    if record is None:
        raise KeyError(f"{source!r} is not an indexed source")
    return record


def _spread(snapshot: Reader, background: Moments | None) -> Moments:
    """Returns the moments a cosine's z-score is taken against.

    The corpus's own, shrunk toward the background's as a prior worth
    ``BACKGROUND_PASSAGES`` passages: a small corpus on one subject leans on it.
    """
    if background is None:
        return snapshot.moments
    weight = BACKGROUND_PASSAGES / (snapshot.manifest.passage_count + BACKGROUND_PASSAGES)
    return snapshot.moments.blend(background, weight)


# How much of the previous question a dependent one takes (dependence 1): its vector,
# added to the question's before normalising, and its terms' BM25 weight. Measured in
# benchmarks/conversations.py.
_CONTEXT_VECTOR = 1.0
_CONTEXT_TERMS = 1.0
_VECTOR_CACHE = 1024  # question vectors kept: a chat's earlier questions are embedded once
_vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_vectors_lock = threading.Lock()


def _question_vectors(model: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """Returns each text's question vector, embedding only those not embedded lately."""
    with _vectors_lock:
        missing = [t for t in dict.fromkeys(texts) if (model, t) not in _vectors]
    fresh = get_embedder(model).encode_queries(missing) if missing else ()
    out = {}
    with _vectors_lock:
        for text, vector in zip(missing, fresh, strict=True):
            _vectors[(model, text)] = vector
        for text in texts:
            out[text] = _vectors[(model, text)]
            _vectors.move_to_end((model, text))
        while len(_vectors) > _VECTOR_CACHE:
            _vectors.popitem(last=False)
    return out


def clear_question_cache() -> None:
    """Forgets the question vectors kept for conversations (benchmarks time cold questions)."""
    with _vectors_lock:
        _vectors.clear()


@dataclass(frozen=True)
class _Query:
    """What is searched for: a question, with what it takes from the conversation.

    Attributes:
        text: The question as asked.
        vector: The question vector, mixed with the previous question's if it depends on it.
        weights: Each of the question's index terms with its weight: how often the
            question holds it, or less for a term carried over from an earlier question.
        expansions: The question's BM25 terms with what the lexical levers add
            (``qa.expansion``).
        lexical: The BM25 weights: ``weights`` and the added terms.
        follows: The previous question's query, if this one depends on it.
        dependence: How strongly it depends on it (0: it stands alone).
    """

    text: str
    vector: np.ndarray
    weights: dict[str, float]
    expansions: tuple[Expansion, ...]
    lexical: dict[str, float]
    follows: _Query | None = None
    dependence: float = 0.0

    @classmethod
    def alone(cls, text: str, vector: np.ndarray, expansion: Expansions) -> _Query:
        """Returns the query for ``text`` asked on its own."""
        expansions = expand(text, expansion)
        weights = {e.term: e.weight for e in expansions if e.origin is Origin.QUESTION}
        return cls(text, vector, weights, expansions, term_weights(expansions))

    @functools.cached_property
    def alternatives(self) -> dict[str, frozenset[str]]:
        """For each of the question's own terms, the terms the levers add for its word."""
        out: dict[str, set[str]] = {}
        for e in self.expansions:
            if e.origin is not Origin.QUESTION:
                for term in tokenize(e.source):
                    out.setdefault(term, set()).add(e.term)
        return {t: frozenset(a) for t, a in out.items()}

    def follow(self, text: str, vector: np.ndarray, expansion: Expansions) -> _Query:
        """Returns the query for ``text`` asked after this one."""
        alone = _Query.alone(text, vector, expansion)
        alpha = dependence(text, {t for t, w in self.weights.items() if w >= 1})
        if alpha == 0:
            return alone
        mixed = vector + alpha * _CONTEXT_VECTOR * self.vector
        weights, lexical = dict(alone.weights), dict(alone.lexical)
        for own, carried in ((weights, self.weights), (lexical, self.lexical)):
            for term, weight in carried.items():
                if term not in own:
                    own[term] = alpha * _CONTEXT_TERMS * min(weight, 1.0)
        vector = mixed / max(float(np.linalg.norm(mixed)), 1e-12)
        return _Query(text, vector, weights, alone.expansions, lexical, self, alpha)


def _queries(
    model: str,
    questions: Sequence[str],
    history: Sequence[str],
    expansion: Expansions | None = None,
) -> list[_Query]:
    """Returns the query for each question, asked after the same ``history``.

    ``expansion``: the lexical levers (default: ``Expansions()``).
    """
    expansion = expansion or Expansions()
    context = list(history[-CONTEXT_TURNS:])
    vectors = _question_vectors(model, [*context, *questions])
    previous = None
    for text in context:
        previous = (
            previous.follow(text, vectors[text], expansion)
            if previous
            else _Query.alone(text, vectors[text], expansion)
        )
    if previous is None:
        return [_Query.alone(q, vectors[q], expansion) for q in questions]
    return [previous.follow(q, vectors[q], expansion) for q in questions]


class Index:
    """A searchable index of passages with their citations.

    Open one with ``Index.load`` or make one with ``Index.build``; any number of
    processes may read one index folder while one process updates it. A loaded index
    answers from the generation it loaded until ``refresh`` (or ``follow``) loads a newer
    one; searches are safe from any number of threads meanwhile.

    Attributes:
        fusion: How hybrid search weighs its signals (``qa.Fusion``).
        expansion: What lexical knowledge adds to a question's BM25 terms
            (``qa.Expansions``; ``explain`` shows the terms).
    """

    def __init__(self, store: Store, snapshot: Reader, report: BuildReport | None = None) -> None:
        self._store = store
        self._generation = _Generation.of(snapshot)
        self._refresh_lock = threading.Lock()
        self.build_report = report
        self.fusion = Fusion()
        self.expansion = Expansions()

    @property
    def _snapshot(self) -> Reader:
        """The loaded generation's files (benchmarks read them)."""
        return self._generation.snapshot

    @classmethod
    def build(
        cls,
        paths: Sequence[str | os.PathLike[str]],
        index_dir: str | os.PathLike[str] = DEFAULT_INDEX_DIR,
        *,
        model: str | None = None,
        chunk_size: int = 1000,
        chunk_overlap: int = 100,
        formats: Sequence[str] | None = None,
        rebuild: bool = False,
        progress: bool = False,
        engine: Engine | str = Engine.LOCAL,
        ray_address: str | None = None,
    ) -> Index:
        """Builds an index over files and folders, or updates it in place.

        Only new and changed files are embedded; files that are gone are dropped.
        The folders already in the index are rescanned too. Both engines build the same
        index.

        Args:
            paths: Article files and folders. Folders are searched for ``.txt``, ``.md``,
                ``.markdown``, ``.html``, ``.htm`` and ``.pdf`` files; a file named on
                its own is read by its suffix (as text if the suffix is none of those).
                Sources are cited by these paths as given.
            index_dir: The index folder.
            model: Embedding model; default ``$QA_MODEL`` or the packaged MiniLM.
            chunk_size: Maximum passage length in characters.
            chunk_overlap: Overlap between pieces of a paragraph longer than chunk_size.
            formats: Take only these formats from folders (``txt``, ``md``, ``html``,
                ``pdf``); default all. Indexed files of other formats are dropped.
            rebuild: Start from scratch, ignoring (and replacing) the existing index.
            progress: Show progress bars.
            engine: ``local`` reads and embeds in this process; ``ray`` on Ray Data (the
                extra ``qa[ray]``, see ``vectorstore.build.ray``).
            ray_address: For ``ray``: the cluster to join, ``auto`` or ``HOST:PORT`` (run
                on a node of it); default ``$RAY_ADDRESS``, else a local Ray instance is
                started for the build and stopped after it.

        Returns:
            The index; ``build_report`` says what changed.

        Raises:
            QAError: A subclass naming the problem (missing path, model mismatch,
                locked index, nothing to index, Ray not installed).
            ValueError: If the chunk sizes are out of range, or a format or the engine is
                unknown.
        """
        settings = BuildSettings(
            model=model or _default_model(),
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            formats=check_formats(formats),
        )
        if chunk_size < 1 or not 0 <= chunk_overlap < chunk_size:
            raise ValueError(
                f"need chunk_size >= 1 and 0 <= chunk_overlap < chunk_size, "
                f"not {chunk_size} and {chunk_overlap}"
            )
        report = build_index(
            index_dir,
            [os.fspath(p) for p in paths],
            settings,
            rebuild=rebuild,
            progress=progress,
            engine=engine,
            ray_address=ray_address,
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
        store = open_store(index_dir)
        snapshot = store.open()
        if model is not None and model != snapshot.manifest.model:
            raise IndexMismatchError(
                f"the index at {index_dir} was built with model {snapshot.manifest.model!r}, "
                f"not {model!r}; rebuild it with "
                f"`qa index PATH --rebuild --index {index_dir} --model {model}`"
            )
        manifest = snapshot.manifest
        if manifest.model_revision != model_revision(manifest.model):
            _log.warning(
                "the index at %s was embedded by another version of %s (%s, not %s): its "
                "vectors differ slightly from the questions'; the next `qa index` re-embeds it",
                index_dir,
                manifest.model,
                manifest.model_revision or "unrecorded",
                model_revision(manifest.model),
            )
        return cls(store, snapshot)

    @property
    def path(self) -> Path:
        """The index location, as a path (a local folder's path)."""
        return Path(self._store.location)

    @property
    def location(self) -> str:
        """The index location: a folder, or ``milvus:…``."""
        return self._store.location

    @property
    def model(self) -> str:
        """The embedding model the index was built with."""
        return self._snapshot.manifest.model

    @property
    def sources(self) -> tuple[str, ...]:
        """The indexed source names, sorted."""
        return self._snapshot.source_names

    @property
    def generation(self) -> str:
        """The name of the loaded generation (it changes when ``refresh`` loads another)."""
        return self._snapshot.generation

    @property
    def updated(self) -> datetime:
        """When the loaded generation was published (UTC)."""
        return self._snapshot.published

    def update(self, paths: Sequence[str | os.PathLike[str]] = ()) -> BuildReport:
        """Adds files and folders to this index, or rescans its own, and loads the result.

        Like ``build``, with the model, chunking and formats the index was built with, so
        only new and changed files are embedded. Safe while other threads search.

        Args:
            paths: Files and folders to add; the folders already indexed are rescanned.

        Returns:
            What changed.

        Raises:
            QAError: A subclass naming the problem (missing path, locked index, ...).
        """
        manifest = self._snapshot.manifest
        settings = BuildSettings(
            model=manifest.model,
            chunk_size=manifest.chunk_size,
            chunk_overlap=manifest.chunk_overlap,
            formats=manifest.formats,
        )
        report = build_index(self._store.location, [os.fspath(p) for p in paths], settings)
        self.refresh()
        return report

    def refresh(self) -> bool:
        """Loads the newest published generation, if it is newer than the loaded one.

        Searches already under way finish on the generation they started with; the next
        ones use the new one. A generation no search of this process uses any more is
        removed by the next ``qa index`` (or ``Index.build``) that publishes.

        Returns:
            Whether a newer generation was loaded.

        Raises:
            IndexNotFoundError: If the index folder is gone.
            IndexCorruptError: If the new generation is damaged (the loaded one stays).
            IndexMismatchError: If it has another format version (the loaded one stays).
        """
        with self._refresh_lock:
            if self._store.current() == self._snapshot.generation:
                return False
            self._generation = _Generation.of(self._store.open())
            return True

    def follow(self, interval: float = 1.0) -> Callable[[], None]:
        """Calls ``refresh`` every ``interval`` seconds in a background thread.

        A long-running server thus answers from each newly published generation within
        about ``interval`` seconds plus the time to open it. A failed refresh is logged
        and retried; the loaded generation stays in use meanwhile.

        Returns:
            A function that stops following.
        """
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(interval):
                try:
                    if self.refresh():
                        _log.info("loaded %s (%d passages)", self.generation, len(self))
                except QAError as exc:
                    _log.warning("could not load the new index generation: %s", exc)

        threading.Thread(target=run, name="qa-follow", daemon=True).start()
        return stop.set

    def __len__(self) -> int:
        """Number of passages."""
        return self._snapshot.manifest.passage_count

    def passage_count(self, source: str) -> int:
        """Returns the number of passages of an indexed source.

        Raises:
            KeyError: If ``source`` is not in the index.
        """
        return self.source_info(source).passages

    def source_info(self, source: str) -> SourceInfo:
        """Returns what the index knows of an article: format, title, date, passages.

        Raises:
            KeyError: If ``source`` is not in the index.
        """
        record = _record(self._snapshot, source)
        return SourceInfo(
            record.name, record.format, record.title, record.date, record.passage_count
        )

    def source_lines(self, source: str, page: int | None = None) -> list[SourceLine]:
        """Returns an article's readable text line by line, with the lines it cites.

        For ``.txt`` these are the file's lines. For HTML and Markdown each readable line
        carries the lines of the file it stands on (a paragraph of an HTML page may span
        several); for a PDF, its page and its lines in that page's text.

        Args:
            source: An indexed source name.
            page: Only this PDF page's lines.

        Raises:
            KeyError: If ``source`` is not in the index (nothing else is ever read).
        """
        snapshot = self._snapshot
        record = _record(snapshot, source)
        text = snapshot.source_text(source).split("\n")
        line_map = snapshot.line_map(record)
        if line_map is None:
            return [SourceLine(i, i, line) for i, line in enumerate(text, 1)]
        lines = [
            SourceLine(int(m["first"]), int(m["last"]), line, int(m["page"]) or None)
            for line, m in zip(text, line_map, strict=True)
        ]
        return lines if page is None else [line for line in lines if line.page == page]

    def read_lines(
        self, source: str, line_start: int, line_end: int, page: int | None = None
    ) -> str:
        """Returns the readable text of the lines a citation names.

        Raises:
            KeyError: If ``source`` is not in the index.
            ValueError: If the lines are not whole numbers with 1 <= start <= end.
        """
        for value in (line_start, line_end):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"line numbers must be whole numbers, not {value!r}")
        if not 1 <= line_start <= line_end:
            raise ValueError(f"need 1 <= line_start <= line_end, not {line_start} and {line_end}")
        return "\n".join(
            line.text
            for line in self.source_lines(source, page)
            if line.line_start <= line_end and line.line_end >= line_start
        ).strip("\n")

    def source_text(self, source: str) -> str:
        """Returns the full readable text of an indexed article.

        Raises:
            KeyError: If ``source`` is not in the index (nothing else is ever read).
        """
        try:
            return self._snapshot.source_text(source)
        except KeyError:
            raise KeyError(f"{source!r} is not an indexed source") from None

    def warm_up(self) -> None:
        """Loads the embedding model and the lexicon and asks one question: the next is fast."""
        prepare(self.expansion)
        self.search("warm-up", k=1)

    def explain(self, question: str, history: Sequence[str] = ()) -> tuple[Expansion, ...]:
        """Returns the BM25 terms ``search`` uses for ``question``, with weights and origins.

        The question's own terms come first, then what the lexical levers add
        (``self.expansion``; see ``qa.expansion``). The dense side embeds the question as
        asked. Terms carried over from ``history`` are not listed.

        Raises:
            ValueError: If the question or the history is not valid (as ``search``).
        """
        check_question(question)
        check_history(history)
        return expand(question, self.expansion)

    def search(
        self,
        question: str,
        k: int = 5,
        *,
        mode: SearchMode = SearchMode.HYBRID,
        history: Sequence[str] = (),
        min_relevance: float | None = None,
        sources: Sequence[str] | None = None,
        since: str | date | None = None,
        until: str | date | None = None,
    ) -> list[Passage]:
        """Returns the ``k`` passages that best answer ``question``, best first.

        Args:
            question: The question, in any language.
            k: Number of passages.
            mode: Hybrid (default), or one signal alone.
            history: The earlier user questions of the same conversation, oldest first.
                A follow-up ("Und wann war das?") takes context from them; a question
                that stands alone gets exactly the results it gets without history.
            min_relevance: Drop passages whose ``relevance`` is below this (0 to 1);
                ``MIN_RELEVANCE`` is the suggested value. Default: keep all ``k``.
            sources: Search only the sources matching one of these glob patterns
                (``"seeds/003_*"``, ``"archive/2022/**"``: ``*`` stays within a folder,
                ``**`` spans folders). The filter applies before the top ``k``, so it
                returns the ``k`` best matching passages. Default (None or empty): all.
            since: Search only articles dated on or after this day (``YYYY-MM-DD``, or
                a ``datetime.date``; ``YYYY-MM`` and ``YYYY`` mean their first day).
                Articles without a date are left out whenever a date bound is given.
            until: Search only articles dated on or before this day (``YYYY-MM`` and
                ``YYYY`` mean their last day).

        Raises:
            ValueError: If the question is empty or longer than ``MAX_QUESTION_CHARS``,
                ``k`` < 1, ``history`` is not a list of at most ``MAX_HISTORY_TURNS``
                strings of at most ``MAX_QUESTION_CHARS``, ``min_relevance`` is not
                in [0, 1], a ``sources`` pattern matches no indexed source, or a date
                bound is not a date.
        """
        return self.batch_search(
            [question],
            k,
            mode=mode,
            history=history,
            min_relevance=min_relevance,
            sources=sources,
            since=since,
            until=until,
        )[0]

    def batch_search(
        self,
        questions: Sequence[str],
        k: int = 5,
        *,
        mode: SearchMode = SearchMode.HYBRID,
        history: Sequence[str] = (),
        min_relevance: float | None = None,
        sources: Sequence[str] | None = None,
        since: str | date | None = None,
        until: str | date | None = None,
    ) -> list[list[Passage]]:
        """Answers several questions, each asked after the same ``history``; see ``search``.

        Raises:
            ValueError: As ``search``.
        """
        questions = [check_question(q) for q in questions]
        k = check_k(k)
        mode = SearchMode(mode)
        history = check_history(history)
        min_relevance = check_min_relevance(min_relevance)
        generation = self._generation  # one generation for the whole answer
        selection = generation.selection(
            check_sources(sources),
            check_date(since, "since"),
            check_date(until, "until", end=True),
        )
        if not questions:
            return []
        queries = _queries(generation.snapshot.manifest.model, questions, history, self.expansion)
        ranked = self._rank(generation, queries, k, mode, selection)
        return [
            self._passages(generation, query, *rows, min_relevance)
            for query, rows in zip(queries, ranked, strict=True)
        ]

    def _rank(
        self,
        generation: _Generation,
        queries: Sequence[_Query],
        k: int,
        mode: SearchMode,
        selection: np.ndarray | None = None,
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Returns each query's best ``k`` rows, their scores and their exact cosines.

        With a ``selection`` (sorted rows), only those rows are ranked.
        """
        snapshot = generation.snapshot
        size = snapshot.manifest.passage_count if selection is None else len(selection)
        n = min(max(k, self.fusion.candidates), size)
        if n == 0:
            empty = np.zeros(0, dtype=np.int64)
            return [(empty, np.zeros(0), np.zeros(0)) for _ in queries]
        if mode is not SearchMode.LEXICAL:
            dense_rows = _dense_rows(snapshot, np.stack([q.vector for q in queries]), n, selection)
        ranked = []
        for i, query in enumerate(queries):
            if mode is not SearchMode.DENSE:
                top = k if mode is SearchMode.LEXICAL else n
                lexical = snapshot.lexical_search(query.lexical, top, selection)
            if mode is SearchMode.LEXICAL:
                rows = lexical.rows
                scores = lexical.scores(rows)
            else:
                rows = dense_rows[i][dense_rows[i] >= 0]
                if mode is SearchMode.HYBRID:
                    rows = np.union1d(rows, lexical.rows)
                    cited = self._cited_before(generation, query, selection)
                    rows = np.union1d(rows, cited)
            # Exact cosines from the stored vectors, whatever index found the rows.
            cosines = snapshot.vectors_of(rows) @ query.vector
            if mode is not SearchMode.LEXICAL:
                scores = cosines
                if mode is SearchMode.HYBRID:
                    scores = self._hybrid(snapshot, query, rows, cosines, lexical.scores(rows))
                    bonus = self.fusion.source_weight * query.dependence
                    scores = scores + bonus * np.isin(rows, cited)
                order = np.argsort(-scores, kind="stable")[:k]
                rows, scores, cosines = rows[order], scores[order], cosines[order]
            ranked.append((rows, scores, cosines))
        return ranked

    def _cited_before(
        self, generation: _Generation, query: _Query, selection: np.ndarray | None
    ) -> np.ndarray:
        """Returns the rows of the article the previous question's best passage is from.

        Empty unless the question depends on the previous one and ``fusion.source_weight``
        is on; the previous question is ranked as it was asked (with its own history).
        """
        if query.follows is None or not query.dependence or not self.fusion.source_weight:
            return np.zeros(0, dtype=np.int64)
        ((best, _, _),) = self._rank(generation, [query.follows], 1, SearchMode.HYBRID, selection)
        if not len(best):
            return np.zeros(0, dtype=np.int64)
        snapshot = generation.snapshot
        record = snapshot.manifest.sources[int(snapshot.passages["source"][best[0]])]
        rows = np.arange(record.first_passage, record.first_passage + record.passage_count)
        return rows if selection is None else np.intersect1d(rows, selection)

    def _hybrid(
        self,
        snapshot: Reader,
        query: _Query,
        rows: np.ndarray,
        cosines: np.ndarray,
        lexical: np.ndarray,
    ) -> np.ndarray:
        """Returns the hybrid scores of candidate rows (see ``qa.Fusion``)."""
        fusion = self.fusion
        scores = fuse(cosines, lexical, fusion)
        best = [snapshot.sentence_cosines(int(r), query.vector) for r in rows]
        if all(b is not None for b in best):
            sentences = np.array([b.max() for b in best])  # type: ignore[union-attr]
            scores = scores + fusion.sentence_weight * unit(sentences)
        content = snapshot.passages["kind"][rows] == PassageKind.TEXT
        scores = np.where(content, scores, scores * fusion.caption_weight)
        kind = answer_type(query.text)
        if kind is AnswerType.OTHER or fusion.answer_type_weight == 1.0:
            return scores
        fits = np.array([holds(kind, snapshot.passage_text(int(r))) for r in rows])
        return np.where(fits, scores, scores * fusion.answer_type_weight)

    def _features(
        self,
        generation: _Generation,
        query: _Query,
        rows: np.ndarray,
        cosines: np.ndarray,
        texts: Sequence[str],
        background: Moments | None = None,
    ) -> np.ndarray:
        """Returns the relevance evidence (``qa.relevance.FEATURES``) of each row.

        ``texts`` are the rows' passage texts. ``background`` replaces the shipped one (the
        calibration leaves a question's own article out of it).
        """
        snapshot = generation.snapshot
        idf = snapshot.idf(query.weights)
        terms = [snapshot.passage_terms(int(r)) for r in rows]
        reference = generation.reference if background is None else _spread(snapshot, background)
        absent = absent_numbers(query.weights, snapshot.idf)
        return np.column_stack(
            [
                [coverage(idf, query.weights, t, query.alternatives) for t in terms],
                reference.z(query.vector, cosines),
                [cross_lingual(query.text, text) for text in texts],
                np.full(len(rows), absent),
            ]
        ).reshape(-1, len(FEATURES))

    def _passages(
        self,
        generation: _Generation,
        query: _Query,
        rows: np.ndarray,
        scores: np.ndarray,
        cosines: np.ndarray,
        min_relevance: float | None,
    ) -> list[Passage]:
        """Turns ranked rows into passages with relevance and highlight."""
        snapshot = generation.snapshot
        texts = [snapshot.passage_text(int(r)) for r in rows]
        relevances = relevance(self._features(generation, query, rows, cosines, texts))
        # Terms carried over from earlier questions weigh less in the highlight too.
        idf = snapshot.idf(query.weights)
        weights = {t: idf[t] * min(w, 1.0) for t, w in query.weights.items()}
        out = []
        for row, text, score, rel in zip(rows, texts, scores, relevances, strict=True):
            if min_relevance is not None and rel < min_relevance:
                continue
            p = snapshot.passages[int(row)]
            record = snapshot.manifest.sources[int(p["source"])]
            out.append(
                Passage(
                    source=record.name,
                    line_start=int(p["line_start"]),
                    line_end=int(p["line_end"]),
                    text=text,
                    score=float(score),
                    relevance=float(rel),
                    highlight_span=best_sentence(
                        query.text, weights, text, snapshot.sentence_cosines(int(row), query.vector)
                    ),
                    page=int(p["page"]) or None,
                    title=record.title,
                    date=record.date,
                )
            )
        return out


_default: dict[str, Index] = {}
_default_lock = threading.Lock()


def retrieve(
    question: str,
    k: int = 5,
    *,
    history: Sequence[str] = (),
    min_relevance: float | None = None,
    sources: Sequence[str] | None = None,
    since: str | date | None = None,
    until: str | date | None = None,
    index_dir: str | os.PathLike[str] | None = None,
) -> list[Passage]:
    """Searches the default index, building it over ``default_corpus()`` on first use.

    Args:
        question: The question.
        k: Number of passages.
        history: The earlier questions of the conversation, oldest first (see ``search``).
        min_relevance: Drop passages below this relevance (see ``search``).
        sources: Glob patterns of the sources to search (see ``search``).
        since: Only articles dated on or after this day (see ``search``).
        until: Only articles dated on or before this day (see ``search``).
        index_dir: The index folder; default ``$QA_INDEX`` or ``.qa-index``.

    Returns:
        The best passages, best first.
    """
    check_question(question)
    check_k(k)
    check_history(history)
    check_min_relevance(min_relevance)
    check_sources(sources)
    check_date(since, "since")
    check_date(until, "until", end=True)
    directory = os.fspath(index_dir or os.environ.get("QA_INDEX", DEFAULT_INDEX_DIR))
    with _default_lock:
        if directory not in _default:
            if open_store(directory).exists():
                _default[directory] = Index.load(directory)
            else:
                _default[directory] = Index.build([default_corpus()], directory)
        index = _default[directory]
    return index.search(
        question,
        k,
        history=history,
        min_relevance=min_relevance,
        sources=sources,
        since=since,
        until=until,
    )
