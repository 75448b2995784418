"""The question sets: XQuAD-de as one text file per article, its English questions, seeds."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from common.paths import rel
from common.results import write_if_changed
from qa.evaluation import normalise

if TYPE_CHECKING:
    import qa

__all__ = [
    "Hit",
    "Question",
    "build_index",
    "load_english",
    "load_paraphrases",
    "load_seeds",
    "normalise",
    "prepare_xquad",
    "qa_hits",
]


@dataclass(frozen=True)
class Question:
    """A question with its gold location.

    Attributes:
        qid: Identifier (the XQuAD id, or ``seed-N``).
        text: The question.
        file: File name (no folder) of the gold article.
        lines: First and last line (1-based, inclusive) of the gold paragraph.
        answers: Gold answer texts.
    """

    qid: str
    text: str
    file: str
    lines: tuple[int, int]
    answers: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    """One returned passage, reduced to what scoring needs."""

    source: str
    line_start: int
    line_end: int
    highlight: str | None


def qa_hits(passages: Sequence[qa.Passage]) -> list[Hit]:
    """Returns qa's passages as hits."""
    return [Hit(p.source, p.line_start, p.line_end, p.highlight) for p in passages]


def _file_name(number: int, title: str) -> str:
    return f"{number:02d}_{re.sub(r'[^0-9A-Za-z.-]+', '_', title).strip('_')}.txt"


def prepare_xquad(xquad: Path, folder: Path) -> list[Question]:
    """Writes one file per XQuAD article and returns the questions with gold line spans.

    Each file holds the article's paragraphs separated by blank lines. Files are only
    written when their content differs, and stale ``.txt`` files are removed, so an
    incremental index build over the folder costs nothing on a re-run.

    Args:
        xquad: The SQuAD-format JSON file.
        folder: Where to write the article files.

    Returns:
        All questions in file order.
    """
    data = json.loads(xquad.read_text(encoding="utf-8"))["data"]
    folder.mkdir(parents=True, exist_ok=True)
    questions: list[Question] = []
    names = set()
    written = 0
    for number, article in enumerate(data):
        name = _file_name(number, article["title"])
        names.add(name)
        paragraphs = [p["context"].strip() for p in article["paragraphs"]]
        line = 1
        for paragraph, raw in zip(paragraphs, article["paragraphs"], strict=True):
            span = (line, line + paragraph.count("\n"))
            line = span[1] + 2
            for item in raw["qas"]:
                answers = tuple(a["text"] for a in item["answers"])
                questions.append(Question(item["id"], item["question"], name, span, answers))
        written += write_if_changed(folder / name, "\n\n".join(paragraphs) + "\n")
    for stale in folder.glob("*.txt"):
        if stale.name not in names:
            stale.unlink()
    print(
        f"xquad: {len(data)} articles in {rel(folder)} ({written} written), "
        f"{len(questions)} questions"
    )
    return questions


def load_english(path: Path, german: Sequence[Question]) -> list[Question]:
    """Reads the English questions: ``index<TAB>question`` per line.

    ``index`` is the 0-based position of the German original among all XQuAD
    questions in file order; the gold location and answers are the German ones
    (the articles stay German).

    Args:
        path: The TSV file (no header).
        german: All XQuAD questions, in file order.
    """
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            index, text = line.split("\t", 1)
            out.append(_on_xquad(german, int(index), text, "en", f"{path}:{number}"))
    return out


def load_paraphrases(path: Path, german: Sequence[Question]) -> list[Question]:
    """Reads the German paraphrases (JSONL with ``xquad_index`` and ``question``).

    ``xquad_index`` is numbered as the index in :func:`load_english`.

    Args:
        path: The JSONL file.
        german: All XQuAD questions, in file order.
    """
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            item = json.loads(line)
            where = f"{path}:{number}"
            out.append(_on_xquad(german, item["xquad_index"], item["question"], "para", where))
    return out


def _on_xquad(
    german: Sequence[Question], index: int, text: str, prefix: str, where: str
) -> Question:
    """Returns ``text`` as a question with the gold of XQuAD question ``index``."""
    if not 0 <= index < len(german):
        raise SystemExit(f"{where}: no XQuAD question {index}")
    gold = german[index]
    return Question(f"{prefix}-{gold.qid}", text.strip(), gold.file, gold.lines, gold.answers)


def load_seeds(path: Path) -> list[Question]:
    """Reads the seed questions (``id``, ``question``, ``source``, ``lines``, ``answer``)."""
    return [
        Question(
            item["id"],
            item["question"],
            Path(item["source"]).name,
            (int(item["lines"][0]), int(item["lines"][1])),
            (item["answer"],),
        )
        for item in json.loads(path.read_text(encoding="utf-8"))
    ]


def build_index(qa_module: object, folder: Path, index_dir: Path, model: str | None) -> qa.Index:
    """Builds (or incrementally updates) an index over one folder through the public API."""
    index = qa_module.Index.build(  # type: ignore[attr-defined]
        [rel(folder)], index_dir=rel(index_dir), model=model, progress=True
    )
    report = index.build_report
    print(
        f"index {rel(index_dir)}: model {index.model}, {len(index)} passages, "
        f"{report.embedded} embedded in {report.seconds:.1f} s"
    )
    return index
