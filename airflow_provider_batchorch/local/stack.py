"""``batchorch local up`` / ``down``: the embedded AWS as long-running processes, for an Airflow outside compose.

``up`` starts the moto server (``EmbeddedAws``) on ``--port``, deploys the processor (state machine, queues,
progress table) and the dashboard's jobs table, uploads the example CSVs to the batch bucket, starts ``--workers``
local workers, and prints one ready line on stdout: the endpoint, the bucket and the ``AIRFLOW_CONN_AWS_DEFAULT``
value that points an Airflow (its scheduler, workers, triggerer and API server) at it. Logs go to stderr and to
the log folder. It then waits: a worker that exits is replaced; SIGINT or SIGTERM stops every child (their
process groups, as ``EmbeddedAws.stop`` does) and exits 0; the emulator dying stops the rest and exits 1.

``down`` sends SIGTERM to the ``up`` named in the pid file and waits until it has stopped its children.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import os
import shlex
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path


from typing import TYPE_CHECKING

from airflow_provider_batchorch.core.errors import BatchorchError, InvalidConfError

if TYPE_CHECKING:  # boto3 and moto's harness load only for `local up`: `batchorch --help` stays quick
    from airflow_provider_batchorch.local.emulator import EmbeddedAws

log = logging.getLogger(__name__)
DEFAULT_PORT = 5000
DEFAULT_PID_FILE = Path.home() / ".batchorch" / "local-up.pid"
# The checkout's examples/ (an installed wheel has none: ``--examples DIR`` then, or nothing is uploaded).
CHECKOUT_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLES_PREFIX = "examples/"
READY_PREFIX = "batchorch local: ready"
POLL_SECONDS = 0.2
# A worker that exits is replaced, up to this many times: past that something is wrong (see the worker logs).
MAX_WORKER_REPLACEMENTS = 20
DOWN_TIMEOUT_SECONDS = 30.0


class LocalPortInUseError(BatchorchError):
    code = "LOCAL_PORT_IN_USE"


class LocalAlreadyRunningError(BatchorchError):
    code = "LOCAL_ALREADY_RUNNING"


class LocalNotRunningError(BatchorchError):
    code = "LOCAL_NOT_RUNNING"


class WorkersKeepExitingError(BatchorchError):
    code = "RUN_WORKERS_EXITING"


class LocalStopTimeoutError(BatchorchError):
    code = "RUN_LOCAL_STOP_TIMEOUT"  # RUN_: exit 1, not a refused input


def add_local_parser(commands: argparse._SubParsersAction) -> None:
    local = commands.add_parser("local", help="the embedded AWS as long-running processes, for your own Airflow")
    actions = local.add_subparsers(dest="local_action", required=True)
    up = actions.add_parser("up", help="start the emulator, the processor, the examples and workers; wait")
    up.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the emulator's port on 127.0.0.1 "
                    f"(default {DEFAULT_PORT}; 0: a free one)")
    up.add_argument("--workers", type=int, default=2, help="local worker processes (at least 1, default 2)")
    up.add_argument("--examples", type=Path, default=CHECKOUT_EXAMPLES,
                    help="folder whose *.csv are uploaded to s3://BUCKET/examples/ (default: the checkout's)")
    up.add_argument("--log-dir", type=Path, help="where the emulator and workers log (default: a temp folder)")
    up.add_argument("--pid-file", type=Path, default=DEFAULT_PID_FILE, help=f"default {DEFAULT_PID_FILE}")
    down = actions.add_parser("down", help="stop a running `batchorch local up` (by its pid file)")
    down.add_argument("--pid-file", type=Path, default=DEFAULT_PID_FILE, help=f"default {DEFAULT_PID_FILE}")
    down.add_argument("--timeout", type=float, default=DOWN_TIMEOUT_SECONDS, help="seconds to wait for it to stop")


def cmd_local(args: argparse.Namespace) -> int:
    if args.local_action == "down":
        return local_down(args.pid_file, timeout=args.timeout)
    return local_up(port=args.port, workers=args.workers, examples=args.examples, log_dir=args.log_dir,
                    pid_file=args.pid_file)


def local_up(*, port: int, workers: int, examples: Path | None, log_dir: Path | None, pid_file: Path) -> int:
    if workers < 1:
        raise InvalidConfError(f"--workers must be at least 1 (got {workers}): no worker would take the chunks.",
                               hint="Give --workers 1 or more (default 2).")
    from airflow_provider_batchorch.aws.job_records import ensure_jobs_table
    from airflow_provider_batchorch.local.emulator import EmbeddedAws, require_local_extra

    require_local_extra()
    _refuse_running(pid_file)
    _refuse_busy_port(port)
    stop = _StopSignal()
    aws = EmbeddedAws(log_dir=log_dir, port=port)
    try:
        with stop.installed():
            aws.start()
            jobs_table = ensure_jobs_table(aws.client("dynamodb"))
            uploaded = upload_examples(aws, examples)
            aws.start_workers(workers)
            aws.wait_for_workers()
            _write_pid_file(pid_file)
            log.info("emulator %s, jobs table %s, %d example CSVs, %d workers; logs in %s",
                     aws.endpoint_url, jobs_table, len(uploaded), workers, aws.log_dir)
            print(ready_line(aws, workers, uploaded), flush=True)
            return _wait(aws, stop)
    except _StoppedWhileStarting:
        log.info("%s received while starting: stopping what was started", stop.received)
        return 0
    finally:
        aws.stop()
        _remove_pid_file(pid_file)


def ready_line(aws: "EmbeddedAws", workers: int, uploaded: list[str]) -> str:
    connection = json.loads(aws.environment()["AIRFLOW_CONN_AWS_DEFAULT"])
    examples = f" (examples: {', '.join(uploaded)})" if uploaded else ""
    return (f"{READY_PREFIX}: endpoint {aws.endpoint_url}, bucket {aws.bucket}{examples}, {workers} workers; "
            f"point Airflow at it: export AIRFLOW_CONN_AWS_DEFAULT={shlex.quote(json.dumps(connection))}")


def upload_examples(aws: "EmbeddedAws", folder: Path | None) -> list[str]:
    """Each ``folder/*.csv`` to ``s3://BUCKET/examples/NAME``; their URIs, sorted."""
    if folder is None or not folder.is_dir():
        log.info("no examples folder (%s): nothing uploaded", folder)
        return []
    s3 = aws.client("s3")
    uris = []
    for path in sorted(folder.glob("*.csv")):
        key = EXAMPLES_PREFIX + path.name
        s3.upload_file(str(path), aws.bucket, key)
        uris.append(f"s3://{aws.bucket}/{key}")
    return uris


def _wait(aws: "EmbeddedAws", stop: "_StopSignal") -> int:
    """Until SIGINT/SIGTERM (0) or the emulator's exit (1); a worker that exits is replaced."""
    from airflow_provider_batchorch.local.emulator import EmulatorStoppedError, describe_exit

    stop.waiting = True
    replaced: set[int] = set()
    while not stop.event.wait(POLL_SECONDS):
        server = aws.server
        if server is not None and server.poll() is not None:
            error = EmulatorStoppedError(f"the emulator (moto, pid {server.pid}) {describe_exit(server.returncode)}",
                                         hint=f"Its log is {aws.log_dir / 'moto.log'}; run batchorch local up again.")
            print(f"error: {error}", file=sys.stderr)
            return 1
        for worker in aws.workers:
            if worker.poll() is not None and worker.pid not in replaced:
                replaced.add(worker.pid)
                if len(replaced) > MAX_WORKER_REPLACEMENTS:
                    error = WorkersKeepExitingError(
                        f"{len(replaced)} workers exited (the last {describe_exit(worker.returncode)})",
                        hint=f"Their logs are in {aws.log_dir}; fix the cause, then run batchorch local up again.")
                    print(f"error: {error}", file=sys.stderr)
                    return 1
                log.warning("worker %d %s: starting another", worker.pid, describe_exit(worker.returncode))
                aws.start_workers(1)
    log.info("%s received: stopping the workers and the emulator", stop.received)
    return 0


class _StoppedWhileStarting(Exception):
    """SIGINT/SIGTERM arrived before the ready line: start-up is abandoned, what it started is stopped."""


class _StopSignal:
    """SIGINT and SIGTERM set ``event``; before ``waiting`` they also abandon the start-up. Restored on exit."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.received = ""
        self.waiting = False

    def _handle(self, signum, frame) -> None:
        self.received = signal.Signals(signum).name
        self.event.set()
        if not self.waiting:
            raise _StoppedWhileStarting

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _refuse_busy_port(port: int) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise LocalPortInUseError(f"port {port} on 127.0.0.1 is already in use.",
                                      hint="Give another --port (or --port 0 for a free one).") from None


def _read_pid(pid_file: Path) -> int | None:
    """The pid the file names, if that process still runs (a zombie does not)."""
    import psutil

    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        return pid if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE else None
    except psutil.NoSuchProcess:
        return None


def _refuse_running(pid_file: Path) -> None:
    pid = _read_pid(pid_file)
    if pid is not None:
        raise LocalAlreadyRunningError(f"batchorch local up is already running (pid {pid}, {pid_file}).",
                                       hint="Stop it with batchorch local down, or give another --pid-file.")


def _write_pid_file(pid_file: Path) -> None:
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{os.getpid()}\n")


def _remove_pid_file(pid_file: Path) -> None:
    try:
        if int(pid_file.read_text().strip()) == os.getpid():
            pid_file.unlink()
    except (FileNotFoundError, ValueError):
        pass


def local_down(pid_file: Path, *, timeout: float = DOWN_TIMEOUT_SECONDS) -> int:
    """SIGTERM to the ``up`` of ``pid_file``; done when it has removed its pid file (after stopping its children)."""
    pid = _read_pid(pid_file)
    if pid is None:
        raise LocalNotRunningError(f"no batchorch local up is running ({pid_file} names none).",
                                   hint="Start one with batchorch local up, or give its --pid-file.")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _read_pid(pid_file) is None:
            print(f"batchorch local up (pid {pid}) stopped")
            return 0
        time.sleep(POLL_SECONDS)
    raise LocalStopTimeoutError(f"batchorch local up (pid {pid}) did not stop within {timeout:.0f}s.",
                                hint=f"Stop it with kill -KILL {pid}; its children die with it.")
