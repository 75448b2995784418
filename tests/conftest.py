"""Shared fixtures: the real model, loaded once, and a real index over the seeds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import qa

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
# The keys of Passage.to_dict(), which the CLI's --json and the /retrieve API return too.
PASSAGE_FIELDS = {"source", "line_start", "line_end", "text", "score", "relevance", "highlight"}


@pytest.fixture(scope="session", autouse=True)
def _repo_cwd() -> None:
    """Runs the suite from the repository root, so seeds are cited as ``seeds/…``."""
    os.chdir(REPO)


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> qa.Index:
    """A real index (real model, real FAISS) over the five seed articles."""
    return qa.Index.build(["seeds"], tmp_path_factory.mktemp("seed-index") / "index")


def write(path: Path, text: str | bytes) -> Path:
    """Writes a corpus file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
