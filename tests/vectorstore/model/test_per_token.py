"""Int8 products with a scale per token (vectorstore.model.per_token), on onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

from vectorstore.model.per_token import GELU_LOWEST, quantize_per_token

K, N = 64, 48


def _linear(path: Path, weights: np.ndarray, bias: np.ndarray | None) -> None:
    """A float32 model as torch exports a linear layer: MatMul, then Add of the bias."""
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["y" if bias is None else "xw"], name="/fc/MatMul")
    ]
    constants = [numpy_helper.from_array(weights, "w")]
    if bias is not None:
        nodes.append(helper.make_node("Add", ["xw", "b"], ["y"], name="/fc/Add"))
        constants.append(numpy_helper.from_array(bias, "b"))
    graph = helper.make_graph(
        nodes,
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "tokens", K])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, "tokens", N])],
        constants,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@pytest.fixture
def layer() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    weights = rng.normal(0, 0.1, (K, N)).astype(np.float32)
    bias = rng.normal(0, 0.1, N).astype(np.float32)
    # GELU-like inputs: at least GELU_LOWEST, most tokens small, one token far larger.
    x = np.maximum(rng.normal(0, 0.5, (1, 40, K)), GELU_LOWEST).astype(np.float32)
    x[0, 3] = np.abs(x[0, 3]) * 60
    return weights, bias, x


def test_products_with_an_outlier_token_stay_accurate_for_the_other_tokens(
    tmp_path: Path, layer: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    weights, bias, x = layer
    _linear(tmp_path / "float.onnx", weights, bias)
    assert (
        quantize_per_token(tmp_path / "float.onnx", tmp_path / "token.onnx", "MatMul", -0.17) == 1
    )
    quantize_dynamic(tmp_path / "float.onnx", tmp_path / "tensor.onnx", weight_type=QuantType.QInt8)
    ops = {n.op_type for n in onnx.load(str(tmp_path / "token.onnx")).graph.node}
    assert "MatMulInteger" in ops and "MatMul" not in ops
    exact = x @ weights + bias
    others = np.arange(x.shape[1]) != 3

    def error(path: Path) -> np.ndarray:  # relative error per token
        out = _run(path, x)
        return np.linalg.norm(out - exact, axis=-1)[0] / np.linalg.norm(exact, axis=-1)[0]

    per_token, per_tensor = error(tmp_path / "token.onnx"), error(tmp_path / "tensor.onnx")
    assert per_token.max() < 0.03
    assert per_token[others].mean() * 4 < per_tensor[others].mean()


def test_only_the_named_products_are_rewritten(
    tmp_path: Path, layer: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    weights, bias, x = layer
    _linear(tmp_path / "float.onnx", weights, bias)
    assert (
        quantize_per_token(tmp_path / "float.onnx", tmp_path / "same.onnx", "ffn_out", -0.17) == 0
    )
    np.testing.assert_allclose(_run(tmp_path / "same.onnx", x), x @ weights + bias, atol=1e-5)


def test_a_product_without_a_bias_is_refused(
    tmp_path: Path, layer: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    weights, _, _ = layer
    _linear(tmp_path / "float.onnx", weights, None)
    with pytest.raises(ValueError, match="/fc/MatMul is not a MatMul by constant weights"):
        quantize_per_token(tmp_path / "float.onnx", tmp_path / "out.onnx", "MatMul", -0.17)
