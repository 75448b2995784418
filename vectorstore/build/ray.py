"""The Ray engine: new and changed files read, chunked and embedded on Ray Data.

``qa index PATH… --engine ray`` (``Index.build(..., engine="ray")``) hands the files a
build must read to a Ray Data pipeline; unchanged files never leave the driver, which
copies them from the previous generation as a local build does:

1. ``from_items``: one row per file (its scanned ``SourceFile`` and its number).
2. ``flat_map``: Ray tasks run ``vectorstore.build.pieces.read_source`` on each file, the
   function the local engine runs, so passages, cited lines, kinds, pages and BM25 terms
   are the same: one row per piece, then one for the article (or why it was skipped).
   The workers read the files by their paths.
3. ``map_batches(_Embed, compute=ActorPoolStrategy(...))``: an actor pool, one actor per
   node with CPUs, each with one model loaded once, embeds the pieces' passages (and
   pools their sentences' vectors from the same pass).
4. The driver takes the rows in source order (``preserve_order``) and writes them into
   the new generation (``vectorstore.build.builder._Generation``) between the unchanged
   sources; the store, a local folder or Milvus, is written as after a local build.

An actor reserves half a CPU though its model runs on every core of its node: on 2
cores, actors that reserved a whole CPU each left none for the reading tasks and the
pipeline hung. Ray Data spreads the actors over the nodes.

Without an address, the build starts a local Ray instance and stops it at the end: this
machine's cores, a 256 MiB object store, no dashboard, every port on 127.0.0.1, token
authentication with a token made for the build (kept in the environment of its processes
rather than in ``~/.ray/auth_token``), workers at normal priority and no usage statistics
sent. With ``ray_address`` or ``$RAY_ADDRESS`` it joins that cluster, as configured there,
and leaves it running; every node needs qa installed, the model available and the corpus
at the same path (a shared file system).
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import logging
import os
import pickle
import secrets
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from vectorstore.build.pieces import Article, BuildSettings, Piece, read_source
from vectorstore.errors import QAError
from vectorstore.model.embedding import get_embedder
from vectorstore.sources.files import SkippedFile, SourceFile

__all__ = ["ray_address", "ray_parts"]

log = logging.getLogger("qa")

_INSTALL = "the Ray engine needs Ray Data: pip install 'qa[ray]'"
_OBJECT_STORE_BYTES = 256 << 20  # a local instance's object store (Ray's default: 30% of RAM)
_ACTOR_CPUS = 0.5  # reserved per embedding actor; its model uses every core of its node
_PIECES_PER_BATCH = 8  # pieces (up to 1 MiB of text each) an actor embeds per call
# For a local instance: a token of this process's own (auth stays on without writing
# ~/.ray/auth_token; one per process, as Ray keeps the first it reads); Ray's loopback
# mode, in which every process binds 127.0.0.1 (Ray reads it when it is imported; it is
# named for the platforms where it is the default); workers at the priority of a local
# build (Ray's default niceness is 15); and no usage statistics sent (sent by default).
_LOCAL_ENVIRONMENT = {
    "RAY_AUTH_MODE": "token",
    "RAY_AUTH_TOKEN": secrets.token_hex(32),
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_worker_niceness": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
}


def ray_address(address: str | None) -> str | None:
    """Checks that Ray is installed; returns the cluster to join, None for a local instance.

    Args:
        address: ``auto`` or ``HOST:PORT`` of a cluster this machine is a node of; default
            ``$RAY_ADDRESS``.

    Raises:
        QAError: If Ray is not installed (naming the extra), or for a Ray Client address
            (``ray://``), over which Ray Data's streaming fails.
    """
    if importlib.util.find_spec("ray") is None:
        raise QAError(_INSTALL)
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address is not None and address.startswith("ray://"):
        raise QAError(
            f"{address} is a Ray Client address, over which Ray Data's streaming fails: run "
            "`qa index` on a node of the cluster with --ray-address auto (or HOST:PORT)"
        )
    return address


@contextlib.contextmanager
def ray_parts(
    sources: Sequence[SourceFile], settings: BuildSettings, address: str | None = None
) -> Iterator[tuple[Iterator[Iterable[Piece | Article]], float]]:
    """Reads, chunks and embeds sources on Ray Data, starting or joining Ray for it.

    Args:
        sources: The new and changed sources, in source order.
        settings: Model and chunking.
        address: The cluster to join (see ``ray_address``); None starts a local instance.

    Yields:
        For each source in order, its embedded pieces then its article (iterating raises
        ``SkippedFile`` for a file that cannot be read); and the seconds it took to start
        or join Ray.

    Raises:
        QAError: If Ray Data is not installed.
    """
    with _ray(address) as (ray, startup):
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # the generation is written in order
        actors = sum(1 for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) > 0)
        log.info("reading and embedding %d files on Ray with %d actor(s)", len(sources), actors)
        items = [
            {"source": i, "file": pickle.dumps(s, pickle.HIGHEST_PROTOCOL)}
            for i, s in enumerate(sources)
        ]
        rows = (
            ray.data.from_items(items)
            .flat_map(_read, fn_kwargs={"settings": settings})
            .map_batches(
                _Embed,
                fn_constructor_kwargs={"model": settings.model},
                compute=ray.data.ActorPoolStrategy(size=actors),
                num_cpus=_ACTOR_CPUS,
                batch_size=_PIECES_PER_BATCH,
                batch_format="numpy",
            )
            .iter_rows()
        )
        yield _by_source(rows, len(sources)), startup


@contextlib.contextmanager
def _ray(address: str | None) -> Iterator[tuple[Any, float]]:
    """Joins the cluster at ``address``, or starts a local instance; leaves or stops it.

    Yields:
        The ``ray`` module, and the seconds it took to start or join. A connection this
        process already has is used as it is, and left open.
    """
    started = time.perf_counter()
    with _local_environment(address is None):
        try:
            import ray
            import ray.data
        except ImportError as exc:
            raise QAError(f"{_INSTALL} ({exc})") from exc
        if ray.is_initialized():
            yield ray, 0.0
            return
        if address is None:
            cpus = os.cpu_count() or 1
            ray.init(
                num_cpus=cpus,
                object_store_memory=_OBJECT_STORE_BYTES,
                include_dashboard=False,
                _node_ip_address="127.0.0.1",
            )
            host = ray.util.get_node_ip_address()
            if host != "127.0.0.1":  # ray was imported before, outside loopback mode
                log.warning("Ray's ports listen on every interface (this node is %s)", host)
            what = f"started a local Ray instance on {host} ({cpus} CPUs, "
            what += f"{_OBJECT_STORE_BYTES >> 20} MiB object store)"
        else:
            ray.init(address=address)
            what = f"joined the Ray cluster at {address}"
        try:
            startup = time.perf_counter() - started
            log.info("%s in %.1f s", what, startup)
            yield ray, startup
        finally:
            ray.shutdown()  # stops a local instance; only disconnects from a cluster


@contextlib.contextmanager
def _local_environment(local: bool) -> Iterator[None]:
    """Sets ``_LOCAL_ENVIRONMENT`` (what the user has not set) for a local instance."""
    if not local:
        yield
        return
    saved = {name: os.environ.get(name) for name in _LOCAL_ENVIRONMENT}
    for name, value in _LOCAL_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)


def _read(row: dict[str, Any], settings: BuildSettings) -> Iterator[dict[str, Any]]:
    """Runs ``read_source`` on one file: a row per piece, then its article (or skip)."""
    source = pickle.loads(row["file"])
    try:
        for part in read_source(source, settings):
            yield {"source": row["source"], "payload": pickle.dumps(part, pickle.HIGHEST_PROTOCOL)}
    except SkippedFile as exc:
        yield {"source": row["source"], "payload": pickle.dumps(exc, pickle.HIGHEST_PROTOCOL)}


class _Embed:
    """Embeds the pieces of a batch of rows; one model per actor, loaded once."""

    def __init__(self, model: str) -> None:
        self._embedder = get_embedder(model)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        parts = [pickle.loads(p) for p in batch["payload"]]
        pieces = [p for p in parts if isinstance(p, Piece)]
        vectors, sentences = self._embedder.encode_passages_with_spans(
            [t for p in pieces for t in p.texts], [s for p in pieces for s in p.spans]
        )
        start = 0
        for i, part in enumerate(parts):
            if isinstance(part, Piece):
                end = start + len(part.texts)
                parts[i] = replace(
                    part,
                    texts=[],
                    spans=[],
                    vectors=vectors[start:end],
                    sentence_vectors=None if sentences is None else sentences[start:end],
                )
                start = end
        payload = [pickle.dumps(p, pickle.HIGHEST_PROTOCOL) for p in parts]
        return {"source": batch["source"], "payload": np.array(payload, dtype=object)}


def _by_source(rows: Iterator[dict[str, Any]], count: int) -> Iterator[Iterator[Piece | Article]]:
    """Groups the pipeline's rows by source, checking that they come in source order."""
    groups = itertools.groupby(rows, key=lambda row: row["source"])
    for expected in range(count):
        number, group = next(groups)
        if number != expected:
            raise RuntimeError(f"Ray returned source {number} where {expected} was due")
        yield _parts(group)


def _parts(rows: Iterable[dict[str, Any]]) -> Iterator[Piece | Article]:
    for row in rows:
        part = pickle.loads(row["payload"])
        if isinstance(part, SkippedFile):
            raise part
        yield part
