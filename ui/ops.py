"""Running ``qa serve`` as a service: health, readiness, Prometheus metrics, a request log.

:class:`Operations` belongs to one app (its metrics live in a registry of its own, so
several apps can run in one process). Its routes are answered in front of Gradio, by an
ASGI middleware (:meth:`Operations.middleware`):

- ``GET /healthz``: 200 ``{"status": "ok"}`` while the process answers. Outside any login.
- ``GET /readyz``: 200 ``{"status": "ready", "generation", "passages"}`` when an index
  generation is loaded and a search works (within :data:`PROBE_SECONDS`); otherwise 503
  ``{"status": "not ready", "reason"}``. Outside any login.
- ``GET /metrics``: the metrics in Prometheus's text format; behind the app's login when
  it has one (HTTP Basic or the login cookie, as for MCP).

Each chat question, ``/retrieve`` call and vote is counted by route and status and
written as one JSON line to the logger ``qa.requests`` (:func:`log_requests`): time,
route, status, latency, ``k``, filters, history length, number of passages, top
relevance and generation; the question's text only with ``log_questions``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

import qa
from ui.login import login_required

__all__ = [
    "HEALTH_PATH",
    "METRICS_PATH",
    "PROBE_SECONDS",
    "READY_PATH",
    "REQUEST_LOGGER",
    "Operations",
    "log_requests",
]

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
PROBE_SECONDS = 5.0  # a readiness search slower than this counts as not working
PROBE_QUESTION = "Worum geht es?"
REQUEST_LOGGER = "qa.requests"
# Search latency buckets, in seconds: a search takes tens of milliseconds on 2 cores.
_SEARCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_log = logging.getLogger(REQUEST_LOGGER)


class _Stdout(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is when a line is written."""

    @property
    def stream(self) -> IO[str]:
        """The current ``sys.stdout``."""
        return sys.stdout

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass  # always sys.stdout


def log_requests() -> None:
    """Writes the request log to stdout: one JSON object a line, nothing else.

    ``qa serve`` calls it; its other messages go to stderr.
    """
    handler = _Stdout()
    handler.setFormatter(logging.Formatter("%(message)s"))
    _log.handlers = [handler]
    _log.propagate = False  # not through the "qa: " prefix of qa's own messages
    _log.setLevel(logging.INFO)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _number(value: Any) -> int | float | None:
    """A number as sent, for the log (the chat's slider sends 5.0 for 5); else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value) if float(value).is_integer() else value


class _IndexCollector(Collector):
    """The loaded indexes as metrics, read at each scrape (a new generation shows at once).

    With several collections each sample has a ``collection`` label; with one, none.
    """

    def __init__(self, collections: qa.Collections) -> None:
        self._collections = collections

    def collect(self) -> Iterable[Metric]:
        """Yields passages, sources, the generation and its age (of each collection)."""
        named = ["collection"] if self._collections.several else []
        passages = GaugeMetricFamily(
            "qa_passages_indexed", "Passages in the loaded index generation", labels=named
        )
        sources = GaugeMetricFamily(
            "qa_sources_indexed", "Articles in the loaded index generation", labels=named
        )
        info = GaugeMetricFamily(
            "qa_index_generation_info",
            "The loaded index generation (always 1)",
            labels=[*named, "name"],
        )
        age = GaugeMetricFamily(
            "qa_index_generation_age_seconds",
            "Seconds since the loaded index generation was published",
            labels=named,
        )
        now = datetime.now(UTC)
        for name in self._collections:
            index = self._collections[name]
            label = [name] if named else []
            passages.add_metric(label, len(index))
            sources.add_metric(label, len(index.sources))
            info.add_metric([*label, index.generation], 1)
            age.add_metric(label, (now - index.updated).total_seconds())
        yield from (passages, sources, info, age)


class _Watched:
    """An index whose ``search`` notes how it went; everything else is the index's."""

    def __init__(self, index: qa.Index) -> None:
        self._index = index
        self.status: int | None = None  # None: not searched
        self.seconds: float | None = None
        self.passages: list[qa.Passage] = []
        self.generation = index.generation

    def search(self, *args: Any, **kwargs: Any) -> list[qa.Passage]:
        """``Index.search``, timed, with its outcome noted."""
        self.generation = self._index.generation
        start = time.perf_counter()
        try:
            self.passages = self._index.search(*args, **kwargs)
        except ValueError:
            self.status = 400
            raise
        except Exception:
            self.status = 500
            raise
        finally:
            self.seconds = time.perf_counter() - start
        self.status = 200
        return self.passages

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)


class Operations:
    """The health, readiness, metrics and request log of one app over ``index``.

    Args:
        index: The loaded index the app answers from, or its collections (then
            readiness asks each, and the index metrics are per collection).
        log_questions: Also write each question's text (and its history) to the
            request log; off by default.

    Attributes:
        registry: The app's own Prometheus registry.
    """

    def __init__(self, index: qa.Index | qa.Collections, log_questions: bool = False) -> None:
        self.collections = qa.Collections.of(index)
        self.index = self.collections.index()  # the default collection's
        self.log_questions = log_questions
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "qa_requests",
            "Requests by route (chat, retrieve, vote, healthz, readyz, metrics) and status",
            ["route", "status"],
            registry=self.registry,
        )
        self._search_seconds = Histogram(
            "qa_search_seconds",
            "Time of one index search, by route",
            ["route"],
            buckets=_SEARCH_BUCKETS,
            registry=self.registry,
        )
        self._votes = Counter(
            "qa_feedback_votes",
            "Readers' votes on passages, by vote (up, down) and outcome (recorded, refused)",
            ["vote", "outcome"],
            registry=self.registry,
        )
        for vote in ("up", "down"):  # shown from the start, as 0
            for outcome in ("recorded", "refused"):
                self._votes.labels(vote, outcome)
        self.registry.register(_IndexCollector(self.collections))
        self._probe: asyncio.Future[str | None] | None = None

    def middleware(self) -> Middleware:
        """The ASGI middleware that answers ``/healthz``, ``/readyz`` and ``/metrics``."""
        return Middleware(_OpsRoutes, operations=self)

    @contextlib.contextmanager
    def observe(
        self,
        route: str,
        question: Any,
        k: Any,
        history: Sequence[str] | None = None,
        filters: Mapping[str, Any] | None = None,
        index: qa.Index | None = None,
    ) -> Iterator[qa.Index]:
        """Counts, times and logs one request that may search the index.

        Yields the index to search (its ``search`` is watched). The status is the
        search's: 200, 400 (``ValueError``: bad input) or 500 (anything else); a request
        that never searched is 400 (refused before), or 500 if it raised something
        other than ``ValueError``. The exception, if any, is re-raised.

        Args:
            route: The route's name in metrics and log (``chat``, ``retrieve``).
            question: The question as sent (logged only with ``log_questions``).
            k: The passages asked for.
            history: The conversation's earlier questions.
            filters: The request's filters (``sources``, ``since``, ``until``, and
                ``collection`` when the app serves several); unset ones (None or empty)
                are left out of the log.
            index: The index the request searches (a collection's); default: the app's.
        """
        watched = _Watched(self.index if index is None else index)
        start = time.perf_counter()
        failure: int | None = None
        try:
            yield watched  # an Index in all but name: its search is watched
        except ValueError:
            failure = 400
            raise
        except Exception:
            failure = 500
            raise
        finally:
            status = watched.status or failure or 400
            if watched.seconds is not None:
                self._search_seconds.labels(route).observe(watched.seconds)
            self._requests.labels(route, str(status)).inc()
            top = watched.passages[0].relevance if watched.passages else None
            line: dict[str, Any] = {
                "time": _now(),
                "route": route,
                "status": status,
                "latency_ms": round((time.perf_counter() - start) * 1000, 2),
                "k": _number(k),
                "filters": {key: v for key, v in (filters or {}).items() if v},
                "history": len(history or ()),
                "passages": len(watched.passages),
                "top_relevance": None if top is None else round(float(top), 4),
                "generation": watched.generation,
            }
            if self.log_questions:
                line["question"] = question if isinstance(question, str) else None
                line["history_questions"] = list(history or ())
            _log.info(json.dumps(line, ensure_ascii=False))

    def voted(
        self,
        vote: str,
        status: int,
        rank: int | None,
        seconds: float,
        answer: Mapping[str, Any] | None = None,
    ) -> None:
        """Counts and logs one vote: ``status`` 200 (recorded) or why it was refused.

        Args:
            vote: ``up`` or ``down`` (anything else counts as ``invalid``).
            status: 200 recorded, 400 not a passage of this chat or voted already,
                507 the feedback file is full, 500 it could not be written.
            rank: The passage's rank in its answer, if known.
            seconds: How long recording took.
            answer: The answer voted on (``ui.feedback.answered``), if known: its
                generation (and collection, with several) go into the log line.
        """
        vote = vote if vote in ("up", "down") else "invalid"
        self._votes.labels(vote, "recorded" if status == 200 else "refused").inc()
        self._requests.labels("vote", str(status)).inc()
        line = {
            "time": _now(),
            "route": "vote",
            "status": status,
            "latency_ms": round(seconds * 1000, 2),
            "vote": vote,
            "rank": rank,
            "generation": answer["generation"] if answer else self.index.generation,
        }
        if answer and answer.get("collection"):
            line["collection"] = answer["collection"]
        _log.info(json.dumps(line, ensure_ascii=False))

    def _search_works(self) -> str | None:
        """Searches each collection once; returns None if that works, else why not."""
        for name in self.collections:
            try:
                self.collections[name].search(PROBE_QUESTION, k=1)
            except Exception as exc:  # any failure means: not ready
                where = f" in collection {name!r}" if self.collections.several else ""
                return f"a search failed{where}: {type(exc).__name__}: {exc}"
        return None

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Whether the app is ready, and the body of ``/readyz``.

        At most one probe search runs at a time: requests that come while one runs
        wait for its result. With several collections, each must be ready, and the
        body has ``collections``: each one's generation and passages.
        """
        unloaded = [name for name in self.collections if not self.collections[name].generation]
        if unloaded:
            where = f" for {', '.join(unloaded)}" if self.collections.several else ""
            reason = f"no index generation is loaded{where}"
            return False, {"status": "not ready", "reason": reason}
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(asyncio.to_thread(self._search_works))
        try:
            reason = await asyncio.wait_for(asyncio.shield(self._probe), PROBE_SECONDS)
        except TimeoutError:
            reason = f"a search did not answer within {PROBE_SECONDS:g} s"
        if reason is not None:
            return False, {"status": "not ready", "reason": reason}
        index = self.index
        body = {"status": "ready", "generation": index.generation, "passages": len(index)}
        if self.collections.several:
            body["collections"] = {
                name: {"generation": c.generation, "passages": len(c)}
                for name, c in ((n, self.collections[n]) for n in self.collections)
            }
        return True, body

    def metrics_text(self) -> bytes:
        """The metrics in Prometheus's text format."""
        return generate_latest(self.registry)

    def counted(self, route: str, status: int) -> None:
        """Counts one request to an operations route."""
        self._requests.labels(route, str(status)).inc()


class _OpsRoutes:
    """ASGI middleware: answers the operations routes, passes everything else on."""

    def __init__(self, app: ASGIApp, operations: Operations) -> None:
        self.app = app
        self.operations = operations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answers ``/healthz``, ``/readyz`` and ``/metrics``; passes on the rest."""
        path = scope.get("path") if scope["type"] == "http" else None
        routes = {HEALTH_PATH: "healthz", READY_PATH: "readyz", METRICS_PATH: "metrics"}
        if path not in routes:
            await self.app(scope, receive, send)
            return
        route = routes[path]
        ops = self.operations
        answer: ASGIApp
        if scope["method"] not in ("GET", "HEAD"):
            answer = JSONResponse(
                {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": "GET, HEAD"}
            )
        elif route == "healthz":
            answer = JSONResponse({"status": "ok"})
        elif route == "readyz":
            ready, body = await ops.readiness()
            answer = JSONResponse(body, status_code=200 if ready else 503)
        else:
            answer = self._metrics
            server = scope.get("app")  # Gradio's app, whose login applies
            if getattr(server, "auth", None) is not None:
                answer = login_required(answer, server)
        statuses: list[int] = []

        async def counting(message: Any) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        await answer(scope, receive, counting)
        ops.counted(route, statuses[0] if statuses else 500)

    async def _metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = Response(self.operations.metrics_text(), media_type=CONTENT_TYPE_LATEST)
        await response(scope, receive, send)
