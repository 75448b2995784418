"""The ``qa`` command: ``qa index``, ``qa ask``, ``qa eval``, ``qa serve``.

Errors go to stderr as one line with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from qa.collections import Collections
from qa.evaluation import EvalReport, evaluate, read_questions
from qa.expansion import Origin, lexicon_notes
from qa.feedback import DEFAULT_FEEDBACK_MAX_MB, FeedbackFile
from qa.index import DEFAULT_INDEX_DIR, Index
from qa.relevance import MIN_RELEVANCE, NOT_ANSWERED
from vectorstore import QAError
from vectorstore.build.builder import Engine

__all__ = ["main"]

EXIT_USAGE = 2
EXIT_BELOW = 1  # qa eval --min-hit1: the figure is below the bar
WORST_MISSES = 5
DEFAULT_MAX_UPLOAD_MB = 20  # as ui.upload.DEFAULT_MAX_UPLOAD_MB (ui needs gradio)


def _index_dir_default() -> str:
    return os.environ.get("QA_INDEX", DEFAULT_INDEX_DIR)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa", description="Ask questions of a folder of articles; answers cite file:lines."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    index = sub.add_parser("index", help="build or update the index")
    index.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="article files or folders (default: the paths already in the index)",
    )
    index.add_argument(
        "--index", default=_index_dir_default(), help="index folder (default: %(default)s)"
    )
    index.add_argument("--rebuild", action="store_true", help="re-embed everything from scratch")
    index.add_argument(
        "--formats",
        default=None,
        metavar="LIST",
        help="formats taken from folders, comma-separated (default: txt,md,html,pdf)",
    )
    index.add_argument(
        "--model",
        default=None,
        help="embedding model: packaged name, folder or cached name ($QA_MODEL)",
    )
    index.add_argument(
        "--chunk-size", type=int, default=1000, help="max passage length (default: %(default)s)"
    )
    index.add_argument(
        "--chunk-overlap",
        type=int,
        default=100,
        help="overlap inside long paragraphs (default: %(default)s)",
    )
    index.add_argument(
        "--engine",
        choices=[e.value for e in Engine],
        default=Engine.LOCAL.value,
        help="read and embed in this process, or on Ray Data (pip install 'qa[ray]'; "
        "default: %(default)s)",
    )
    index.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDRESS",
        help="with --engine ray: the cluster this machine is a node of, auto or HOST:PORT "
        "(default: $RAY_ADDRESS, else a local Ray instance for the build)",
    )

    ask = sub.add_parser("ask", help="print the passages that answer a question")
    ask.add_argument("question")
    ask.add_argument("-k", type=int, default=5, help="number of passages (default: %(default)s)")
    ask.add_argument(
        "--index", default=_index_dir_default(), help="index folder (default: %(default)s)"
    )
    ask.add_argument("--json", action="store_true", help="print a JSON list of passages")
    ask.add_argument(
        "--explain",
        action="store_true",
        help="first print the BM25 terms searched, with their weights and origins "
        "(to stderr with --json)",
    )
    ask.add_argument(
        "--history",
        action="append",
        default=[],
        metavar="QUESTION",
        help="an earlier question of the same conversation, oldest first (repeatable)",
    )
    ask.add_argument(
        "--min-relevance",
        type=float,
        default=None,
        metavar="R",
        help=f"drop passages below this relevance, 0 to 1 (suggested: {MIN_RELEVANCE})",
    )
    ask.add_argument(
        "--source",
        action="append",
        default=None,
        metavar="GLOB",
        help="search only sources matching this glob, e.g. 'seeds/003_*' or 'archive/**' "
        "(repeatable)",
    )
    ask.add_argument(
        "--since", metavar="DATE", help="only articles dated on or after DATE (YYYY[-MM[-DD]])"
    )
    ask.add_argument(
        "--until", metavar="DATE", help="only articles dated on or before DATE (YYYY[-MM[-DD]])"
    )

    ev = sub.add_parser("eval", help="measure the index on a question set (JSON Lines)")
    ev.add_argument(
        "questions",
        metavar="QUESTIONS.jsonl",
        help='one {"question", "gold": [{"source", "line_start", "line_end"}] | []} a line '
        "(a qa serve --feedback file is one)",
    )
    ev.add_argument(
        "--index", default=_index_dir_default(), help="index folder (default: %(default)s)"
    )
    ev.add_argument(
        "-k", "--k", type=int, default=10, help="passages per question (default: %(default)s)"
    )
    ev.add_argument(
        "--json",
        metavar="OUT",
        help="write the figures and every question's record as JSON to OUT "
        "('-': stdout; the table then goes to stderr)",
    )
    ev.add_argument(
        "--min-hit1",
        type=float,
        metavar="X",
        help="exit with code 1 if hit@1 is below X (for CI)",
    )

    serve = sub.add_parser("serve", help="serve the chat UI and the /retrieve API")
    serve.add_argument(
        "--index",
        action="append",
        default=None,
        metavar="[NAME=]DIR",
        help=f"index folder (default: {_index_dir_default().replace('%', '%%')}); repeat as "
        "NAME=DIR to serve several collections, the first one the default",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument("--port", type=int, default=7860, help="port (default: %(default)s)")
    serve.add_argument(
        "--auth", action="append", default=[], metavar="USER:PASS", help="require a login"
    )
    serve.add_argument(
        "--auth-file", metavar="FILE", help="require a login: one USER:PASS per line"
    )
    serve.add_argument(
        "--example",
        action="append",
        default=None,
        metavar="QUESTION",
        help="an example question the empty chat offers (repeatable; "
        "default: a few derived from the articles)",
    )
    serve.add_argument(
        "--mcp",
        action="store_true",
        help="also serve MCP tools (retrieve, list_sources, read_lines) at /gradio_api/mcp/",
    )
    serve.add_argument(
        "--allow-upload",
        metavar="DIR",
        help="let the chat page add articles: save them in DIR (created if missing) and "
        "index them (beyond 127.0.0.1 only with --auth)",
    )
    serve.add_argument(
        "--max-upload-mb",
        type=int,
        default=None,
        metavar="MB",
        help=f"largest file --allow-upload takes (default: {DEFAULT_MAX_UPLOAD_MB})",
    )
    serve.add_argument(
        "--feedback",
        metavar="FILE",
        help="give each passage 👍/👎 buttons and append the votes to FILE (JSON Lines, "
        "a qa eval input)",
    )
    serve.add_argument(
        "--feedback-max-mb",
        type=int,
        default=None,
        metavar="MB",
        help=f"the size --feedback FILE may reach (default: {DEFAULT_FEEDBACK_MAX_MB})",
    )
    serve.add_argument(
        "--log-questions",
        action="store_true",
        help="write the questions' text to the request log on stdout (default: left out)",
    )
    return parser


def _index(args: argparse.Namespace) -> None:
    idx = Index.build(
        args.paths,
        args.index,
        model=args.model,
        chunk_size=args.chunk_size,
        chunk_overlap=args.chunk_overlap,
        formats=args.formats,
        rebuild=args.rebuild,
        progress=sys.stderr.isatty(),
        engine=args.engine,
        ray_address=args.ray_address,
    )
    r = idx.build_report
    assert r is not None
    ray = f", {r.startup_seconds:.1f} s of it starting Ray" if r.startup_seconds else ""
    print(
        f"{idx.path}: {len(idx.sources)} files, {len(idx)} passages "
        f"({len(r.added)} added, {len(r.changed)} changed, {len(r.removed)} removed, "
        f"{len(r.unchanged)} unchanged, {len(r.skipped)} skipped; "
        f"{r.embedded} passages embedded in {r.seconds:.1f} s{ray})"
    )


def _explain(index: Index, question: str, history: Sequence[str]) -> str:
    """Returns the BM25 terms of a question and the lexical levers, as readable lines."""
    rows = ["BM25 terms (term  weight  origin: word, for which word of the question):"]
    for e in index.explain(question, history):
        origin = str(e.origin)
        if e.origin is not Origin.QUESTION:
            origin += f": {e.word} ← {e.source}"
        rows.append(f"  {e.term:<20} {e.weight:4.2f}  {origin}")
    rows += [f"  {note}" for note in lexicon_notes(index.expansion)]
    return "\n".join(rows) + "\n"


def _ask(args: argparse.Namespace) -> None:
    index = Index.load(args.index)
    if args.explain:
        print(
            _explain(index, args.question, args.history),
            file=sys.stderr if args.json else sys.stdout,
        )
    hits = index.search(
        args.question,
        args.k,
        history=args.history,
        min_relevance=args.min_relevance,
        sources=args.source,
        since=args.since,
        until=args.until,
    )
    if not hits or hits[0].relevance < MIN_RELEVANCE:
        print(f"qa: {NOT_ANSWERED}", file=sys.stderr)
    if args.json:
        json.dump([p.to_dict() for p in hits], sys.stdout, ensure_ascii=False, indent=2)
        print()
        return
    for rank, p in enumerate(hits, 1):
        print(f"[{rank}] {p.citation}  (relevance {p.relevance:.2f}, score {p.score:.3f})")
        if p.title or p.date:
            print(f"    {' · '.join(x for x in (p.title, p.date) if x)}")
        print(f"    {p.text}\n")


def _row(label: str, value: float | None, flags: Sequence[bool] = (), detail: str = "") -> str:
    """One figure of the table: label, value (— when not measured), count and detail."""
    cells = [f"  {label:<24}", "—" if value is None else f"{value:.3f}"]
    if flags:
        cells.append(f"  ({sum(flags)}/{len(flags)}{': ' + detail if detail else ''})")
    return "".join(cells)


def _eval_table(report: EvalReport, questions: str, index: Index) -> str:
    """Returns the figures and the worst misses as a readable table."""
    ans, unans = report.answerable, report.unanswerable
    shown = [r.answer_in_highlight for r in report.records if r.answer_in_highlight is not None]
    counts = [f"{len(ans)} answerable", f"{len(unans)} unanswerable"]
    if report.skipped:
        counts.append(f"{report.skipped} 👎-only lines skipped")
    if report.merged:
        counts.append(f"{report.merged} 👍 lines merged into their question")
    p50, p95 = report.latency_ms(50), report.latency_ms(95)
    latency = "—" if p50 is None or p95 is None else f"{p50:.1f} / {p95:.1f} ms"
    rows = [
        f"qa eval: {len(report.records)} questions from {questions} on {index.location} "
        f"({'; '.join(counts)}), k={report.k}",
        "",
        _row("hit@1", report.hit_at_1, [r.rank == 1 for r in ans]),
        _row("hit@5", report.hit_at_5, [r.rank is not None and r.rank <= 5 for r in ans]),
        _row(f"MRR@{report.k}", report.mrr),
        _row("answer in highlight", report.answer_in_highlight, shown),
        _row(
            "answerable kept",
            report.answerable_kept,
            [r.kept for r in ans],
            f"first relevance >= {MIN_RELEVANCE}",
        ),
        _row(
            "unanswerable rejected",
            report.unanswerable_rejected,
            [not r.kept for r in unans],
            f"first relevance < {MIN_RELEVANCE}",
        ),
        f"  {'latency p50 / p95':<24}{latency}",
    ]
    misses = report.worst_misses(WORST_MISSES)
    if misses:
        total = sum(r.missed for r in report.records)
        rows += ["", f"worst misses ({len(misses)} of {total}):"]
    for r in misses:
        if not r.answerable:
            found = "no article answers, but kept"
        else:
            found = f"not in the top {report.k}" if r.rank is None else f"rank {r.rank}"
        relevance = "—" if r.relevance is None else f"{r.relevance:.2f}"
        gold = ", ".join(g.citation for g in r.gold) or "[] (no article answers)"
        asked = " → ".join([*r.history, r.question])
        rows += [
            f"  {r.id}  {found}: {asked}",
            f"      gold:  {gold}",
            f"      first: {r.citations[0] if r.citations else '—'} (relevance {relevance})",
        ]
    return "\n".join(rows)


def _write_json(path: str, data: object) -> None:
    """Writes JSON to a file atomically (a temporary file in its folder, then a rename)."""
    with tempfile.NamedTemporaryFile(
        "w",
        encoding="utf-8",
        dir=Path(path).resolve().parent,
        prefix=".qa-eval-",
        suffix=".tmp",
        delete=False,
    ) as f:
        try:
            json.dump(data, f, ensure_ascii=False, indent=2)
            f.write("\n")
        except BaseException:
            f.close()
            os.unlink(f.name)
            raise
    os.replace(f.name, path)


def _eval(args: argparse.Namespace) -> int:
    if args.json not in (None, "-") and not Path(args.json).resolve().parent.is_dir():
        raise ValueError(f"--json {args.json}: its folder does not exist")
    questions = read_questions(args.questions)
    index = Index.load(args.index)
    report = evaluate(index, questions, args.k, progress=sys.stderr.isatty())
    table = _eval_table(report, args.questions, index)
    if args.json == "-":
        json.dump(report.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        print()
        print(table, file=sys.stderr)
    else:
        if args.json:
            _write_json(args.json, report.to_dict())
        print(table)
    if args.min_hit1 is not None:
        hit1 = report.hit_at_1
        if hit1 is None or hit1 < args.min_hit1:
            shown = "not measured (no answerable questions)" if hit1 is None else f"{hit1:.3f}"
            print(f"qa: hit@1 {shown} is below --min-hit1 {args.min_hit1}", file=sys.stderr)
            return EXIT_BELOW
    return 0


def _credentials(args: argparse.Namespace) -> list[tuple[str, str]] | None:
    """Returns the (user, password) pairs from --auth and --auth-file, or None."""
    entries = [("--auth", a) for a in args.auth]
    if args.auth_file:
        with open(args.auth_file, encoding="utf-8") as f:
            entries += [(args.auth_file, line.strip()) for line in f if line.strip()]
    pairs = []
    for origin, entry in entries:
        user, sep, password = entry.partition(":")
        if not (sep and user and password):
            raise ValueError(f"{origin}: expected USER:PASS, got an entry without both")
        pairs.append((user, password))
    return pairs or None


# The hosts that only this machine reaches: anywhere else, uploads need a login.
_LOCAL_HOSTS = ("127.0.0.1", "::1", "localhost")


def _check_upload(args: argparse.Namespace, credentials: list[tuple[str, str]] | None) -> None:
    """Refuses upload options that do not fit together or with the host.

    Raises:
        ValueError: Saying what is wrong.
    """
    if args.allow_upload is None:
        if args.max_upload_mb is not None:
            raise ValueError("--max-upload-mb needs --allow-upload DIR")
        return
    if args.max_upload_mb is not None and args.max_upload_mb < 1:
        raise ValueError(f"--max-upload-mb must be at least 1, not {args.max_upload_mb}")
    if not args.allow_upload.strip():
        raise ValueError("--allow-upload needs a folder")
    if args.host not in _LOCAL_HOSTS and not credentials:
        raise ValueError(
            f"--allow-upload on {args.host} needs a login: add --auth USER:PASS or "
            "--auth-file FILE (without one, uploads are only allowed on 127.0.0.1)"
        )


def _serve(args: argparse.Namespace) -> None:
    credentials = _credentials(args)
    _check_upload(args, credentials)
    if args.feedback_max_mb is not None and args.feedback is None:
        raise ValueError("--feedback-max-mb needs --feedback FILE")
    if args.feedback_max_mb is not None and args.feedback_max_mb < 1:
        raise ValueError(f"--feedback-max-mb must be at least 1, not {args.feedback_max_mb}")
    feedback_max_mb = args.feedback_max_mb or DEFAULT_FEEDBACK_MAX_MB
    if args.feedback is not None:
        FeedbackFile(args.feedback, feedback_max_mb * 2**20)  # fails now, not after loading
    try:
        import ui
    except ImportError as exc:
        raise QAError(f"the UI needs gradio: pip install 'qa[ui]' ({exc})") from exc
    if args.mcp and importlib.util.find_spec("mcp") is None:
        raise QAError("--mcp needs the mcp package: pip install 'qa[mcp]'")
    collections = Collections.load(args.index or [_index_dir_default()])
    collections.warm_up()  # the first visitor should not wait for the model to load
    collections.follow()  # answer from each generation `qa index` publishes, without a restart
    url = f"http://{args.host}:{args.port}/"
    login = f", login required for {len(credentials)} user(s)" if credentials else ""
    served = ", ".join(f"{name}={index.location}" for name, index in collections.items())
    served = served if collections.several else collections.index().path
    print(f"qa: serving {served} on {url}{login}", file=sys.stderr)
    if args.mcp:
        print(f"qa: MCP tools at {url}{ui.MCP_PATH.lstrip('/')}/", file=sys.stderr)
    max_upload_mb = args.max_upload_mb or DEFAULT_MAX_UPLOAD_MB
    if args.allow_upload is not None:
        print(
            f"qa: uploads of up to {max_upload_mb} MB a file go to {args.allow_upload}"
            + ("/NAME, the chosen collection's folder" if collections.several else ""),
            file=sys.stderr,
        )
    if args.feedback is not None:
        print(f"qa: votes go to {args.feedback} (up to {feedback_max_mb} MB)", file=sys.stderr)
    ui.log_requests()  # one JSON line per request
    ui.launch(
        collections,
        host=args.host,
        port=args.port,
        auth=credentials,
        examples=args.example,
        mcp=args.mcp,
        upload_dir=args.allow_upload,
        max_upload_mb=max_upload_mb,
        feedback=args.feedback,
        feedback_max_mb=feedback_max_mb,
        log_questions=args.log_questions,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("qa: %(message)s"))
    log = logging.getLogger("qa")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    command = {"index": _index, "ask": _ask, "eval": _eval, "serve": _serve}[args.command]
    try:
        code = command(args)
    except (QAError, ValueError, OSError) as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return code or 0
