"""Parsing benchmark: throughput of reading each article format, against embedding (issue #13).

Target: parsing must not become the bottleneck of indexing: HTML and Markdown are parsed
at least 10× faster than the same readable text is embedded.

Generates, deterministically, a corpus of at least 1,000 files per format from the
XQuAD-de paragraphs (``common.corpora.prepare_xquad``; runs of 3–8 consecutive paragraphs per
file), cached under ``benchmarks/data/parsing/``:

- ``html``: news pages with a head of meta/Open Graph tags, JSON-LD, a style and scripts,
  a navigation menu, a cookie banner, the article (h1, byline, h2 subheadings, paragraphs
  with links and emphasis, some wrapped over several lines), a share box, a related-articles
  aside and a footer;
- ``md``: front matter, headings, emphasis, links, a bullet list, a quote, some paragraphs
  hard-wrapped;
- ``txt``: a title line (half of the files with a ``date`` line), paragraphs, some wrapped;
- ``pdf``: a few dozen longer news pages (8–14 paragraphs) printed by headless Chromium
  (``--print-to-pdf``), each copied in turn to make up the file count: the distinct PDFs
  and the copies are counted apart in the results.

Times ``vectorstore.sources.formats.parse`` over every file of each format (in-process, one
thread, the bytes read beforehand, after a warm-up), in rounds interleaved with the
embedding rounds; for ``.txt`` also the builder's own read path (``sources.read_text`` and
``txt_metadata``, from the page cache), which is what indexing runs for text files. The
embedding side chunks the readable text of a sample of the HTML files as the builder does
(``Chunker``, ``embedding_text``, ``sentence_spans``) and embeds it with the default model's
``encode_passages_with_spans`` in the builder's batches. Both are reported per character
of readable text. Finally ``qa.Index.build`` over a folder of HTML files shows parsing's
share of a real build.

Writes ``benchmarks/results/parsing.json`` and the "Parsing" section of
``benchmarks/RESULTS.md`` (``--quick``: 100 files per format and small samples,
``parsing-quick.json`` only).

Usage:
    .venv/bin/python benchmarks/parsing.py [--quick] [--files N] [--rounds N]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import logging
import os
import re
import shutil
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from common.args import arg_parser
from common.corpora import normalise
from common.derived import TimingEmbedder
from common.machine import (
    describe_machine,
    provenance,
    set_environment,
)
from common.pages import (
    PARAGRAPHS,
    PARSING,
    PDF_PARAGRAPHS,
    SEED,
    Corpus,
    load_paragraphs,
    pdf_corpus,
    text_corpus,
)
from common.paths import REPO, RESULTS, rel
from common.results import publish, write_json
from common.tables import fmt as figure
from common.tables import markdown_table
from common.tiers import embedding_with, timed_build

SECTION = "Parsing"
TARGET_RATIO = 10.0  # parsing at least this many times faster than embedding
TARGETED = ("html", "md")
FORMATS = ("html", "md", "txt", "pdf")
LABELS = {
    "html": "HTML",
    "md": "Markdown",
    "txt": "text",
    "txt-read": "text, builder read path",
    "pdf": "PDF",
}
WARMUP_FILES = 20
KB, MB = 1_000, 1_000_000


# --- measuring --------------------------------------------------------------------------


class _Counter(logging.Handler):
    """Counts warnings of the ``qa`` logger (HTML text left out, say)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@contextlib.contextmanager
def _counting() -> Iterator[_Counter]:
    logger = logging.getLogger("qa")
    counter = _Counter()
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)


def _readable(document: Any) -> str:
    return "\n".join(block.text for block in document.blocks)


# Characters that no reader sees (XQuAD holds a few zero-width spaces; parse drops them).
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060\ufeff]")


def _plain(text: str) -> str:
    return normalise(_INVISIBLE.sub("", text))


def recovered(corpus: Corpus, texts: Sequence[str]) -> float:
    """The share of the generated paragraphs that the readable text holds, word for word."""
    found = total = 0
    for paragraphs, text in zip(corpus.paragraphs, texts, strict=True):
        readable = _plain(text)
        found += sum(_plain(p) in readable for p in paragraphs)
        total += len(paragraphs)
    return found / total


@dataclass
class ParseTiming:
    """What one format's parsing measured.

    Attributes:
        seconds: Wall time of each round over all files.
        per_file: Seconds per file of the first round.
        texts: The readable text of each file (first round).
        warnings: Warnings logged in the first round.
        failures: Files that raised ``UnreadableFile`` (first round).
    """

    seconds: list[float]
    per_file: list[float]
    texts: list[str]
    warnings: int = 0
    failures: int = 0


class ParseBench:
    """Times ``parse`` (or the text read path) over one corpus, a round at a time."""

    def __init__(self, corpus: Corpus, read_path: bool = False) -> None:
        from vectorstore.sources.formats import Format

        self.corpus = corpus
        self.read_path = read_path
        self.fmt = Format(corpus.fmt)
        self.data = [(p, p.read_bytes()) for p in corpus.files]
        self.timing = ParseTiming([], [], [])
        if read_path:
            from vectorstore.sources.files import scan

            self.sources = [scan(str(p), p) for p in corpus.files]

    def _one(self, index: int) -> str:
        from vectorstore.sources.formats import parse

        if self.read_path:
            from vectorstore.build.pieces import _BLOCK_CHARS
            from vectorstore.sources.files import read_text
            from vectorstore.sources.formats import txt_metadata

            blocks = []
            for block in read_text(self.sources[index], hashlib.sha256(), _BLOCK_CHARS):
                if not blocks:
                    txt_metadata(block)
                blocks.append(block)
            return "".join(blocks)
        path, data = self.data[index]
        return _readable(parse(path, data, self.fmt))

    def warm_up(self) -> None:
        """Parses the first files untimed: imports, caches and the allocator settle."""
        for i in range(min(WARMUP_FILES, len(self.data))):
            self._one(i)

    def round(self) -> float:
        """Parses every file once; the first round also keeps texts and per-file times."""
        from vectorstore.sources.formats import UnreadableFile

        first = not self.timing.seconds
        per_file, texts, failures = [], [], 0
        with _counting() as counter:
            start = time.perf_counter()
            for i in range(len(self.data)):
                t0 = time.perf_counter()
                try:
                    text = self._one(i)
                except UnreadableFile:
                    text, failures = "", failures + 1
                per_file.append(time.perf_counter() - t0)
                if first:
                    texts.append(text)
            seconds = time.perf_counter() - start
        self.timing.seconds.append(seconds)
        if first:
            self.timing.per_file, self.timing.texts = per_file, texts
            self.timing.warnings, self.timing.failures = counter.count, failures
        return seconds

    def figures(self) -> dict[str, Any]:
        """Throughputs over the median round, and the first round's facts."""
        t = self.timing
        seconds = statistics.median(t.seconds)
        files = len(self.data)
        in_bytes = sum(len(d) for _, d in self.data)
        chars = sum(len(x) for x in t.texts)
        out_bytes = sum(len(x.encode("utf-8")) for x in t.texts)
        ms = sorted(x * 1000 for x in t.per_file)
        return {
            "files": files,
            "distinct_files": self.corpus.distinct,
            "input_bytes": in_bytes,
            "readable_chars": chars,
            "readable_bytes": out_bytes,
            "round_seconds": t.seconds,
            "seconds": seconds,
            "files_per_s": files / seconds,
            "input_mb_per_s": in_bytes / MB / seconds,
            "readable_kb_per_s": out_bytes / KB / seconds,
            "readable_chars_per_s": chars / seconds,
            "ms_per_file_p50": ms[len(ms) // 2],
            "ms_per_file_p95": ms[min(len(ms) - 1, int(0.95 * len(ms)))],
            "ms_per_file_max": ms[-1],
            "paragraphs_recovered": recovered(self.corpus, t.texts),
            "u_fffe_chars": sum(x.count("\ufffe") for x in t.texts),
            "link_markup_left": sum(x.count("](") for x in t.texts),
            "warnings": t.warnings,
            "unreadable": t.failures,
        }


class EmbedBench:
    """Embeds the readable text of a sample of files as the builder does, a round at a time."""

    def __init__(self, texts: Sequence[str], model: str) -> None:
        from vectorstore.build.pieces import BuildSettings
        from vectorstore.model.embedding import get_embedder
        from vectorstore.sources.chunking import Chunker, embedding_text
        from vectorstore.sources.sentences import sentence_spans

        settings = BuildSettings(model=model)
        start = time.perf_counter()
        self.passages: list[tuple[str, list[tuple[int, int]]]] = []
        for text in texts:
            chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
            for c in chunker.chunk(text):
                passage = text[c.start : c.end]
                embedded, at = embedding_text(passage, c.context)
                spans = [(at + a, at + b) for a, b in sentence_spans(passage)]
                self.passages.append((embedded, spans))
        self.chunk_seconds = time.perf_counter() - start
        self.chars = sum(len(t) for t in texts)
        self.bytes = sum(len(t.encode("utf-8")) for t in texts)
        self.embedded_chars = sum(len(t) for t, _ in self.passages)
        start = time.perf_counter()
        self.embedder = get_embedder(model)
        self.embedder.encode_passages_with_spans(*zip(*self.passages[:8], strict=True))
        self.load_seconds = time.perf_counter() - start
        self.model = model
        self.seconds: list[float] = []

    def round(self) -> float:
        """Embeds every passage once, in the builder's batches."""
        from vectorstore.build.builder import _EMBED_BATCH

        start = time.perf_counter()
        for at in range(0, len(self.passages), _EMBED_BATCH):
            texts, spans = zip(*self.passages[at : at + _EMBED_BATCH], strict=True)
            self.embedder.encode_passages_with_spans(texts, spans)
        seconds = time.perf_counter() - start
        self.seconds.append(seconds)
        return seconds

    def figures(self, files: int) -> dict[str, Any]:
        """Throughputs over the median round; ``files`` is how many files the text is of."""
        seconds = statistics.median(self.seconds)
        return {
            "model": self.model,
            "files": files,
            "passages": len(self.passages),
            "readable_chars": self.chars,
            "readable_bytes": self.bytes,
            "embedded_chars": self.embedded_chars,
            "round_seconds": self.seconds,
            "seconds": seconds,
            "passages_per_s": len(self.passages) / seconds,
            "readable_chars_per_s": self.chars / seconds,
            "readable_kb_per_s": self.bytes / KB / seconds,
            "chunk_seconds": self.chunk_seconds,
            "chunk_chars_per_s": self.chars / self.chunk_seconds,
            "model_load_seconds": self.load_seconds,
        }


def measure_build(qa_mod: Any, corpus: Corpus, files: int) -> dict[str, Any]:
    """``qa.Index.build --rebuild`` over a folder of the first HTML files, timing its parts.

    Parsing is timed by wrapping ``vectorstore.build.pieces.parse``; embedding by a
    ``TimingEmbedder`` around the default model.
    """
    import vectorstore.build.pieces as pieces
    from vectorstore.model.embedding import get_embedder

    folder = PARSING / f"build-html-{files}"
    folder.mkdir(parents=True, exist_ok=True)
    for path in corpus.files[:files]:
        target = folder / path.name
        if not target.exists() or target.read_bytes() != path.read_bytes():
            shutil.copyfile(path, target)
    index_dir = PARSING / f"index-html-{files}"
    model = qa_mod.DEFAULT_MODEL
    inner = get_embedder(model)
    timing = TimingEmbedder(inner)
    parse_seconds = [0.0]
    original = pieces.parse

    def timed_parse(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            parse_seconds[0] += time.perf_counter() - start

    pieces.parse = timed_parse  # type: ignore[assignment]
    try:
        with embedding_with(model, timing, inner):
            index, seconds = timed_build(qa_mod, folder, index_dir, model, rebuild=True)
    finally:
        pieces.parse = original
    out = {
        "files": len(index.sources),
        "passages": len(index),
        "seconds": seconds,
        "parse_seconds": parse_seconds[0],
        "embed_seconds": timing.seconds,
        "rest_seconds": seconds - parse_seconds[0] - timing.seconds,
        "parse_share": parse_seconds[0] / seconds,
        "embed_share": timing.seconds / seconds,
        "model": model,
    }
    del index
    gc.collect()
    return out


# --- reports ----------------------------------------------------------------------------


def ratios(results: dict[str, Any]) -> dict[str, float]:
    """Parsing throughput ÷ embedding throughput, per readable character, per row."""
    embed = results["embedding"]["readable_chars_per_s"]
    return {k: v["readable_chars_per_s"] / embed for k, v in results["parse"].items()}


def worst_ratios(results: dict[str, Any]) -> dict[str, float]:
    """The ratios of the slowest parsing round against the fastest embedding round."""
    e = results["embedding"]
    embed = e["readable_chars"] / min(e["round_seconds"])
    return {
        k: v["readable_chars"] / max(v["round_seconds"]) / embed
        for k, v in results["parse"].items()
    }


def verdicts(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The target per targeted format (on the median rounds): label, value, met."""
    r, worst = ratios(results), worst_ratios(results)
    out = []
    for fmt in TARGETED:
        if fmt in r:
            out.append(
                (
                    f"{LABELS[fmt]} parses ≥ {TARGET_RATIO:g}× faster than embedding the same text",
                    f"{r[fmt]:,.0f}× (median rounds; {worst[fmt]:,.0f}× for its slowest "
                    "parsing round against the fastest embedding round)",
                    r[fmt] >= TARGET_RATIO,
                )
            )
    return out


def table(results: dict[str, Any]) -> str:
    """The throughput table."""
    r = ratios(results)
    rows = []
    for key, v in results["parse"].items():
        files = f"{v['files']:,}"
        if v["distinct_files"] != v["files"]:
            files += f" ({v['distinct_files']} distinct)"
        verdict = "–"
        if key in TARGETED:
            verdict = "PASS" if r[key] >= TARGET_RATIO else "FAIL"
        rows.append(
            [
                LABELS[key],
                files,
                figure(v["input_bytes"] / KB / v["files"], 1),
                figure(v["files_per_s"], 0),
                figure(v["input_mb_per_s"], 1),
                figure(v["readable_kb_per_s"], 0),
                f"{v['ms_per_file_p50']:.2f} / {v['ms_per_file_p95']:.2f}",
                f"{v['paragraphs_recovered']:.1%}",
                f"{r[key]:,.0f}×",
                verdict,
            ]
        )
    e = results["embedding"]
    rows.append(
        [
            f"embedding ({e['model']})",
            f"{e['files']} HTML texts",
            "–",
            figure(e["files"] / e["seconds"], 1),
            "–",
            figure(e["readable_kb_per_s"], 1),
            "–",
            "–",
            "1×",
            "–",
        ]
    )
    return markdown_table(
        [
            "format",
            "files",
            "kB per file",
            "files/s",
            "input MB/s",
            "readable kB/s out",
            "ms per file p50 / p95",
            "paragraphs recovered",
            "× embedding (chars/s)",
            f"≥ {TARGET_RATIO:g}×",
        ],
        rows,
    )


def report_markdown(results: dict[str, Any]) -> str:
    """The section body."""
    m = results["machine"]
    e = results["embedding"]
    c = results["corpora"]
    pdf = c.get("pdf", {})
    lines = [
        f"Last run {results['date']}: `{results['command']}` ({results['wall_seconds']:.0f} s). "
        f"Machine: {describe_machine(m)} (the machine is shared).",
        "",
        f"Corpora (generated with seed {SEED} from the {c['xquad_paragraphs']} XQuAD-de "
        f"paragraphs, cached in `benchmarks/data/parsing/`): {c['files']:,} files per format, "
        f"each a run of {PARAGRAPHS[0]}–{PARAGRAPHS[1]} consecutive paragraphs. HTML: news "
        "pages with meta/Open Graph tags, JSON-LD, a style and scripts, a navigation menu, "
        "a cookie banner, the article (h1, byline, h2, paragraphs with links and emphasis, "
        "40% of them wrapped over several lines), a share box, a related-articles aside and "
        "a footer. Markdown: front matter, headings, emphasis, links, a bullet list, quotes, "
        "hard-wrapped paragraphs. Text: a title line, half with a `date` line. PDF: "
        f"{pdf.get('distinct', 0)} distinct news pages of {PDF_PARAGRAPHS[0]}–"
        f"{PDF_PARAGRAPHS[1]} paragraphs printed by headless Chromium "
        f"({pdf.get('pages_per_pdf', {}).get('min', 0)}–"
        f"{pdf.get('pages_per_pdf', {}).get('max', 0)} pages, mean "
        f"{pdf.get('pages_per_pdf', {}).get('mean', 0):.1f}), each copied in turn to make "
        f"up the {c['files']:,} files (so {c['files']:,} parses of {pdf.get('distinct', 0)} "
        "different PDFs).",
        "",
        f"Parsing: `vectorstore.sources.formats.parse(path, data, fmt)` over every file, "
        f"in-process and single-threaded, the bytes read beforehand, after a warm-up of "
        f"{WARMUP_FILES} files; median of {results['rounds']} rounds, interleaved with the "
        "embedding rounds. `text, builder read path` is what indexing runs for `.txt` "
        "(`sources.read_text` in blocks and `txt_metadata`, reading the file from the page "
        "cache); `text` is `parse()` on text, a proxy for it. Input MB/s counts file bytes, "
        "readable kB/s the UTF-8 bytes of the readable text parse returns (1 kB = 1,000 "
        "bytes). Paragraphs recovered: the share of the generated paragraphs that the "
        "readable text holds word for word (whitespace and case normalised, zero-width "
        "characters removed). Left over in the readable text: "
        f"{results['parse']['pdf']['u_fffe_chars']:,} U+FFFE characters from the PDFs "
        "(PDFium's mark for a hyphen at a line end, which parse keeps) and "
        f"{results['parse']['md']['link_markup_left']:,} `](` of link markup from the "
        "Markdown files (links whose text is wrapped over two lines).",
        "",
        f"Embedding: the readable text of the first {e['files']} HTML files "
        f"({e['readable_chars']:,} characters), chunked as the builder does into "
        f"{e['passages']} passages and embedded with `{e['model']}` "
        "(`encode_passages_with_spans`, the builder's batches, onnxruntime on all cores): "
        f"{e['readable_chars_per_s']:,.0f} readable characters/s, "
        f"{e['passages_per_s']:.1f} passages/s (median of {results['rounds']} rounds). "
        f"Chunking the same text ran at {e['chunk_chars_per_s'] / MB:.1f} M characters/s. "
        "× embedding = parsing's readable characters/s ÷ embedding's.",
        "",
        table(results),
        "",
    ]
    b = results.get("build")
    if b:
        lines += [
            f"A full `qa.Index.build(..., rebuild=True)` over {b['files']} of the HTML files "
            f"({b['passages']:,} passages, `{b['model']}`): {b['seconds']:.1f} s, of which "
            f"parsing {b['parse_seconds']:.2f} s ({b['parse_share']:.1%}), embedding "
            f"{b['embed_seconds']:.1f} s ({b['embed_share']:.1%}), the rest (scanning, "
            f"chunking, BM25 terms, writing) {b['rest_seconds']:.2f} s.",
            "",
        ]
    for label, value, met in verdicts(results):
        lines.append(f"- {'✅' if met else '❌'} {label}: {value}")
    lines += ["", "Raw figures: `benchmarks/results/parsing.json`."]
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = arg_parser(__doc__)
    parser.add_argument("--files", type=int, default=None, help="files per format (1,000)")
    parser.add_argument("--pdfs", type=int, default=None, help="distinct PDFs printed (40)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (3)")
    parser.add_argument(
        "--embed-files", type=int, default=None, help="HTML files whose text is embedded (60)"
    )
    parser.add_argument(
        "--build-files", type=int, default=None, help="HTML files indexed by a build (200; 0: none)"
    )
    parser.add_argument("--quick", action="store_true", help="small corpora; RESULTS.md untouched")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the reports from the results file"
    )
    return parser.parse_args(argv)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Generates the corpora and times parsing, embedding and a build."""
    import qa  # after set_environment

    quick = args.quick
    files = args.files or (100 if quick else 1_000)
    distinct = args.pdfs or (6 if quick else 40)
    rounds = args.rounds or (1 if quick else 3)
    embed_files = args.embed_files or (20 if quick else 60)
    build_files = args.build_files if args.build_files is not None else (40 if quick else 200)

    pool = load_paragraphs(args.xquad.resolve())
    corpora: dict[str, Corpus] = {}
    facts: dict[str, Any] = {"files": files, "xquad_paragraphs": len(pool)}
    for fmt in ("html", "md", "txt"):
        start = time.perf_counter()
        corpora[fmt], written = text_corpus(fmt, pool, files)
        facts[fmt] = {"written": written, "seconds": time.perf_counter() - start}
        print(f"{fmt}: {files} files in {rel(PARSING / fmt)} ({written} written)")
    corpora["pdf"], facts["pdf"] = pdf_corpus(pool, files, distinct)
    print(
        f"pdf: {files} files in {rel(PARSING / 'pdf')}, copies of {distinct} printed PDFs "
        f"({facts['pdf']['printed_now']} printed now, {facts['pdf']['print_seconds']:.0f} s)"
    )

    benches = {fmt: ParseBench(corpora[fmt]) for fmt in FORMATS}
    benches["txt-read"] = ParseBench(corpora["txt"], read_path=True)
    for bench in benches.values():
        bench.warm_up()
    embed: EmbedBench | None = None
    for r in range(rounds):
        for key, bench in benches.items():
            seconds = bench.round()
            print(f"round {r + 1}/{rounds}: {key} {len(bench.data)} files in {seconds:.2f} s")
        if embed is None:  # the sample's texts come from the first HTML round
            embed = EmbedBench(benches["html"].timing.texts[:embed_files], qa.DEFAULT_MODEL)
        seconds = embed.round()
        print(
            f"round {r + 1}/{rounds}: embedding {len(embed.passages)} passages in {seconds:.1f} s"
        )
    assert embed is not None
    results: dict[str, Any] = {
        "rounds": rounds,
        "corpora": facts,
        "parse": {key: benches[key].figures() for key in ("html", "md", "txt", "txt-read", "pdf")},
        "embedding": embed.figures(min(embed_files, files)),
    }
    del benches
    gc.collect()
    if build_files:
        print(f"building an index over {build_files} HTML files…")
        results["build"] = measure_build(qa, corpora["html"], min(build_files, files))
    results["targets"] = {"ratio": TARGET_RATIO, "formats": list(TARGETED)}
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Measures, prints the table and writes the results; returns the exit status."""
    args = parse_args(argv)
    set_environment()
    path = RESULTS / f"{'parsing-quick' if args.quick else 'parsing'}.json"
    if not args.report_only:
        started = time.perf_counter()
        stamp = provenance(quick=args.quick)
        os.chdir(REPO)
        results = stamp | measure(args)
        results["wall_seconds"] = time.perf_counter() - started
        write_json(path, results)
    results = json.loads(path.read_text(encoding="utf-8"))
    print(f"\n{table(results)}\n")
    b = results.get("build")
    if b:
        print(
            f"build over {b['files']} HTML files: {b['seconds']:.1f} s, parsing "
            f"{b['parse_share']:.1%}, embedding {b['embed_share']:.1%}\n"
        )
    for label, value, met in verdicts(results):
        print(f"{'PASS' if met else 'FAIL'}  {label}: {value}")
    publish(SECTION, report_markdown(results), [rel(path)], args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
