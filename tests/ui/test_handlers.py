"""ui.handlers: chat turns and /retrieve never pass bad input on; derived examples."""

from __future__ import annotations

import html

import pytest

import qa
import ui
from tests.conftest import PASSAGE_FIELDS
from tests.ui.markup import assert_inert, shown_text

# Source names that are glob patterns of other names unless escaped.
TRICKY_NAMES = ["a[1].txt", "a1.txt", "b*.txt", "b-x.txt", "c?.txt", "cd.txt"]


@pytest.mark.parametrize(
    "question",
    [
        "",
        "   \t\n ",
        "Reservisten? " * 8_000,  # ~100 KB
        "Reservisten\x00\x07\x1b[31m Putin\x7f",
        "Сколько резервистов мобилизует Путин?",
        "普京动员了多少预备役人员\uff1f",
        "<img src=x onerror=alert(1)>",
    ],
    ids=["empty", "whitespace", "100kb", "control", "cyrillic", "chinese", "html"],
)
def test_chat_turn_never_raises(seed_index, question):
    answer, hits, asked = ui.chat_turn(seed_index, question, 5)
    assert_inert(answer)
    if not question.strip() or len(question) > ui.MAX_QUESTION_CHARS:
        assert "qa-error" in answer and hits == [] and asked is None
    else:
        assert hits and all(h["source"] in seed_index.sources for h in hits)
        assert asked is not None and "\x00" not in asked


@pytest.mark.parametrize(
    ("question", "lang", "message"),
    [
        ("  ", "de", "Bitte geben Sie eine Frage ein."),
        ("  ", "en", "Please type a question."),
        ("Frage " * 1_000, "de", "Die Frage ist zu lang (6.000 Zeichen, höchstens 2.000)."),
        ("Frage " * 1_000, "en", "The question is too long (6,000 characters, at most 2,000)."),
    ],
    ids=["empty-de", "empty-en", "long-de", "long-en"],
)
def test_chat_turn_refuses_in_the_ui_language(seed_index, question, lang, message):
    turn = ui.chat_turn(seed_index, question, 5, lang=lang)
    assert shown_text(turn.answer) == message and turn.question is None


@pytest.mark.parametrize("k", [0, -3, 2.5, "five", None, float("nan")])
def test_chat_turn_rejects_bad_k_with_a_message(seed_index, k):
    answer, hits, asked = ui.chat_turn(seed_index, "Wer ist Putin?", k)
    assert "qa-error" in answer and "k must" in html.unescape(answer)
    assert hits == [] and asked is None


def test_chat_turn_takes_context_from_the_history(seed_index):
    first = "Wen hat Putin zur Wahl beglückwünscht?"
    follow_up = "Und wo hat er sich mit ihm solidarisiert?"
    turn = ui.chat_turn(seed_index, follow_up, 5, history=[first])
    expected = seed_index.search(follow_up, k=5, history=[first])
    assert [h["citation"] for h in turn.hits] == [p.citation for p in expected]
    assert turn.answer == ui.format_answer(expected)
    assert turn.question == follow_up


def test_retrieve_returns_json_dicts(seed_index):
    rows = ui.retrieve(seed_index, "Wie viele Reservisten?", 3)
    assert len(rows) == 3
    for row in rows:
        assert set(row) == PASSAGE_FIELDS
        assert row["source"] in seed_index.sources
        assert row["highlight"] in row["text"]
        assert 0.0 <= row["relevance"] <= 1.0


def test_retrieve_passes_the_history(seed_index):
    first = "Wen hat Putin zur Wahl beglückwünscht?"
    follow_up = "Und wo hat er sich mit ihm solidarisiert?"
    rows = ui.retrieve(seed_index, follow_up, 3, [first])
    assert rows == [p.to_dict() for p in seed_index.search(follow_up, k=3, history=[first])]
    assert ui.retrieve(seed_index, follow_up, 3, None) == ui.retrieve(seed_index, follow_up, 3)
    with pytest.raises(ValueError, match="history"):
        ui.retrieve(seed_index, follow_up, 3, "not a list")


def test_example_questions_are_derived_from_article_openings(seed_index):
    examples = ui.example_questions(seed_index)
    assert len(examples) == 3
    assert examples == ui.example_questions(seed_index)  # deterministic
    for example, source in zip(examples, seed_index.sources, strict=False):
        assert example.startswith("Wo steht „") and example.endswith("“?")
        opening = example.removeprefix("Wo steht „").removesuffix("“?")
        assert " ".join(opening.removesuffix(" …").split()) in " ".join(
            seed_index.source_text(source).split()
        )
        assert len(opening.split()) <= 11


def test_example_questions_skip_titles_and_datelines(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(
        " date 2022-01 Kurz\nTitel\n\nDie Regierung hat am Montag ein neues Gesetz "
        "für die Bahn beschlossen. Mehr folgt.\n",
        encoding="utf-8",
    )
    (corpus / "b.txt").write_text("Kurz.\n\nNur kurz.\n", encoding="utf-8")
    index = qa.Index.build([corpus], tmp_path / "index")
    assert ui.example_questions(index) == [
        "Wo steht „Die Regierung hat am Montag ein neues Gesetz für die …“?"
    ]


@pytest.mark.parametrize("examples", [[""], ["  "], ["x" * 3_000], "eine Frage", [None]])
def test_build_app_refuses_bad_examples(seed_index, examples):
    with pytest.raises(ValueError, match="example"):
        ui.build_app(seed_index, examples)


@pytest.fixture(scope="module")
def tricky_index(tmp_path_factory) -> qa.Index:
    corpus = tmp_path_factory.mktemp("tricky-corpus")
    for number, name in enumerate(TRICKY_NAMES):
        text = f"Artikel {number}: Die Reservisten werden in Welle {number} einberufen.\n"
        (corpus / name).write_text(text, encoding="utf-8")
    return qa.Index.build([corpus], tmp_path_factory.mktemp("tricky-index") / "index")


def test_source_pattern_matches_exactly_its_source(tricky_index):
    assert ui.source_pattern("seeds/003_x.txt") == "seeds/003_x.txt"
    assert len(tricky_index.sources) == len(TRICKY_NAMES)
    for source in tricky_index.sources:
        hits = tricky_index.search("Reservisten", k=10, sources=[ui.source_pattern(source)])
        assert {hit.source for hit in hits} == {source}, ui.source_pattern(source)
    # Unescaped, some names match others too: the escaping is needed.
    loose = {s: tricky_index.search("Reservisten", k=10, sources=[s]) for s in tricky_index.sources}
    assert any(len({hit.source for hit in hits}) > 1 for hits in loose.values())
