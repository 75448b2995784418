"""The UI in a real browser: headless Chromium (Debian's package) driven by Playwright.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``); skipped without it.
Screenshots go to ``$QA_ARTIFACTS_DIR/ui`` (default ``artifacts/ui``).
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import qa
import ui

pytestmark = [
    pytest.mark.browser,
    # Gradio's queue uses pandas options that pandas 3 deprecates; not ours to fix.
    pytest.mark.filterwarnings("ignore::Warning:gradio.queueing"),
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 60_000

QUESTION = "Wie viele Reservisten sollen bei der Teilmobilmachung einberufen werden?"

# An article that tries every trick; each marker must stay text and never run.
EVIL_ARTICLE = """\
Reservisten im Test: der Artikel beginnt harmlos.

<script>window.__xss = 'script'; alert('script')</script>
<img src=x onerror="window.__xss = 'img'; alert('img')">
[klick mich](javascript:window.__xss='md-link') und <a href="javascript:window.__xss='a'">a</a>
<svg onload="window.__xss='svg'"></svg> **fett** $$x^2$$ ${window.__xss='tpl'}
{{constructor.constructor('window.__xss="hbs"')()}} Die Reservisten werden einberufen.

Ein letzter Absatz über Reservisten und die Mobilmachung.
"""
EVIL_QUESTION = "Reservisten <img src=x onerror=\"window.__xss='q'\"> [q](javascript:alert(1))"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
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
    folder = Path(os.environ.get("QA_ARTIFACTS_DIR", "artifacts")) / "ui"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _serve(index: qa.Index) -> Iterator[str]:
    app = ui.build_app(index)
    app.launch(
        server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True, quiet=True
    )
    try:
        yield app.local_url
    finally:
        app.close()


@pytest.fixture(scope="module")
def seed_url(seed_index) -> Iterator[str]:
    yield from _serve(seed_index)


@pytest.fixture(scope="module")
def evil_index(tmp_path_factory) -> qa.Index:
    corpus = tmp_path_factory.mktemp("evil-corpus")
    (corpus / "evil.txt").write_text(EVIL_ARTICLE, encoding="utf-8")
    return qa.Index.build([corpus], tmp_path_factory.mktemp("evil-index") / "index")


@pytest.fixture(scope="module")
def evil_url(evil_index) -> Iterator[str]:
    yield from _serve(evil_index)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    try:
        yield page
    finally:
        context.close()


def _ask(page, url: str, question: str) -> None:
    page.goto(url)
    page.wait_for_selector("#qa-question textarea")
    page.fill("#qa-question textarea", question)
    page.click("#qa-ask")
    page.wait_for_selector("#qa-chat .qa-passage")


def _cited_lines(page) -> list[int]:
    return [
        int(n)
        for n in page.eval_on_selector_all(
            "#qa-viewer .qa-cited", "rows => rows.map(r => r.dataset.line)"
        )
    ]


def _open_citation(page, label: str) -> None:
    page.click("#qa-citation input")
    page.locator("ul[role=listbox] li", has_text=label).first.click()


def _wait_for_viewer(page, passage: qa.Passage) -> None:
    page.wait_for_function(
        "want => document.querySelector('#qa-viewer .qa-viewer-head')?.innerText.includes(want)",
        arg=f"{passage.source} \u2014 lines {passage.line_start}\u2013{passage.line_end} ",
    )


def _in_view(page, selector: str) -> bool:
    return page.eval_on_selector(
        selector,
        """row => {
            const box = row.closest('.qa-article').getBoundingClientRect();
            const r = row.getBoundingClientRect();
            return r.bottom > box.top && r.top < box.bottom;
        }""",
    )


def test_ask_see_citations_and_open_a_source(page, seed_url, seed_index, artifacts):
    expected = seed_index.search(QUESTION, k=5)
    _ask(page, seed_url, QUESTION)

    chat = page.locator("#qa-chat")
    assert page.locator("#qa-chat .qa-passage").count() == len(expected)
    cites = page.locator("#qa-chat .qa-cite code").all_inner_texts()
    assert cites == [p.citation for p in expected]
    texts = page.locator("#qa-chat .qa-text").all_inner_texts()
    for shown, passage in zip(texts, expected, strict=True):
        assert " ".join(passage.text.split()) in " ".join(shown.split())
    marks = page.locator("#qa-chat mark.qa-hl").all_inner_texts()
    assert [" ".join(m.split()) for m in marks] == [
        " ".join(p.highlight.split()) for p in expected if p.highlight
    ]
    assert QUESTION in chat.inner_text()

    # The first citation opens by itself; its lines are marked and in view.
    first = expected[0]
    page.wait_for_selector("#qa-viewer .qa-cited")
    assert _cited_lines(page) == list(range(first.line_start, first.line_end + 1))
    assert first.source in page.inner_text("#qa-viewer .qa-viewer-head")
    page.screenshot(path=str(artifacts / "answer.png"), full_page=True)

    # Open another citation from the answer.
    other = next(
        (p for p in expected[1:] if p.citation != first.citation and p.line_start > 6),
        expected[-1],
    )
    _open_citation(page, other.citation)
    _wait_for_viewer(page, other)
    assert other.source in page.inner_text("#qa-viewer .qa-viewer-head")
    assert _cited_lines(page) == list(range(other.line_start, other.line_end + 1))
    article = seed_index.source_text(other.source).split("\n")
    cited_text = page.locator("#qa-viewer .qa-cited .qa-lt").all_inner_texts()
    for shown, line in zip(cited_text, article[other.line_start - 1 : other.line_end], strict=True):
        assert shown.strip("\u200b") == line
    page.wait_for_timeout(300)  # let the scroll settle
    assert _in_view(page, "#qa-viewer .qa-cited")
    page.screenshot(path=str(artifacts / "source-viewer.png"), full_page=True)


def test_bad_questions_show_a_message(page, seed_url):
    page.goto(seed_url)
    page.wait_for_selector("#qa-question textarea")
    page.click("#qa-ask")  # empty question
    page.wait_for_selector("#qa-chat .qa-error")
    assert "question is empty" in page.inner_text("#qa-chat .qa-error")
    page.fill("#qa-question textarea", "Frage " * 1_000)
    page.click("#qa-ask")
    page.wait_for_function("() => document.querySelectorAll('#qa-chat .qa-error').length == 2")
    assert "too long" in page.locator("#qa-chat .qa-error").nth(1).inner_text()
    page.click("#qa-clear")
    page.wait_for_function("() => !document.querySelector('#qa-chat .qa-error')")


def test_hostile_article_and_question_stay_text(page, evil_url, evil_index, artifacts):
    _ask(page, evil_url, EVIL_QUESTION)
    page.wait_for_selector("#qa-viewer .qa-cited")
    assert len(evil_index.sources) == 1
    passages = evil_index.search(EVIL_QUESTION, k=5)
    hostile = next(p for p in passages if "<script>" in p.text)
    if hostile.citation != passages[0].citation:
        _open_citation(page, hostile.citation)
        _wait_for_viewer(page, hostile)
    page.wait_for_timeout(1_000)  # give any injected handler the chance to fire

    assert page.evaluate("() => window.__xss") is None
    assert page.dialogs == []
    for region in ("#qa-chat", "#qa-viewer"):
        for tag in ("script", "img", "svg", "a", "iframe"):
            assert (
                page.locator(f"{region} .qa-answer {tag}, {region} .qa-viewer {tag}").count() == 0
            )
    assert page.locator("a[href^='javascript' i]").count() == 0

    chat = page.inner_text("#qa-chat")
    assert "<img src=x onerror=\"window.__xss='q'\"> [q](javascript:alert(1))" in chat
    assert "<script>window.__xss = 'script'; alert('script')</script>" in chat
    viewer = page.inner_text("#qa-viewer")
    for line in EVIL_ARTICLE.splitlines():
        if line:
            assert line in viewer
    assert re.search(r"\$\$x\^2\$\$", viewer)
    assert page.locator("#qa-chat .katex, #qa-viewer .katex").count() == 0
    page.screenshot(path=str(artifacts / "xss.png"), full_page=True)
