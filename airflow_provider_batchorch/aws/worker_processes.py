"""``batchorch worker --processes N``: one worker process per core by default, so a worker host uses the machine.

A worker is one asyncio loop; an LLM row costs it a little CPU (the request, the answer's JSON, the schema
check), so one process tops out near one core. The first process is the command itself; the other ``N - 1`` are
copies of its command line with ``--processes 1``. Stopping the command (SIGTERM/SIGINT) stops the copies the
same way: each finishes the chunks in hand, as a single worker does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

STOP_GRACE_SECONDS = 30.0


def default_processes() -> int:
    """As many worker processes as this process may use cores: its CPU affinity, within a cgroup's CPU quota (a
    container limited to 2 CPUs on a 64-core host gets 2)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    return max(1, min(cores, quota) if quota else cores)


def cgroup_cpu_quota(path: str = "/sys/fs/cgroup/cpu.max") -> int | None:
    """The whole CPUs cgroup v2 allows (``cpu.max``: "<quota> <period>" or "max <period>"), None when unlimited
    or unknown."""
    try:
        quota, period = open(path, encoding="ascii").read().split()[:2]
        return None if quota == "max" else max(1, int(quota) // int(period))
    except (OSError, ValueError):
        return None


def start_worker_copies(argv: list[str], count: int) -> list[subprocess.Popen]:
    """``count`` more worker processes with the command line ``argv`` (without ``--processes``)."""
    command = [sys.executable, "-m", "airflow_provider_batchorch.cli", *argv, "--processes", "1"]
    return [subprocess.Popen(command) for _ in range(count)]


def stop_worker_copies(copies: list[subprocess.Popen], grace: float = STOP_GRACE_SECONDS) -> None:
    for process in copies:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in copies:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def argv_without_processes(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--processes":
            skip = True
        elif not arg.startswith("--processes="):
            out.append(arg)
    return out
