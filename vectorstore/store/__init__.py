"""Where an index lives: the store interface and its backends (a local folder, Milvus)."""
