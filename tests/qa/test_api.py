from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import qa
from tests.conftest import PASSAGE_FIELDS, REPO, SEEDS

QUESTIONS = json.loads((REPO / "tests/data/seed_questions.json").read_text(encoding="utf-8"))


def _rank(hits: list[qa.Passage], source: str, line: int) -> int | None:
    for rank, h in enumerate(hits, 1):
        if h.source == source and h.line_start <= line <= h.line_end:
            return rank
    return None


def test_every_seed_passage_cites_lines_that_hold_its_text(seed_index: qa.Index) -> None:
    assert seed_index.sources == tuple(f"seeds/{p.name}" for p in sorted(SEEDS.glob("*.txt")))
    hits = seed_index.search("Putin", k=len(seed_index))
    assert len(hits) == len(seed_index) > 50
    for h in hits:
        lines = (REPO / h.source).read_text(encoding="utf-8").split("\n")
        cited = " ".join(lines[h.line_start - 1 : h.line_end])
        assert re.sub(r"\s+", " ", h.text) in re.sub(r"\s+", " ", cited), h.citation
        assert h.citation == f"{h.source}:{h.line_start}-{h.line_end}"


@pytest.mark.parametrize("case", QUESTIONS[:8], ids=lambda c: c["question"][:40])
def test_known_german_questions_find_their_source_and_line(
    seed_index: qa.Index, case: dict
) -> None:
    hits = seed_index.search(case["question"], k=5)
    assert _rank(hits, case["source"], case["line"]) is not None, [h.citation for h in hits]


def test_the_seed_question_set_as_a_whole(seed_index: qa.Index) -> None:
    """German and English questions: most first, nearly all in the top five."""
    ranks = [
        _rank(seed_index.search(c["question"], k=5), c["source"], c["line"]) for c in QUESTIONS
    ]
    assert sum(r == 1 for r in ranks) >= 10, ranks
    assert sum(r is not None for r in ranks) >= 12, ranks


def test_english_questions_find_german_passages(seed_index: qa.Index) -> None:
    english = [c for c in QUESTIONS if c["question"].startswith(("How", "Who", "Why", "Which"))]
    found = [_rank(seed_index.search(c["question"], k=5), c["source"], c["line"]) for c in english]
    assert sum(r is not None for r in found) >= len(english) - 1, found


def test_passage_is_frozen_and_serialisable(seed_index: qa.Index) -> None:
    p = seed_index.search("Wer kommentiert?", k=1)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.score = 1.0  # type: ignore[misc]
    d = p.to_dict()
    assert set(d) == PASSAGE_FIELDS
    assert 0.0 <= d["relevance"] <= 1.0
    assert d["highlight"] in d["text"] and d["highlight"]
    json.dumps(d)


def test_highlight_is_the_matching_sentence(seed_index: qa.Index) -> None:
    hit = seed_index.search("Wie viele Reservisten umfasst die Teilmobilmachung?", k=1)[0]
    assert "300.000 Reservisten" in hit.highlight


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question_is_refused(seed_index: qa.Index, question: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        seed_index.search(question)
    with pytest.raises(ValueError, match="empty"):
        qa.retrieve(question)


@pytest.mark.parametrize("k", [0, -3, 1.5, True])
def test_bad_k_is_refused(seed_index: qa.Index, k: object) -> None:
    with pytest.raises(ValueError, match="k must be"):
        seed_index.search("Putin", k=k)  # type: ignore[arg-type]


def test_k_larger_than_the_index_returns_every_passage(seed_index: qa.Index) -> None:
    assert len(seed_index.search("Putin", k=10_000)) == len(seed_index)


def test_batch_search_is_search_of_each(seed_index: qa.Index) -> None:
    questions = [c["question"] for c in QUESTIONS[:4]]
    batch = seed_index.batch_search(questions, k=3)
    for question, hits in zip(questions, batch, strict=True):
        single = seed_index.search(question, k=3)
        assert [h.citation for h in hits] == [h.citation for h in single]
        assert [h.score for h in hits] == pytest.approx([h.score for h in single], abs=1e-5)


def test_retrieve_builds_the_default_index_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_INDEX", str(tmp_path / "default-index"))
    monkeypatch.setenv("QA_CORPUS", "seeds")
    hits = qa.retrieve("Wer kommentiert?", k=2)
    assert len(hits) == 2 and hits[0].source.startswith("seeds/")
    assert (tmp_path / "default-index" / "CURRENT").is_file()


def test_import_qa_does_not_need_gradio() -> None:
    code = (
        "import sys; sys.modules['gradio'] = None\n"
        "import qa, qa.cli\n"
        "assert 'gradio' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "print(sorted(qa.__all__))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Index" in out.stdout and "retrieve" in out.stdout
