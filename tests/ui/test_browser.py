"""The UI in a real browser: headless Chromium (Debian's package) driven by Playwright.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``); skipped without it.
Screenshots go to ``$QA_ARTIFACTS_DIR/ui`` (default ``artifacts/ui``).
"""

from __future__ import annotations

import functools
import re
import socket
from collections.abc import Iterator

import pytest

import qa
import ui
from tests.ui.serving import qa_serve
from ui import texts

pytestmark = [
    pytest.mark.browser,
    # Gradio's queue uses pandas options that pandas 3 deprecates; not ours to fix.
    pytest.mark.filterwarnings("ignore::Warning:gradio.queueing"),
]

QUESTION = "Wie viele Reservisten sollen bei der Teilmobilmachung einberufen werden?"
FIRST = "Wen hat Putin zur Wahl beglückwünscht?"
FOLLOW_UP = "Und wo hat er sich mit ihm solidarisiert?"
FOLLOW_UP_SOURCE = "seeds/000_4e643a41be3c1e52.txt"  # "… hat Putin sich … solidarisiert."
OFF_TOPIC = "Wer hat die Fußball-WM 2014 gewonnen?"
EXAMPLES = [
    "Wie viele Reservisten umfasst die Teilmobilmachung?",
    "Warum verstärkt die NATO ihre Ostflanke?",
]
PHONE = {"width": 390, "height": 844}

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


def _serve(index: qa.Index, examples: list[str] | None = None) -> Iterator[str]:
    app = ui.build_app(index, examples)
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
    yield from _serve(evil_index, [EVIL_QUESTION])


@pytest.fixture(scope="module")
def examples_url(seed_index) -> Iterator[str]:
    yield from _serve(seed_index, EXAMPLES)


def _ask(page, url: str, question: str) -> None:
    page.goto(url)
    page.wait_for_selector("#qa-question textarea")
    _ask_more(page, question)


def _ask_more(page, question: str) -> None:
    """Asks another question in the open chat and waits for its answer."""
    answers = page.locator("#qa-chat .qa-answer, #qa-chat .qa-error").count()
    page.fill("#qa-question textarea", question)
    page.click("#qa-ask")
    page.wait_for_function(
        "n => document.querySelectorAll('#qa-chat .qa-answer, #qa-chat .qa-error').length > n",
        arg=answers,
    )


def _last_answer(page):
    return page.locator("#qa-chat .qa-answer").last


def _citations(answer) -> list[str]:
    return answer.locator(".qa-cite code").all_inner_texts()


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


def _wait_for_viewer(page, passage: qa.Passage, lang: texts.Language = "de") -> None:
    page.wait_for_function(
        "want => document.querySelector('#qa-viewer .qa-viewer-head')?.innerText.includes(want)",
        arg=f"{passage.source} \u2014 "
        + texts.text(lang, "lines", start=passage.line_start, end=passage.line_end, total=""),
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
    assert page.inner_text("#qa-chat .qa-error") == texts.text("de", "error_empty")
    page.fill("#qa-question textarea", "Frage " * 1_000)
    page.click("#qa-ask")
    page.wait_for_function("() => document.querySelectorAll('#qa-chat .qa-error').length == 2")
    assert "zu lang" in page.locator("#qa-chat .qa-error").nth(1).inner_text()
    page.click("#qa-clear")
    page.wait_for_function("() => !document.querySelector('#qa-chat .qa-error')")


def test_hostile_article_and_question_stay_text(page, evil_url, evil_index, artifacts):
    page.goto(evil_url)
    example = page.locator("#qa-chat button", has_text="Reservisten <img")
    example.wait_for()
    assert example.inner_text() == EVIL_QUESTION  # an example question is text too
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__xss") is None
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


def _line_of(index: qa.Index, source: str, words: str) -> int:
    """The 1-based line of ``source`` that holds ``words``."""
    lines = index.source_text(source).split("\n")
    return next(number for number, line in enumerate(lines, 1) if words in line)


def test_follow_up_takes_context_from_the_conversation(page, seed_url, seed_index, artifacts):
    with_history = seed_index.search(FOLLOW_UP, k=5, history=[FIRST])
    alone = seed_index.search(FOLLOW_UP, k=5)
    # The follow-up is answered from the article about the first question, at the line
    # that says where Putin sided with him.
    assert with_history[0].source == FOLLOW_UP_SOURCE
    line = _line_of(seed_index, FOLLOW_UP_SOURCE, "solidarisiert")
    assert with_history[0].line_start <= line <= with_history[0].line_end

    _ask(page, seed_url, FIRST)
    _ask_more(page, "Frage " * 1_000)  # refused: not part of the conversation
    _ask_more(page, FOLLOW_UP)
    answer = _last_answer(page)
    assert _citations(answer) == [p.citation for p in with_history]
    assert _citations(answer)[0].startswith(f"{FOLLOW_UP_SOURCE}:")
    mark = answer.locator("mark.qa-hl").first.inner_text()
    assert " ".join(mark.split()) == " ".join(with_history[0].highlight.split())
    page.screenshot(path=str(artifacts / "follow-up.png"), full_page=True)

    # "Chat leeren" starts a new conversation: the same question now stands alone.
    page.click("#qa-clear")
    page.wait_for_function("() => !document.querySelector('#qa-chat .qa-answer')")
    _ask_more(page, FOLLOW_UP)
    assert _citations(_last_answer(page)) == [p.citation for p in alone]

    # So does the chatbot's own trash button (labelled by Gradio's German texts).
    _ask_more(page, FIRST)
    page.locator("#qa-chat").get_by_role("button", name="Chat leeren", exact=True).click()
    page.wait_for_function("() => !document.querySelector('#qa-chat .qa-answer')")
    _ask_more(page, FOLLOW_UP)
    assert _citations(_last_answer(page)) == [p.citation for p in alone]


@pytest.mark.parametrize("lang", ["de", "en"])
def test_off_topic_question_is_not_answered(new_page, seed_url, seed_index, artifacts, lang):
    passages = seed_index.search(OFF_TOPIC, k=5)
    not_answered = passages[0].relevance < qa.MIN_RELEVANCE
    page = new_page(locale={"de": "de-DE", "en": "en-US"}[lang])
    _ask(page, seed_url, OFF_TOPIC)
    answer = _last_answer(page)
    note = answer.locator(".qa-unanswered")
    assert note.count() == int(not_answered)
    # The calibration should say that no seed article answers this question.
    assert not_answered, f"relevance {passages[0].relevance:.3f} >= {qa.MIN_RELEVANCE}"
    assert note.inner_text() == texts.text(lang, "not_answered")
    assert answer.locator(".qa-candidates").inner_text() == texts.text(lang, "candidates")
    assert answer.locator(".qa-passage.qa-weak").count() == len(passages)
    badges = answer.locator(".qa-rel").all_inner_texts()
    assert badges == [texts.text(lang, f"fit_{p.fit.value}") for p in passages]
    assert "%" not in answer.inner_text()
    page.screenshot(path=str(artifacts / f"not-answered-{lang}.png"), full_page=True)


def test_answer_shows_a_label_beside_each_citation(page, seed_url, seed_index):
    passages = seed_index.search(QUESTION, k=5)
    _ask(page, seed_url, QUESTION)
    answer = _last_answer(page)
    assert answer.locator(".qa-unanswered").count() == int(passages[0].fit is qa.Fit.POOR)
    cites = answer.locator(".qa-cite").all_inner_texts()
    for shown, passage in zip(cites, passages, strict=True):
        assert passage.citation in shown
        assert texts.text("de", f"fit_{passage.fit.value}") in shown
        assert "%" not in shown
    weak = [p.relevance < qa.MIN_RELEVANCE for p in passages]
    classes = answer.locator(".qa-passage").evaluate_all("els => els.map(e => e.className)")
    assert ["qa-weak" in c for c in classes] == weak


def test_empty_chat_shows_the_index_and_derived_examples(page, seed_url, seed_index):
    page.goto(seed_url)
    page.wait_for_selector("#qa-chat .qa-overview")
    overview = page.inner_text("#qa-chat .qa-overview")
    assert f"{len(seed_index.sources)} Artikel, {len(seed_index)} Textstellen" in overview
    assert texts.format_date(seed_index.updated, "de") in overview
    for example in ui.example_questions(seed_index):
        assert page.locator("#qa-chat button", has_text=example).count() == 1


def test_clicking_an_example_asks_it(page, examples_url, seed_index, artifacts):
    page.goto(examples_url)
    page.wait_for_selector("#qa-chat .qa-overview")
    buttons = [page.locator("#qa-chat button", has_text=e) for e in EXAMPLES]
    assert [b.count() for b in buttons] == [1, 1]
    page.screenshot(path=str(artifacts / "examples.png"), full_page=True)
    buttons[1].click()
    page.wait_for_selector("#qa-chat .qa-answer")
    assert page.inner_text("#qa-chat .qa-user") == EXAMPLES[1]
    expected = seed_index.search(EXAMPLES[1], k=5)
    assert _citations(_last_answer(page)) == [p.citation for p in expected]
    page.wait_for_selector("#qa-viewer .qa-cited")
    assert page.locator("#qa-chat .qa-overview").count() == 0
    # An example is part of the conversation like a typed question.
    _ask_more(page, FOLLOW_UP)
    expected = seed_index.search(FOLLOW_UP, k=5, history=[EXAMPLES[1]])
    assert _citations(_last_answer(page)) == [p.citation for p in expected]
    # A new conversation offers the examples again.
    page.click("#qa-clear")
    page.wait_for_selector("#qa-chat .qa-overview")
    assert buttons[0].count() == 1


@pytest.mark.parametrize(
    ("locale", "lang"),
    [("de-DE", "de"), ("en-US", "en"), ("en-GB", "en"), ("fr-FR", "de")],
)
def test_ui_speaks_the_browser_language(new_page, seed_url, seed_index, locale, lang):
    page = new_page(locale=locale)
    _ask(page, seed_url, QUESTION)
    say = functools.partial(texts.text, lang)
    assert say("heading").splitlines()[0].removeprefix("## ") in page.inner_text("#qa-heading")
    assert page.inner_text("#qa-ask") == say("ask")
    assert page.inner_text("#qa-clear") == say("clear")
    assert page.get_attribute("#qa-question textarea", "placeholder") == say("question_placeholder")
    assert say("passages_per_answer") in page.inner_text("#qa-k")
    assert say("only_articles") in page.inner_text("#qa-articles")
    assert say("only_articles_info") in page.inner_text("#qa-articles")
    assert say("open_citation") in page.inner_text("#qa-citation")
    assert say("answers") in page.inner_text("#qa-chat")
    passages = seed_index.search(QUESTION, k=5)
    shown = _last_answer(page).inner_text()
    assert say(f"fit_{passages[0].fit.value}") in shown
    _wait_for_viewer(page, passages[0], lang)
    page.click("#qa-clear")
    page.wait_for_selector("#qa-chat .qa-overview")
    assert say("archive") in page.inner_text("#qa-chat .qa-overview")
    assert page.inner_text("#qa-viewer") == say("viewer_placeholder")


def test_choosing_an_article_searches_only_it(page, seed_url, seed_index, artifacts):
    everywhere = seed_index.search(QUESTION, k=5)
    source = next(s for s in seed_index.sources if s != everywhere[0].source)
    only = seed_index.search(QUESTION, k=5, sources=[ui.source_pattern(source)])
    page.goto(seed_url)
    page.wait_for_selector("#qa-question textarea")
    page.click("#qa-articles input")
    page.locator("ul[role=listbox] li", has_text=source).first.click()
    page.wait_for_selector(f"#qa-articles .token:has-text('{source}')")
    _ask_more(page, QUESTION)
    cited = _citations(_last_answer(page))
    assert cited == [p.citation for p in only]
    assert all(citation.startswith(f"{source}:") for citation in cited)
    page.wait_for_selector("#qa-viewer .qa-cited")
    assert source in page.inner_text("#qa-viewer .qa-viewer-head")
    page.screenshot(path=str(artifacts / "chosen-article.png"), full_page=True)

    # Without a choice, every article is searched again.
    page.click("#qa-articles .token-remove")
    page.wait_for_function("() => !document.querySelector('#qa-articles .token')")
    _ask_more(page, QUESTION)
    assert _citations(_last_answer(page)) == [p.citation for p in everywhere]


def _scroll_y(page) -> float:
    return page.evaluate("() => window.scrollY")


def test_phone_keeps_the_answer_in_view(new_page, seed_url, seed_index, artifacts):
    page = new_page(viewport=PHONE)
    page.goto(seed_url)
    page.wait_for_selector("#qa-question textarea")
    page.screenshot(path=str(artifacts / "phone-empty.png"))
    before = _scroll_y(page)
    page.fill("#qa-question textarea", QUESTION)
    page.press("#qa-question textarea", "Enter")
    page.wait_for_selector("#qa-viewer .qa-cited")  # the first citation opens by itself
    page.wait_for_timeout(500)  # let the scrolling settle
    page.screenshot(path=str(artifacts / "phone-answer.png"))
    assert _scroll_y(page) == before
    # The latest question and the start of its answer are on screen, inside the chat.
    boxes = page.evaluate(
        """() => {
            const box = e => { const r = e.getBoundingClientRect(); return [r.top, r.bottom]; };
            const chat = document.querySelector('#qa-chat');
            return {
                chat: box(chat),
                question: box([...chat.querySelectorAll('.qa-user')].pop()),
                answer: box([...chat.querySelectorAll('.qa-answer')].pop()),
                first: box([...chat.querySelectorAll('.qa-answer')].pop().firstElementChild),
                height: window.innerHeight,
                width: document.documentElement.scrollWidth,
            };
        }"""
    )
    assert boxes["chat"][0] >= 0 and boxes["chat"][1] <= boxes["height"]
    assert boxes["chat"][0] <= boxes["question"][0] < boxes["answer"][0]
    assert boxes["first"][1] <= boxes["chat"][1]
    assert boxes["width"] <= PHONE["width"]  # nothing wider than the screen

    # Opening a citation scrolls the article inside the viewer, never the page.
    passages = seed_index.search(QUESTION, k=5)
    deepest = max(passages, key=lambda p: p.line_start)
    page.click("#qa-citation input")
    option = page.locator("ul[role=listbox] li", has_text=deepest.citation).first
    option.scroll_into_view_if_needed()
    before = _scroll_y(page)
    option.click()
    _wait_for_viewer(page, deepest)
    page.wait_for_timeout(500)
    assert _scroll_y(page) == before
    article = page.eval_on_selector(
        "#qa-viewer .qa-article",
        """box => ({
            top: box.scrollTop,
            cited: box.querySelector('.qa-cited').offsetTop,
            height: box.clientHeight,
        })""",
    )
    assert article["cited"] > article["height"], "pick a citation further down the article"
    assert article["top"] > 0
    assert _in_view(page, "#qa-viewer .qa-cited")
    page.screenshot(path=str(artifacts / "phone-viewer.png"), full_page=True)


def test_overview_and_articles_follow_a_new_generation(new_page, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("a", "b"):
        (corpus / f"{name}.txt").write_text(f"Artikel {name} über den Hafen.\n", "utf-8")
    index = qa.Index.build([corpus], tmp_path / "index")
    stop = index.follow(interval=0.2)
    try:
        for url in _serve(index):
            page = new_page()
            page.goto(url)
            page.wait_for_selector("#qa-chat .qa-overview")
            assert "2 Artikel, 2 Textstellen" in page.inner_text("#qa-chat .qa-overview")
            (corpus / "c.txt").write_text("Artikel c über den Bahnhof.\n", "utf-8")
            qa.Index.build([corpus], tmp_path / "index")
            page.wait_for_function(
                "() => document.querySelector('#qa-chat .qa-overview')"
                "?.innerText.includes('3 Artikel, 3 Textstellen')",
                timeout=20_000,
            )
            page.click("#qa-articles input")
            page.wait_for_selector(f'text="{corpus}/c.txt"')
    finally:
        stop()


@pytest.fixture(scope="module")
def served_url(seed_index) -> Iterator[str]:
    """``qa serve`` over the seeds as ``make run`` starts it: a real process."""
    with qa_serve(seed_index.path) as url:
        yield url


def test_served_chat_trusts_right_answers_and_flags_an_off_topic_one(
    page, served_url, seed_index, artifacts
):
    """Issue #19: a right first passage gets no "not answered" box; an off-topic one does."""
    gratulated = _line_of(seed_index, FOLLOW_UP_SOURCE, "zu dessen Wahl gratuliert")
    sided = _line_of(seed_index, FOLLOW_UP_SOURCE, "solidarisiert")
    labels = {texts.text("de", f"fit_{fit.value}"): fit for fit in qa.Fit}
    _ask(page, served_url, FIRST)
    _ask_more(page, FOLLOW_UP)
    _ask_more(page, OFF_TOPIC)
    answers = page.locator("#qa-chat .qa-answer")
    assert answers.count() == 3
    for answer, line in zip([answers.nth(0), answers.nth(1)], [gratulated, sided], strict=True):
        assert _citations(answer)[0] == f"{FOLLOW_UP_SOURCE}:{line}-{line}"
        assert answer.locator(".qa-unanswered").count() == 0
        shown = answer.locator(".qa-rel").all_inner_texts()
        assert shown and all(label in labels for label in shown)
        assert labels[shown[0]] is not qa.Fit.POOR
        assert "%" not in answer.inner_text()
    off_topic = answers.nth(2)
    assert off_topic.locator(".qa-unanswered").inner_text() == texts.text("de", "not_answered")
    assert off_topic.locator(".qa-rel").first.inner_text() == texts.text("de", "fit_poor")
    page.screenshot(path=str(artifacts / "served-trust.png"), full_page=True)
