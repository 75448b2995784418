"""The Milvus backend (the extra ``qa[milvus]``)."""
