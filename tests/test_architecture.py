"""The rooms of the code and their one-way arrows (ARCHITECTURE.md), read from the imports.

Every ``import`` in qa/, ui/ and vectorstore/ counts, at module level or inside a function
(and under ``TYPE_CHECKING``): an import made late to keep a dependency optional is still
an arrow. The test fails on a circle between modules and on an arrow no room allows.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("qa", "ui", "vectorstore")
_VS = "vectorstore"
_LOW = {f"{_VS}.errors", f"{_VS}.kinds"}
# Room -> what it may import: rooms, each with the rooms inside it. A module's room is the
# longest room name that is it or a package above it; imports inside a room are free (but
# may not go round).
ALLOWED: dict[str, set[str]] = {
    f"{_VS}.errors": set(),
    f"{_VS}.kinds": set(),
    f"{_VS}.model": _LOW,
    f"{_VS}.sources": _LOW,
    f"{_VS}.store.base": _LOW | {f"{_VS}.model"},
    f"{_VS}.store.local": _LOW | {f"{_VS}.model", f"{_VS}.store.base"},
    f"{_VS}.store.milvus": _LOW | {f"{_VS}.model", f"{_VS}.store.base", f"{_VS}.store.local"},
    f"{_VS}.store": {f"{_VS}.store"},  # the package registers its backends
    f"{_VS}.build": _LOW | {f"{_VS}.model", f"{_VS}.sources", f"{_VS}.store"},
    _VS: {_VS},  # the package's public names, from anywhere in it
    "qa": {_VS},
    "ui": {"qa"},
}
# Single arrows beyond the rooms' (module -> room): the command line starts the UI for
# `qa serve`.
EXCEPTIONS = {("qa.cli", "ui")}


def module_name(path: Path, root: Path) -> str:
    """Returns the dotted module name of a file under ``root``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path) -> dict[str, Path]:
    """Returns the modules of qa, ui and vectorstore under ``root``, by name."""
    return {
        module_name(path, root): path
        for package in PACKAGES
        for path in sorted((root / package).rglob("*.py"))
    }


def _imported(node: ast.AST, name: str, is_package: bool) -> Iterator[tuple[str, str | None]]:
    """Yields (module, attribute) for each name an import statement imports."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name, None
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = name.split(".")
            package = package if is_package else package[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        for alias in node.names:
            yield base, alias.name


def arrows(root: Path) -> dict[str, set[str]]:
    """Returns each module's imports of other modules of qa, ui and vectorstore."""
    known = modules(root)
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            for module, attribute in _imported(node, name, path.name == "__init__.py"):
                target = f"{module}.{attribute}" if attribute else module
                if target not in known:  # a name from a module, not a submodule
                    target = module
                while target and target not in known:  # `import a.b.c` of a package a.b
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Returns the strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def room(module: str) -> str | None:
    """Returns the room a module belongs to, or None if no room holds it."""
    while module:
        if module in ALLOWED:
            return module
        module = module.rpartition(".")[0]
    return None


def upward(graph: dict[str, set[str]]) -> list[str]:
    """Returns the arrows no room allows, as ``a -> b (room -> room)``."""
    found = []
    for source in sorted(graph):
        here = room(source)
        for target in sorted(graph[source]):
            there = room(target)
            assert here is not None and there is not None  # "qa", "ui", "vectorstore" hold all
            allowed = (
                there == here
                or any(there == r or there.startswith(r + ".") for r in ALLOWED[here])
                or (source, there) in EXCEPTIONS
            )
            if not allowed:
                found.append(f"{source} -> {target} ({here} -> {there})")
    return found


def test_no_import_circles() -> None:
    assert circles(arrows(REPO)) == []


def test_arrows_only_point_down() -> None:
    assert upward(arrows(REPO)) == []


def test_the_walk_sees_late_relative_and_upward_imports(tmp_path: Path) -> None:
    """A function-level import and a relative one are arrows: here they go round; a store
    interface that imports a backend, and vectorstore importing qa, point up."""
    files = {
        "qa/__init__.py": "",
        "qa/cli.py": "def serve():\n    import ui\n",
        "ui/__init__.py": "import qa\n",
        "vectorstore/__init__.py": "",
        "vectorstore/a.py": "def f():\n    from vectorstore import b\n",
        "vectorstore/b.py": "from .a import f\nimport qa.cli\n",
        "vectorstore/store/__init__.py": "",
        "vectorstore/store/base.py": "from vectorstore.store.local.folder import IndexDir\n",
        "vectorstore/store/local/__init__.py": "",
        "vectorstore/store/local/folder.py": "from ..base import Store\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = arrows(tmp_path)
    assert graph["vectorstore.a"] == {"vectorstore.b"}
    assert graph["vectorstore.b"] == {"vectorstore.a", "qa.cli"}
    assert graph["vectorstore.store.local.folder"] == {"vectorstore.store.base"}
    assert circles(graph) == [
        ["vectorstore.a", "vectorstore.b"],
        ["vectorstore.store.base", "vectorstore.store.local.folder"],
    ]
    assert upward(graph) == [
        "vectorstore.b -> qa.cli (vectorstore -> qa)",
        "vectorstore.store.base -> vectorstore.store.local.folder "
        "(vectorstore.store.base -> vectorstore.store.local)",
    ]
