"""Several indexes served under names: ``qa serve --index news=DIR1 --index laws=DIR2``.

A :class:`Collections` maps collection names to loaded indexes and knows which one a
caller gets when it names none (the first given). One index alone is one collection, and
everything that takes collections behaves with it exactly as with the index itself.

Example:
    >>> import qa
    >>> collections = qa.Collections.load(["news=.qa-news", "laws=.qa-laws"])
    >>> collections.index("laws").search("Wer haftet?", k=3)
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from qa.index import Index
from vectorstore import QAError

__all__ = [
    "COLLECTION_NAME",
    "DEFAULT_COLLECTION",
    "CollectionSpec",
    "Collections",
    "UnknownCollectionError",
    "parse_collections",
    "select",
]

# A collection's name: what a client passes as `collection`, so short and plain.
COLLECTION_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
DEFAULT_COLLECTION = "default"  # the name of an index given without one
_NAME_RULE = (
    "a collection name is 1 to 40 lower-case letters a-z, digits, '-' or '_', "
    "starting with a letter or digit"
)
_NOT_A_NAME = re.compile(r"[/\\:]")  # before an "=", these make the whole spec a location


class UnknownCollectionError(ValueError):
    """A collection name that the collections do not hold; the message names those they do."""


@dataclass(frozen=True)
class CollectionSpec:
    """One ``NAME=LOCATION`` (or bare ``LOCATION``) as given, parsed.

    Attributes:
        name: The collection's name (``DEFAULT_COLLECTION`` for a bare location).
        location: The index folder, or ``milvus:…``.
        spec: The text it was parsed from, for messages.
    """

    name: str
    location: str
    spec: str


def _check_name(name: str, spec: str) -> str:
    if not COLLECTION_NAME.fullmatch(name):
        shown = "an empty name" if not name else f"the name {name!r}"
        raise ValueError(f"{spec!r}: {shown} is not allowed: {_NAME_RULE}")
    return name


def _parse(spec: str) -> tuple[str | None, str]:
    r"""Splits ``NAME=LOCATION`` into the name (checked) and the location.

    A spec without ``=``, or whose part before the ``=`` holds ``/``, ``\`` or ``:``, is a
    location alone: ``./a=b`` is the folder ``a=b``, ``milvus:x.db`` a Milvus file.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"{spec!r}: expected NAME=DIR or DIR, got nothing")
    name, sep, location = spec.partition("=")
    if not sep or _NOT_A_NAME.search(name):
        return None, spec
    _check_name(name, spec)
    if not location.strip():
        raise ValueError(f"{spec!r}: no index folder after '{name}='")
    return name, location


def _same_place(location: str) -> str:
    """A key under which two spellings of one local folder compare equal."""
    return location if location.startswith("milvus:") else os.path.realpath(location)


def parse_collections(specs: Sequence[str]) -> list[CollectionSpec]:
    """Parses ``NAME=DIR`` specs (or one bare ``DIR``) into named collection locations.

    Args:
        specs: Each ``NAME=DIR`` (``DIR`` may be ``milvus:…``), or a single bare ``DIR``,
            whose collection is called ``DEFAULT_COLLECTION``.

    Returns:
        One spec per collection, in the order given (the first is the default).

    Raises:
        ValueError: Naming the spec: none given, a bad or empty name, nothing after
            ``=``, a bare ``DIR`` among several, a name given twice, or one location
            under two names.
    """
    if isinstance(specs, str) or not specs:
        raise ValueError("expected a list of NAME=DIR collections, got none")
    parsed = [(spec, *_parse(spec)) for spec in specs]
    unnamed = [spec for spec, name, _ in parsed if name is None]
    if unnamed and len(parsed) > 1:
        raise ValueError(
            f"{unnamed[0]!r} has no name: with several indexes, give each one as NAME=DIR "
            f"(e.g. news={unnamed[0]})"
        )
    done: list[CollectionSpec] = []
    for spec, name, location in parsed:
        taken = next((c for c in done if c.name == name), None)
        if taken is not None:
            raise ValueError(f"{spec!r}: the name {name!r} is already taken by {taken.spec!r}")
        again = next((c for c in done if _same_place(c.location) == _same_place(location)), None)
        if again is not None:
            raise ValueError(f"{spec!r}: {location} is already the collection {again.name!r}")
        done.append(CollectionSpec(name or DEFAULT_COLLECTION, location, spec))
    return done


@dataclass(frozen=True, eq=False)
class Collections(Mapping[str, Index]):
    """Loaded indexes by collection name, in the order given; the first is the default.

    A read-only mapping (``collections["laws"]``, ``len``, iteration over the names).

    Args:
        indexes: Name to loaded index; at least one, each name as ``COLLECTION_NAME``.

    Raises:
        ValueError: If there is no index or a name is not allowed.
    """

    indexes: Mapping[str, Index]
    default: str = field(init=False)

    def __post_init__(self) -> None:
        if not self.indexes:
            raise ValueError("a Collections needs at least one index")
        for name, index in self.indexes.items():
            _check_name(name, name)
            if not isinstance(index, Index):
                raise ValueError(f"collection {name!r} is a {type(index).__name__}, not a qa.Index")
        object.__setattr__(self, "indexes", MappingProxyType(dict(self.indexes)))
        object.__setattr__(self, "default", next(iter(self.indexes)))

    @classmethod
    def of(cls, index: Index | Collections) -> Collections:
        """Returns ``index`` as collections: one index is one, ``DEFAULT_COLLECTION``."""
        if isinstance(index, Collections):
            return index
        return cls({DEFAULT_COLLECTION: index})

    @classmethod
    def load(cls, specs: Sequence[str]) -> Collections:
        """Parses ``NAME=DIR`` specs (see :func:`parse_collections`) and loads each index.

        Raises:
            ValueError: For a bad spec, naming it.
            QAError: A subclass, if an index cannot be loaded (no index there, another
                model); the message names the collection.
        """
        indexes = {}
        for spec in parse_collections(specs):
            try:
                indexes[spec.name] = Index.load(spec.location)
            except QAError as exc:
                raise type(exc)(f"collection {spec.name!r} ({spec.spec}): {exc}") from exc
        return cls(indexes)

    @property
    def names(self) -> tuple[str, ...]:
        """The collection names, in the order given."""
        return tuple(self.indexes)

    @property
    def several(self) -> bool:
        """Whether there is more than one collection (then callers may name one)."""
        return len(self.indexes) > 1

    def index(self, name: str | None = None) -> Index:
        """Returns the index of collection ``name``; None: the default collection's.

        Raises:
            UnknownCollectionError: If there is no collection of that name; the message
                names the ones there are.
        """
        if name is None:
            return self.indexes[self.default]
        if not isinstance(name, str) or name not in self.indexes:
            known = ", ".join(self.names)
            raise UnknownCollectionError(
                f"unknown collection {name!r}; this server has: {known} (default {self.default})"
            )
        return self.indexes[name]

    def __getitem__(self, name: str) -> Index:
        return self.indexes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.indexes)

    def __len__(self) -> int:
        return len(self.indexes)

    def warm_up(self) -> None:
        """Loads the models the indexes need (one per model, shared by the process)."""
        for index in self.indexes.values():
            index.warm_up()

    def follow(self, interval: float = 1.0) -> Callable[[], None]:
        """Follows every index (``Index.follow``); returns a function that stops them all."""
        stops = [index.follow(interval) for index in self.indexes.values()]

        def stop() -> None:
            for each in stops:
                each()

        return stop


def select(index: Index | Collections, collection: str | None = None) -> Index:
    """The index to search: ``index`` itself, or collection ``collection`` of collections.

    Args:
        index: An index, or ``Collections``.
        collection: A collection name (only with ``Collections``); None: the default.

    Raises:
        UnknownCollectionError: If the collections have no such collection.
        ValueError: If ``collection`` is given with a single index.
    """
    if isinstance(index, Collections):
        return index.index(collection)
    if collection is not None:
        raise ValueError(
            f"collection {collection!r} needs several indexes: pass index=qa.Collections(...)"
        )
    return index
