"""The model runtime: the embedding interface, multilingual-e5 on onnxruntime int8, moments."""
