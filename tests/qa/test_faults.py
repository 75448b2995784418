"""Hostile questions through every entry point, and a source viewer that shows only indexed files.

Each entry point (the Python API, ``python -m qa ask`` and the UI functions) must answer a
question either with a list of passages or with a clear one-line error: never a traceback,
never a hang.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import qa
import ui
from tests.conftest import REPO, write

LONG = ("Wie viele Reservisten umfasst die Teilmobilmachung in Russland? " * 1700)[:100_000]

# (id, question): questions every entry point must answer with passages.
ANSWERABLE = [
    ("nul", "Wer\x00 kommentiert die Teilmobilmachung?"),
    ("ansi-escape", "\x1b[31mWie viele Reservisten\x1b[0m werden mobilisiert?"),
    ("rtl-override", "\u202eWer kommentiert?\u202c"),
    ("bell-backspace", "Nordkorea\x07\x08 Waffen Russland"),
    ("cyrillic", "Сколько резервистов будет мобилизовано?"),
    ("chinese", "俄罗斯将动员多少预备役军人？"),
    ("mixed-scripts", "Putin Путин 普京 Teilmobilmachung"),
]
EMPTY = [("empty", ""), ("whitespace", " \t\n \u3000 ")]


def _assert_cited(idx: qa.Index, passage: qa.Passage) -> None:
    """The passage's text stands on the lines it cites, in the indexed article."""
    assert passage.source in idx.sources
    assert 1 <= passage.line_start <= passage.line_end
    lines = idx.source_text(passage.source).split("\n")
    cited = lines[passage.line_start - 1 : passage.line_end]
    assert len(cited) == passage.line_end - passage.line_start + 1
    text_lines = passage.text.split("\n")
    assert passage.text in "\n".join(cited)
    assert text_lines[0] in cited[0] and text_lines[-1] in cited[-1]


def _one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("qa: error: "), stderr
    return lines[0]


def _ask(index: qa.Index, question: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qa", "ask", question, "-k", "3", "--json", "--index", index.path],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# -- Python API ---------------------------------------------------------------------------


@pytest.mark.parametrize("question", [q for _, q in EMPTY], ids=[i for i, _ in EMPTY])
def test_api_refuses_empty_questions_with_a_one_line_message(
    seed_index: qa.Index, question: str
) -> None:
    with pytest.raises(ValueError, match="empty") as info:
        seed_index.search(question)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("question", [q for _, q in ANSWERABLE], ids=[i for i, _ in ANSWERABLE])
def test_api_answers_odd_questions_with_cited_passages(seed_index: qa.Index, question: str) -> None:
    hits = seed_index.search(question, k=5)
    assert len(hits) == 5
    for hit in hits:
        assert isinstance(hit, qa.Passage)
        _assert_cited(seed_index, hit)
    # The same question in a batch gives the same answer.
    assert seed_index.batch_search([question], k=5)[0] == hits


def test_api_non_string_questions_are_refused(seed_index: qa.Index) -> None:
    for question in (None, b"bytes", 42, ["list"]):
        with pytest.raises(ValueError, match="string"):
            seed_index.search(question)  # type: ignore[arg-type]


@pytest.mark.slow
def test_api_100kb_question_answers_or_refuses_within_10_seconds(seed_index: qa.Index) -> None:
    # Run in a child process so that a runaway embedding can be killed.
    child = (
        "import json, sys, time, qa\n"
        "idx = qa.Index.load(sys.argv[1])\n"
        "idx.search('warm up', k=1)\n"
        "question = sys.stdin.read()\n"
        "start = time.perf_counter()\n"
        "try:\n"
        "    hits = idx.search(question, k=5)\n"
        "    out = {'hits': len(hits)}\n"
        "except ValueError as exc:\n"
        "    out = {'error': str(exc)}\n"
        "out['seconds'] = time.perf_counter() - start\n"
        "print(json.dumps(out))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", child, str(seed_index.path)],
            input=LONG,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        done = None
    if done is None:
        pytest.fail("Index.search with a 100 KB question ran for more than 20 s (killed)")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["seconds"] < 10, f"a 100 KB question took {out['seconds']:.1f} s"
    if "error" in out:
        assert "long" in out["error"] and "\n" not in out["error"]
    else:
        assert out["hits"] == 5


# -- command line --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("question", [q for _, q in EMPTY], ids=[i for i, _ in EMPTY])
def test_cli_refuses_empty_questions_with_exit_code_2(seed_index: qa.Index, question: str) -> None:
    done = _ask(seed_index, question)
    assert done.returncode == 2
    assert "empty" in _one_line_error(done.stderr)
    assert done.stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    # A NUL byte cannot be passed in argv at all (the OS ends the string there).
    [q for i, q in ANSWERABLE if i != "nul"],
    ids=[i for i, _ in ANSWERABLE if i != "nul"],
)
def test_cli_answers_odd_questions_with_json(seed_index: qa.Index, question: str) -> None:
    done = _ask(seed_index, question)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    hits = json.loads(done.stdout)
    assert [(h["source"], h["line_start"], h["text"]) for h in hits] == [
        (p.source, p.line_start, p.text) for p in seed_index.search(question, k=3)
    ]


@pytest.mark.slow
def test_cli_100kb_question_answers_or_refuses_within_10_seconds(seed_index: qa.Index) -> None:
    start = time.perf_counter()
    try:
        done = _ask(seed_index, LONG, timeout=20)
    except subprocess.TimeoutExpired:
        done = None
    if done is None:
        pytest.fail("`qa ask` with a 100 KB question ran for more than 20 s (killed)")
    seconds = time.perf_counter() - start
    if done.returncode == 2:
        assert "long" in _one_line_error(done.stderr)
    else:
        assert done.returncode == 0, done.stderr
        assert len(json.loads(done.stdout)) == 3
    assert seconds < 12, f"`qa ask` with a 100 KB question took {seconds:.1f} s"


# -- UI functions --------------------------------------------------------------------------


@pytest.mark.parametrize("question", [q for _, q in EMPTY], ids=[i for i, _ in EMPTY])
def test_ui_refuses_empty_questions(seed_index: qa.Index, question: str) -> None:
    with pytest.raises(ValueError, match="question is empty"):
        ui.retrieve(seed_index, question, 5)
    html, hits, _ = ui.chat_turn(seed_index, question, 5, lang=ui.Language.EN)
    assert hits == [] and "qa-error" in html and "Please type a question" in html


def test_ui_refuses_a_100kb_question_at_once(seed_index: qa.Index) -> None:
    start = time.perf_counter()
    with pytest.raises(ValueError, match="too long"):
        ui.retrieve(seed_index, LONG, 5)
    html, hits, _ = ui.chat_turn(seed_index, LONG, 5, lang=ui.Language.EN)
    assert hits == [] and "qa-error" in html and "too long" in html
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize("question", [q for _, q in ANSWERABLE], ids=[i for i, _ in ANSWERABLE])
def test_ui_answers_odd_questions(seed_index: qa.Index, question: str) -> None:
    results = ui.retrieve(seed_index, question, 5)
    assert len(results) == 5
    for r in results:
        assert set(r) >= {"source", "line_start", "line_end", "text", "score", "highlight"}
        _assert_cited(
            seed_index, qa.Passage(**{k: r[k] for k in r if k not in ("highlight", "fit")})
        )
    html, hits, _ = ui.chat_turn(seed_index, question, 5)
    assert "qa-error" not in html and len(hits) == 5
    # Control characters never reach the browser: not in the answer, not in the question.
    for shown in (html, ui.format_question(question)):
        assert not any(c in shown for c in "\x00\x1b\x07\x08")


# -- the source viewer ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "seeds/../../../etc/passwd",
        "seeds/../README.md",
        "README.md",
        "pyproject.toml",
        "seeds",
        "",
    ],
)
def test_viewer_refuses_anything_not_indexed(seed_index: qa.Index, source: str) -> None:
    html = ui.view_source(seed_index, source, 1, 1)
    assert "qa-error" in html and "ist kein Artikel im Index" in html
    assert "root:" not in html and "[project]" not in html and "qa-line" not in html
    with pytest.raises(KeyError, match="not an indexed source"):
        seed_index.source_text(source)


def test_viewer_refuses_other_spellings_of_indexed_files(seed_index: qa.Index) -> None:
    name = seed_index.sources[0]
    assert "qa-line" in ui.view_source(seed_index, name, 1, 1)
    for alias in (str(REPO / name), f"./{name}", name.replace("/", "//"), f"seeds/../{name}"):
        assert "ist kein Artikel im Index" in ui.view_source(seed_index, alias, 1, 1), alias
        with pytest.raises(KeyError):
            seed_index.source_text(alias)
    for bad in (None, 1, b"seeds"):
        assert "qa-error" in ui.view_source(seed_index, bad, 1, 1)  # type: ignore[arg-type]


def test_viewer_refuses_a_symlink_out_of_the_corpus(tmp_path: Path) -> None:
    secret = write(tmp_path / "outside" / "secret.txt", "GEHEIM: das Passwort ist hunter2.\n")
    corpus = tmp_path / "corpus"
    write(corpus / "a.txt", "Die Katze schläft auf dem Sofa.\n")
    (corpus / "link.txt").symlink_to(secret)
    (corpus / "outdir").symlink_to(secret.parent, target_is_directory=True)
    idx = qa.Index.build([corpus], tmp_path / "idx")
    assert idx.sources == (f"{corpus}/a.txt",)
    for name in (f"{corpus}/link.txt", f"{corpus}/outdir/secret.txt", str(secret)):
        html = ui.view_source(idx, name, 1, 1)
        assert "ist kein Artikel im Index" in html and "hunter2" not in html
        with pytest.raises(KeyError):
            idx.source_text(name)
    assert all("hunter2" not in h.text for h in idx.search("Passwort GEHEIM", k=5))


def test_viewer_shows_the_indexed_text_even_after_the_file_changes(tmp_path: Path) -> None:
    # The viewer reads the index, never the disk: replacing the file with a symlink to a
    # secret after indexing shows nothing new.
    corpus = tmp_path / "corpus"
    article = write(corpus / "a.txt", "Die Katze schläft auf dem Sofa.\n")
    secret = write(tmp_path / "secret.txt", "hunter2\n")
    idx = qa.Index.build([corpus], tmp_path / "idx")
    article.unlink()
    article.symlink_to(secret)
    os.utime(article, follow_symlinks=False)
    html = ui.view_source(idx, f"{corpus}/a.txt", 1, 1)
    assert "Katze" in html and "hunter2" not in html
