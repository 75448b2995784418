"""Load test of the served ``/retrieve`` API: many concurrent clients against ``qa serve``.

Starts ``python -m qa serve`` on 127.0.0.1 over an index of ``seeds/``, runs ``--clients``
threads (each with its own ``gradio_client.Client``) that call
``predict(question, 5, api_name="/retrieve")`` in a loop for ``--seconds``, then stops the
server. Reports requests per second, p50/p95/p99 latency and errors; writes
``benchmarks/results/load.json`` and the ``## Load`` section of ``benchmarks/RESULTS.md``.

Usage::

    .venv/bin/python benchmarks/load.py                 # 20 clients, 60 s
    .venv/bin/python benchmarks/load.py --clients 5 --seconds 10
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import numpy as np
from common.args import arg_parser
from common.machine import command_line, machine_info, today
from common.paths import DATA, REPO, RESULTS, rel
from common.results import replace_section, write_json

HOST = "127.0.0.1"
QUESTIONS = REPO / "tests" / "data" / "seed_questions.json"
RESULTS_JSON = RESULTS / "load.json"
DEFAULT_INDEX = DATA / "index-seeds"
SECTION = "Load"
TARGET_P95_MS = 500.0
# Hard bounds, whatever the flags say: the run always ends by itself.
MAX_CLIENTS = 64
MAX_SECONDS = 600
MAX_REQUESTS_PER_CLIENT = 100_000
STARTUP_SECONDS = 180
_QA_SERVE = (sys.executable, "-m", "qa", "serve")
# gradio_client hands ``ssl_verify`` to httpx, which builds a new TLS context (loading the
# CA bundle: ~45 ms of CPU) for every request unless it is given a ready one, even for
# http:// URLs. One context shared by all clients keeps the load generator light.
_SSL_CONTEXT = ssl.create_default_context()


@dataclass
class ClientStats:
    """What one client thread saw.

    Attributes:
        latencies: Seconds per successful request.
        errors: Messages of failed requests (the first few are kept).
        error_count: Number of failed requests.
    """

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _load_questions() -> list[str]:
    return [item["question"] for item in json.loads(QUESTIONS.read_text(encoding="utf-8"))]


def _build_index(index_dir: Path) -> None:
    """Builds (or brings up to date) the index over ``seeds/``."""
    import qa

    qa.Index.build(["seeds"], index_dir)  # run from REPO: cited as seeds/…


def _start_server(index_dir: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [*_QA_SERVE, "--index", str(index_dir), "--host", HOST, "--port", str(port)],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )


def _wait_listening(server: subprocess.Popen[bytes], port: int, log_path: Path) -> float:
    """Waits until the server accepts connections; returns the seconds it took.

    Raises:
        RuntimeError: If the server exits or does not listen in time.
    """
    start = time.monotonic()
    while time.monotonic() - start < STARTUP_SECONDS:
        if server.poll() is not None:
            raise RuntimeError(f"qa serve exited with {server.returncode}:\n{log_path.read_text()}")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return time.monotonic() - start
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"qa serve did not listen within {STARTUP_SECONDS} s")


def _cpu_seconds(pid: int) -> float:
    """Returns the CPU time (user + system) a process has used so far, or NaN."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def _stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=20)


def _client_loop(
    url: str,
    questions: list[str],
    offset: int,
    k: int,
    ready: threading.Barrier,
    window: dict[str, float],
    stop: threading.Event,
    stats: ClientStats,
    pace: float,
    slot: float,
) -> None:
    """One client: connects, waits for the others, then asks until the window closes.

    With ``pace`` > 0 the client starts at most one request every ``pace`` seconds (a
    person reading answers), its first at ``slot`` (0 to 1) of a period into the window;
    with 0 it asks again as soon as an answer arrives.
    """
    from gradio_client import Client

    client = None
    try:
        client = Client(
            url,
            verbose=False,
            analytics_enabled=False,
            download_files=False,
            ssl_verify=_SSL_CONTEXT,
        )
    except Exception as exc:  # counted as an error, the run goes on
        stats.error_count += 1
        stats.errors.append(f"connect: {type(exc).__name__}: {exc}")
    with contextlib.suppress(threading.BrokenBarrierError):
        ready.wait(timeout=STARTUP_SECONDS)
    if client is None:
        return
    if pace:  # spread the paced clients over one period instead of firing in lockstep
        stop.wait(pace * slot)
    i = offset
    while not stop.is_set() and len(stats.latencies) + stats.error_count < MAX_REQUESTS_PER_CLIENT:
        if time.perf_counter() >= window["end"]:
            break
        question = questions[i % len(questions)]
        i += 1
        start = time.perf_counter()
        next_start = start + pace
        try:
            hits = client.predict(question, k, api_name="/retrieve")
            if not isinstance(hits, list) or len(hits) != k:
                raise ValueError(f"expected {k} passages, got {hits!r:.100}")
        except Exception as exc:
            stats.error_count += 1
            if len(stats.errors) < 5:
                stats.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            continue
        stats.latencies.append(time.perf_counter() - start)
        if pace:
            stop.wait(max(0.0, next_start - time.perf_counter()))
    with contextlib.suppress(Exception):
        client.close()


def run_load(url: str, clients: int, seconds: float, k: int, pace: float) -> dict[str, object]:
    """Runs the clients against ``url`` and summarises what they saw.

    Args:
        url: The served app.
        clients: Number of concurrent clients (threads).
        seconds: Length of the measured window.
        k: Passages per request.
        pace: Least seconds between the starts of one client's requests (0: none).

    Returns:
        Throughput, latency percentiles and errors.
    """
    questions = _load_questions()
    stats = [ClientStats() for _ in range(clients)]
    stop = threading.Event()
    window = {"start": 0.0, "end": float("inf")}

    def open_window() -> None:
        window["start"] = time.perf_counter()
        window["end"] = window["start"] + seconds

    ready = threading.Barrier(clients, action=open_window)
    threads = [
        threading.Thread(
            target=_client_loop,
            args=(url, questions, i * 3, k, ready, window, stop, stats[i], pace, i / clients),
            name=f"client-{i}",
            daemon=True,
        )
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    try:
        hard_end = time.monotonic() + STARTUP_SECONDS + seconds + 60
        for t in threads:
            t.join(timeout=max(0.0, hard_end - time.monotonic()))
    finally:
        stop.set()
    elapsed = time.perf_counter() - window["start"] if window["start"] else 0.0
    latencies = np.asarray([x for s in stats for x in s.latencies], dtype=float) * 1000
    errors = sum(s.error_count for s in stats)
    p50, p95, p99 = (
        (float(np.percentile(latencies, q)) for q in (50, 95, 99))
        if latencies.size
        else (float("nan"),) * 3
    )
    return {
        "clients": clients,
        "pace_s": pace,
        "seconds": round(elapsed, 2),
        "requests": int(latencies.size),
        "errors": errors,
        "error_samples": [e for s in stats for e in s.errors][:10],
        "requests_per_second": round(latencies.size / elapsed, 2) if elapsed else 0.0,
        "latency_ms": {
            "p50": round(p50, 1),
            "p95": round(p95, 1),
            "p99": round(p99, 1),
            "mean": round(float(latencies.mean()), 1) if latencies.size else float("nan"),
            "max": round(float(latencies.max()), 1) if latencies.size else float("nan"),
        },
        "per_client_requests": [len(s.latencies) for s in stats],
    }


def _table(results: list[dict[str, object]]) -> str:
    rows = [
        "| clients | pace | seconds | requests | req/s | p50 ms | p95 ms | p99 ms | max ms "
        "| errors | server CPU cores | client CPU cores |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lat = r["latency_ms"]
        assert isinstance(lat, dict)
        pace = f"1 request / {r['pace_s']:g} s" if r["pace_s"] else "none (closed loop)"
        rows.append(
            f"| {r['clients']} | {pace} | {r['seconds']} | {r['requests']} "
            f"| {r['requests_per_second']} | {lat['p50']} | {lat['p95']} | {lat['p99']} "
            f"| {lat['max']} | {r['errors']} | {r.get('server_cpu_cores')} "
            f"| {r.get('client_cpu_cores')} |"
        )
    return "\n".join(rows)


def _meets(result: dict[str, object]) -> bool:
    lat = result["latency_ms"]
    assert isinstance(lat, dict)
    return result["errors"] == 0 and lat["p95"] < TARGET_P95_MS


def _cpu_ms(result: dict[str, object], key: str) -> str:
    cores, requests = result.get(key), result["requests"]
    if not isinstance(cores, float) or not isinstance(requests, int) or not requests:
        return "?"
    return f"{cores * float(result['seconds']) / requests * 1000:.0f}"  # type: ignore[arg-type]


def _section(results: list[dict[str, object]], machine: dict[str, object], command: str) -> str:
    verdicts = "; ".join(
        f"{'paced' if r['pace_s'] else 'closed loop'}: "
        f"{'meets' if _meets(r) else 'misses'} the target (no errors, p95 < 500 ms)"
        for r in results
    )
    return (
        f"Command: `{command}`  \n"
        f"Machine: {machine['nproc']} CPUs, {machine['cpu']}, Python {machine['python']}, "
        f"load average at start {machine['loadavg_at_start']}  \n"
        f"Date: {results[0]['date']}\n\n"
        f"`qa serve` on {HOST} over an index of `seeds/`; each client is a thread with its "
        f"own `gradio_client.Client` calling `predict(question, {results[0]['k']}, "
        f'api_name="/retrieve")` (questions cycled from `tests/data/seed_questions.json`); '
        f"the clients run on the same 2 cores as the server and share one TLS context "
        f"(`ssl_verify=ssl.create_default_context()`): without it gradio_client builds a new "
        f"one for every request, about 45 ms of CPU even over http://. Latency is per "
        f"request, seen by the client; gradio_client polls for results every 50 ms, so even "
        f"an idle server shows about 55 ms. Closed loop: every client asks again as soon as "
        f"its answer arrives, which saturates the machine; paced: every client asks at most "
        f"once a second, like people reading answers, their first requests spread over the "
        f"first second.\n\n"
        f"{_table(results)}\n\n"
        f"CPU per request (closed loop): server {_cpu_ms(results[0], 'server_cpu_cores')} ms, "
        f"clients {_cpu_ms(results[0], 'client_cpu_cores')} ms.\n\n"
        f"Result: {verdicts}.\n"
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark; returns the exit code (1 if a target is missed)."""
    parser = arg_parser(__doc__, xquad=False)
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (20)")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window (60)")
    parser.add_argument("-k", type=int, default=5, help="passages per request (5)")
    parser.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="index folder")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument(
        "--pace",
        type=float,
        action="append",
        help="seconds between one client's requests; repeat for several runs (default: 0 and 1)",
    )
    parser.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS or not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"need 1 <= --clients <= {MAX_CLIENTS} and 0 < --seconds <= {MAX_SECONDS}")
    signal.signal(signal.SIGTERM, _interrupt)
    os.chdir(REPO)
    machine = machine_info()
    command = command_line()
    print(f"building/updating the index at {args.index} ...", flush=True)
    _build_index(args.index)
    port = args.port or _free_port()
    log_path = RESULTS / "load-server.log"
    server = _start_server(args.index, port, log_path)
    try:
        startup = _wait_listening(server, port, log_path)
        url = f"http://{HOST}:{port}/"
        print(
            f"qa serve listening on {url} after {startup:.1f} s; "
            f"{args.clients} clients for {args.seconds:g} s ...",
            flush=True,
        )
        results = []
        for pace in args.pace or [0.0, 1.0]:
            print(f"pace {pace:g} s ...", flush=True)
            cpu_before, own_before = _cpu_seconds(server.pid), _cpu_seconds(os.getpid())
            result = run_load(url, args.clients, args.seconds, args.k, pace)
            cpu = _cpu_seconds(server.pid) - cpu_before
            own = _cpu_seconds(os.getpid()) - own_before
            window = float(result["seconds"])  # type: ignore[arg-type]
            result["server_cpu_cores"] = round(cpu / window, 2) if window else None
            result["client_cpu_cores"] = round(own / window, 2) if window else None
            results.append(result)
    except KeyboardInterrupt:
        print("interrupted; stopping the server", file=sys.stderr)
        return 130
    finally:
        _stop_server(server)
    for result in results:
        result.update(
            loadavg_at_end=[round(x, 2) for x in os.getloadavg()],
            k=args.k,
            date=today(),
            command=command,
            machine=machine,
            server_startup_s=startup,
        )
    write_json(RESULTS_JSON, results)
    print(_table(results))
    for result in results:
        if result["error_samples"]:
            print("errors, e.g.:", *result["error_samples"][:3], sep="\n  ")
    if not args.no_write:
        replace_section(SECTION, _section(results, machine, command))
        print(f"wrote {rel(RESULTS_JSON)} and benchmarks/RESULTS.md")
    return 0 if all(_meets(r) for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
