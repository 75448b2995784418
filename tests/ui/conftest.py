"""Real ``qa serve`` processes over the seed index, one per set of options, shared; and
headless Chromium (Debian's package, driven by Playwright) for the browser tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import qa
from tests.conftest import CHROMIUM
from tests.ui.serving import PASSWORD, USER, qa_serve

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 60_000


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


@pytest.fixture(scope="session")
def served_collections(seed_index: qa.Index, laws_index: qa.Index) -> Iterator[str]:
    """``qa serve --index news=SEEDS --index laws=LAWS --mcp``: its URL."""
    laws = f"laws={laws_index.path}"
    with qa_serve(f"news={seed_index.path}", "--index", laws, "--mcp") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium; skipped (failed on CI) without ``/usr/bin/chromium``."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI's `make test` installs it: a skip there would hide a gap
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """Where screenshots go: ``$QA_ARTIFACTS_DIR/ui`` (default ``artifacts/ui``)."""
    folder = Path(os.environ.get("QA_ARTIFACTS_DIR", "artifacts")) / "ui"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Opens pages in fresh browser contexts: ``new_page(locale=..., viewport=...)``."""
    contexts = []

    def open_page(locale: str = "de-DE", viewport: dict[str, int] | None = None) -> Any:
        context = browser.new_context(
            viewport=viewport or {"width": 1400, "height": 1000}, locale=locale
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        return page

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A page in a fresh German browser context."""
    return new_page()
