"""The backend registry: ``open_store`` picks a backend by the location's prefix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from vectorstore import IndexDir, QAError, Store, open_store
from vectorstore.store import base


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backends registered by a test are gone after it."""
    monkeypatch.setattr(base, "_BACKENDS", dict(base._BACKENDS))


def test_a_registered_backend_gets_its_locations_without_the_prefix(
    registry: None, tmp_path: Path
) -> None:
    opened: list[str] = []

    def folder_in_tmp(rest: str) -> Store:
        opened.append(rest)
        return IndexDir(tmp_path / rest)

    base.register_store("tmp:", folder_in_tmp, "temporary folder")
    store = open_store("tmp:news")
    assert opened == ["news"]
    assert isinstance(store, IndexDir) and store.location == str(tmp_path / "news")
    assert isinstance(open_store(tmp_path / "plain"), IndexDir)  # the default is untouched


def test_the_longest_prefix_wins(registry: None, tmp_path: Path) -> None:
    base.register_store("a:", lambda rest: IndexDir(tmp_path / "short" / rest), "short")
    base.register_store("a:b:", lambda rest: IndexDir(tmp_path / "long" / rest), "long")
    assert open_store("a:b:x").location == str(tmp_path / "long" / "x")
    assert open_store("a:x").location == str(tmp_path / "short" / "x")


def test_a_backend_that_cannot_be_imported_names_what_to_install(registry: None) -> None:
    base.register_store("nope:", "vectorstore_no_such_module:Store", "Nope", "nope: pip install x")
    with pytest.raises(QAError, match=r"nope:here is a Nope location, which needs nope: pip"):
        open_store("nope:here")


def test_a_folder_store_does_not_import_pymilvus() -> None:
    code = (
        "import sys, qa, vectorstore\n"
        "vectorstore.open_store('some-folder')\n"
        "assert 'pymilvus' not in sys.modules, 'pymilvus imported'\n"
        "assert 'vectorstore.store.milvus.store' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
