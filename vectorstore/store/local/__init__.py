"""The local folder backend: FAISS, BM25 and the files of a generation."""
