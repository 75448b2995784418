"""Checks the natural-question sets over the news articles (stdlib and qa only).

Indexes ``articles/`` with qa into a temporary folder (or reads ``--index DIR``, an index
built from exactly ``benchmarks/eval/news/articles``) and checks:

- every gold names an indexed article and a span that is exactly the file lines qa cites
  for one paragraph of it (a run of readable lines between blank lines);
- every answer is a substring of the text qa reads on the gold lines (whitespace
  normalised); with two golds, of at least one of them;
- ids are unique across all four files, kinds and languages are known, unanswerable
  items have no gold and a ``why``;
- conversations have 2-4 turns, a ``first`` turn first and no ``first`` later;
- the counts meet the minimums of issue #19.

It also lists, as notes, answers that occur in another paragraph of the same article, for
a reader to confirm that the question points to its gold only. Prints "no errors" or the
errors and exits 1.

Run from the repository root::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/eval/news/check.py
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

import qa

HERE = Path(__file__).resolve().parent
ARTICLES = "benchmarks/eval/news/articles"
KINDS = {"literal", "paraphrase", "english", "count", "date"}
TURN_KINDS = {"first", "followup", "switch"}
LANGS = {"de", "en"}
MINIMUMS = {"articles": 40, "questions": 150, "covered": 40, "count": 25, "date": 15}
MINIMUMS |= {"unanswerable": 40, "offtopic": 40, "conversations": 40}


def _norm(text: str) -> str:
    return " ".join(text.split())


def _paragraphs(index: qa.Index, source: str) -> list[tuple[int, int, str]]:
    """Returns the article's paragraphs as (first line, last line, text)."""
    out: list[tuple[int, int, str]] = []
    run: list[qa.SourceLine] = []
    for line in [*index.source_lines(source), None]:
        if line is not None and line.text.strip():
            run.append(line)
            continue
        if run:
            first = min(item.line_start for item in run)
            last = max(item.line_end for item in run)
            out.append((first, last, _norm(" ".join(item.text for item in run))))
        run = []
    return out


def _load(name: str) -> list[dict]:
    with open(HERE / name, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


class Checker:
    """Collects errors and notes over the sets."""

    def __init__(self, index: qa.Index) -> None:
        self.index = index
        self.sources = set(index.sources)
        self.paragraphs = {source: _paragraphs(index, source) for source in self.sources}
        self.errors: list[str] = []
        self.notes: list[str] = []

    def gold(self, where: str, golds: list[dict], answer: str) -> None:
        """Checks one item's gold spans and answer."""
        if not golds:
            self.errors.append(f"{where}: no gold")
            return
        found = False
        for gold in golds:
            source, start, end = gold.get("source"), gold.get("line_start"), gold.get("line_end")
            if source not in self.sources:
                self.errors.append(f"{where}: {source!r} is not an indexed article")
                continue
            spans = {(first, last) for first, last, _ in self.paragraphs[source]}
            if (start, end) not in spans:
                self.errors.append(f"{where}: {source}:{start}-{end} is no paragraph's span")
                continue
            if _norm(answer) in _norm(self.index.read_lines(source, start, end)):
                found = True
        if not found:
            self.errors.append(f"{where}: answer {answer!r} is not on its gold lines")
            return
        cited = {(g["source"], g["line_start"], g["line_end"]) for g in golds}
        for source in {g["source"] for g in golds}:
            elsewhere = [
                f"{first}-{last}"
                for first, last, text in self.paragraphs[source]
                if _norm(answer) in text
                and not any(s == source and first <= e and last >= b for s, b, e in cited)
            ]
            if elsewhere:
                self.notes.append(f"{where}: {answer!r} also at {source}:{','.join(elsewhere)}")

    def fields(self, where: str, item: dict, kinds: set[str]) -> None:
        """Checks language and kind."""
        if item.get("lang") not in LANGS:
            self.errors.append(f"{where}: lang {item.get('lang')!r}")
        if item.get("kind") not in kinds:
            self.errors.append(f"{where}: kind {item.get('kind')!r}")
        if not str(item.get("question", "")).strip():
            self.errors.append(f"{where}: empty question")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", help="an existing index of benchmarks/eval/news/articles")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        if args.index:
            index = qa.Index.load(args.index)
        else:
            print("indexing the articles ...", file=sys.stderr)
            index = qa.Index.build([ARTICLES], Path(temp) / "index")
        return run(Checker(index))


def run(check: Checker) -> int:
    """Runs every check and prints the result."""
    questions = _load("questions.jsonl")
    unanswerable = _load("unanswerable.jsonl")
    offtopic = _load("offtopic.jsonl")
    conversations = _load("conversations.jsonl")
    ids = Counter(
        item["id"] for items in (questions, unanswerable, offtopic, conversations) for item in items
    )
    check.errors += [f"id {key} used {n} times" for key, n in ids.items() if n > 1]

    for item in questions:
        check.fields(item["id"], item, KINDS)
        check.gold(item["id"], item.get("gold", []), item.get("answer", ""))
    for name, items in (("unanswerable", unanswerable), ("offtopic", offtopic)):
        for item in items:
            check.fields(item["id"], item, {name})
            if item.get("gold") != [] or item.get("answer") not in (None, ""):
                check.errors.append(f"{item['id']}: an {name} item has a gold or an answer")
            if name == "unanswerable" and not str(item.get("why", "")).strip():
                check.errors.append(f"{item['id']}: no why")
    later = Counter()
    for conversation in conversations:
        turns = conversation.get("turns", [])
        if conversation.get("lang") not in LANGS:
            check.errors.append(f"{conversation['id']}: lang {conversation.get('lang')!r}")
        if not 2 <= len(turns) <= 4:
            check.errors.append(f"{conversation['id']}: {len(turns)} turns")
        for number, turn in enumerate(turns, 1):
            where = f"{conversation['id']}.{number}"
            kind = turn.get("kind")
            if kind not in TURN_KINDS or (kind == "first") != (number == 1):
                check.errors.append(f"{where}: kind {kind!r} at turn {number}")
            if number > 1:
                later[kind] += 1
            check.gold(where, turn.get("gold", []), turn.get("answer", ""))

    articles = sorted(Path(ARTICLES).glob("*.html"))
    covered = {gold["source"] for item in questions for gold in item["gold"]}
    kinds = Counter(item["kind"] for item in questions)
    counts = {
        "articles": len(articles),
        "questions": len(questions),
        "covered": len(covered),
        "count": kinds["count"],
        "date": kinds["date"],
        "unanswerable": len(unanswerable),
        "offtopic": len(offtopic),
        "conversations": len(conversations),
    }
    for key, minimum in MINIMUMS.items():
        if counts[key] < minimum:
            check.errors.append(f"{key}: {counts[key]} < {minimum}")
    switches = later["switch"] / max(1, sum(later.values()))
    if switches < 0.30:
        check.errors.append(f"switches are {switches:.0%} of later turns, < 30 %")

    langs = Counter((item["kind"], item["lang"]) for item in questions)
    print("counts:", ", ".join(f"{key} {value}" for key, value in counts.items()))
    print(
        "questions by kind/lang:",
        ", ".join(f"{k}/{lang} {n}" for (k, lang), n in sorted(langs.items())),
    )
    for name, items in (
        ("unanswerable", unanswerable),
        ("offtopic", offtopic),
        ("conversations", conversations),
    ):
        print(f"{name} by lang:", dict(Counter(item["lang"] for item in items)))
    turns = sum(len(c["turns"]) for c in conversations)
    print(f"conversation turns: {turns}; later turns: {dict(later)} ({switches:.0%} switches)")
    for note in check.notes:
        print("note:", note)
    for error in check.errors:
        print("error:", error)
    if check.errors:
        print(f"{len(check.errors)} errors")
        return 1
    print("no errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
