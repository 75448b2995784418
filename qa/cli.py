"""The ``qa`` command: ``qa index``, ``qa ask``, ``qa serve``.

Errors go to stderr as one line with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import sys
from collections.abc import Sequence

from qa.index import DEFAULT_INDEX_DIR, Index
from qa.relevance import MIN_RELEVANCE, NOT_ANSWERED
from vectorstore import QAError
from vectorstore.builder import Engine

__all__ = ["main"]

EXIT_USAGE = 2
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

    serve = sub.add_parser("serve", help="serve the chat UI and the /retrieve API")
    serve.add_argument(
        "--index", default=_index_dir_default(), help="index folder (default: %(default)s)"
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


def _ask(args: argparse.Namespace) -> None:
    hits = Index.load(args.index).search(
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
    try:
        import ui
    except ImportError as exc:
        raise QAError(f"the UI needs gradio: pip install 'qa[ui]' ({exc})") from exc
    if args.mcp and importlib.util.find_spec("mcp") is None:
        raise QAError("--mcp needs the mcp package: pip install 'qa[mcp]'")
    index = Index.load(args.index)
    index.warm_up()  # the first visitor should not wait for the model to load
    index.follow()  # answer from each generation `qa index` publishes, without a restart
    url = f"http://{args.host}:{args.port}/"
    login = f", login required for {len(credentials)} user(s)" if credentials else ""
    print(f"qa: serving {index.path} on {url}{login}", file=sys.stderr)
    if args.mcp:
        print(f"qa: MCP tools at {url}{ui.MCP_PATH.lstrip('/')}/", file=sys.stderr)
    max_upload_mb = args.max_upload_mb or DEFAULT_MAX_UPLOAD_MB
    if args.allow_upload is not None:
        print(
            f"qa: uploads of up to {max_upload_mb} MB a file go to {args.allow_upload}",
            file=sys.stderr,
        )
    ui.launch(
        index,
        host=args.host,
        port=args.port,
        auth=credentials,
        examples=args.example,
        mcp=args.mcp,
        upload_dir=args.allow_upload,
        max_upload_mb=max_upload_mb,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("qa: %(message)s"))
    log = logging.getLogger("qa")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    command = {"index": _index, "ask": _ask, "serve": _serve}[args.command]
    try:
        command(args)
    except (QAError, ValueError, OSError) as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return 0
