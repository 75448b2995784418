"""Where an index lives: the store interface (``base``) and its backends (``local``, ``milvus``).

Importing this package registers the backends (``vectorstore.store.base.register_store``).
"""

from vectorstore.store import local, milvus  # noqa: F401 - they register themselves
