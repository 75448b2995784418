"""Generated corpora with derived vectors, and a timing embedder, for the performance benchmarks.

Large corpora cannot be embedded for real on a small machine (the default model embeds a
few passages per second on 2 loaded cores), so the performance benchmark generates them:

- **Text.** Every generated passage is a real XQuAD-de passage, perturbed (one to three
  adjacent words swapped or dropped) and tagged ``(Variante SRC.N)``, where ``SRC`` is
  the source passage and ``N`` a number unique in the corpus. Passages are separated by
  blank lines and shorter than the chunk size, so each becomes exactly one indexed
  passage, and BM25 indexes real German text.
- **Vectors.** ``DerivedEmbedder`` reads the tag and returns the real embedding of
  passage ``SRC`` plus Gaussian noise (seeded by ``SRC`` and ``N``), renormalised.
  Questions are embedded with the real model, so query latency includes real query
  embedding.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from common.results import write_if_changed
from vectorstore import Embedder

__all__ = [
    "DERIVED_MODEL",
    "DerivedEmbedder",
    "TimingEmbedder",
    "generated_file",
    "link_tier",
    "variant",
    "write_pool",
]

DERIVED_MODEL = "derived-e5"
TAG = re.compile(r"\(Variante (\d+)\.(\d+)\)\s*$")
CHUNK_LIMIT = 990  # below the builder's 1000-character chunk size, so no passage is split


def variant(text: str, source: int, number: int, rng: np.random.Generator) -> str:
    """Returns a perturbed, tagged copy of a real passage (one line, under the chunk size).

    Args:
        text: The real passage.
        source: Its number among the real passages (recorded in the tag).
        number: A number unique in the generated corpus (recorded in the tag).
        rng: Random source for the perturbation.
    """
    words = text.split()
    for _ in range(int(rng.integers(1, 4))):
        if len(words) < 4:
            break
        i = int(rng.integers(0, len(words) - 1))
        if rng.random() < 0.5:
            words[i], words[i + 1] = words[i + 1], words[i]
        else:
            del words[i]
    tag = f"(Variante {source}.{number})"
    while len(words) > 1 and len(" ".join(words)) + 1 + len(tag) > CHUNK_LIMIT:
        words.pop()
    return " ".join([*words, tag])


def generated_file(
    texts: Sequence[str], file_number: int, passages: int, first_number: int, seed: int = 0
) -> str:
    """Returns the content of one generated article: ``passages`` variants, blank-line separated.

    The content depends only on the arguments, so re-generating leaves files unchanged.

    Args:
        texts: The real passages.
        file_number: The file's number (seeds the choice of sources).
        passages: Passages in the file.
        first_number: The unique number of the file's first passage.
        seed: Extra seed, to produce a changed version of the same file.
    """
    rng = np.random.default_rng([file_number, seed, 7])
    sources = rng.integers(0, len(texts), passages)
    paragraphs = [
        variant(texts[int(s)], int(s), first_number + i, rng) for i, s in enumerate(sources)
    ]
    return "\n\n".join(paragraphs) + "\n"


def write_pool(
    texts: Sequence[str], folder: Path, files: int, passages: int, first_number: int = 0
) -> Iterator[int]:
    """Writes (or leaves unchanged) ``files`` generated articles; yields each file number.

    A marker file records a complete pool, so a re-run skips the comparisons.

    Args:
        texts: The real passages.
        folder: Where to write ``f00000.txt``, ...
        files: Number of files.
        passages: Passages per file.
        first_number: Unique number of the first passage of file 0.
    """
    marker = folder / f".complete-{files}x{passages}-{first_number}-{len(texts)}"
    if marker.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        write_if_changed(
            folder / f"f{f:05d}.txt",
            generated_file(texts, f, passages, first_number + f * passages),
        )
        yield f
    marker.write_text("", encoding="utf-8")


def link_tier(pool: Path, tier: Path, files: int) -> None:
    """Makes ``tier`` hold hard links to the first ``files`` files of ``pool`` (and no others)."""
    tier.mkdir(parents=True, exist_ok=True)
    wanted = {f"f{f:05d}.txt" for f in range(files)}
    for stale in tier.glob("*.txt"):
        if stale.name not in wanted:
            stale.unlink()
    for name in sorted(wanted):
        target = tier / name
        source = pool / name
        if not (target.exists() and os.path.samefile(target, source)):
            target.unlink(missing_ok=True)
            os.link(source, target)


class DerivedEmbedder(Embedder):
    """Passage vectors derived from real embeddings; questions embedded by the real model.

    A tagged passage ``(Variante SRC.N)`` gets ``normalise(real[SRC] + sigma * g)`` with
    ``g ~ N(0, I)`` seeded by ``(SRC, N)``; an untagged passage is embedded for real.

    Attributes:
        fallbacks: Number of untagged passages embedded with the real model.
    """

    def __init__(self, real: Embedder, units: np.ndarray | None, sigma: float) -> None:
        """Wraps the real embedder.

        Args:
            real: The real model (embeds questions and untagged passages).
            units: Real embeddings of the source passages (None: questions only).
            sigma: Standard deviation of the noise per dimension.
        """
        self._real = real
        self._units = units
        self.sigma = sigma
        self.name = DERIVED_MODEL
        self.dim = real.dim
        self.fallbacks = 0

    def encode_passages_with_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        progress: bool = False,
    ) -> tuple[np.ndarray, list[np.ndarray] | None]:
        """Derived passage vectors, and sentence vectors derived from them the same way."""
        vectors = self.encode_passages(texts, progress=progress)
        sentences = []
        for number, (vector, parts) in enumerate(zip(vectors, spans, strict=True)):
            noise = np.random.default_rng([number, len(parts)]).standard_normal(
                (len(parts), self.dim), dtype=np.float32
            )
            v = vector + self.sigma * noise
            sentences.append(v / np.linalg.norm(v, axis=1, keepdims=True))
        return vectors, sentences

    def _encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        if query:
            return self._real._encode(texts, query=True)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        untagged = []
        for i, text in enumerate(texts):
            match = TAG.search(text)
            if match is None or self._units is None:
                untagged.append(i)
                continue
            source, number = int(match.group(1)), int(match.group(2))
            noise = np.random.default_rng([source, number]).standard_normal(
                self.dim, dtype=np.float32
            )
            v = self._units[source] + self.sigma * noise
            out[i] = v / np.linalg.norm(v)
        if untagged:
            out[untagged] = self._real._encode([texts[i] for i in untagged], query=False)
            self.fallbacks += len(untagged)
        return out


class TimingEmbedder(Embedder):
    """Delegates to another embedder and adds up the time spent embedding passages.

    Attributes:
        seconds: Time spent in ``encode_passages``.
        passages: Passages embedded.
    """

    def __init__(self, inner: Embedder) -> None:
        """Wraps ``inner``; name and dimension are its own."""
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.seconds = 0.0
        self.passages = 0

    def reset(self) -> None:
        """Zeroes the counters."""
        self.seconds, self.passages = 0.0, 0

    def encode_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Embeds passages with the wrapped embedder, timing it."""
        return self.encode_passages_with_spans(texts, [[] for _ in texts], progress=progress)[0]

    def encode_passages_with_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        progress: bool = False,
    ) -> tuple[np.ndarray, list[np.ndarray] | None]:
        """Embeds passages and their sentences with the wrapped embedder, timing it."""
        start = time.perf_counter()
        out = self.inner.encode_passages_with_spans(texts, spans, progress=progress)
        self.seconds += time.perf_counter() - start
        self.passages += len(texts)
        return out

    def _encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        return self.inner._encode(texts, query=query)
