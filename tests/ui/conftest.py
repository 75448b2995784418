"""Real ``qa serve`` processes over the seed index, one per set of options, shared."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import qa
from tests.ui.serving import PASSWORD, USER, qa_serve


@pytest.fixture(scope="session")
def served_login(seed_index: qa.Index) -> Iterator[str]:
    """``qa serve --auth alice:s3cret``: its URL."""
    with qa_serve(seed_index.path, "--auth", f"{USER}:{PASSWORD}") as url:
        yield url


@pytest.fixture(scope="session")
def served_mcp(seed_index: qa.Index) -> Iterator[str]:
    """``qa serve --mcp``: its URL."""
    with qa_serve(seed_index.path, "--mcp") as url:
        yield url


@pytest.fixture(scope="session")
def served_mcp_login(seed_index: qa.Index) -> Iterator[str]:
    """``qa serve --mcp --auth alice:s3cret``: its URL."""
    with qa_serve(seed_index.path, "--mcp", "--auth", f"{USER}:{PASSWORD}") as url:
        yield url
