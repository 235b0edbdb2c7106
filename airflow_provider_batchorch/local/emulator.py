"""The embedded default: AWS emulated by a moto server on a free 127.0.0.1 port, plus local worker processes.

Used by ``batchorch run`` when no AWS endpoint is configured, and by the end-to-end tests. Everything it starts
it stops on exit: each child (the moto server, every worker) leads its own process group, and ``stop`` sends the
group SIGTERM, then SIGKILL after a grace period. On Linux a child also gets SIGKILL when the thread that started
it dies (``PR_SET_PDEATHSIG``), so a parent killed outright leaves nothing behind. ``supervise`` turns SIGINT,
SIGTERM and the emulator dying mid-run into one call of the caller's ``on_abort`` after the children are stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import importlib.util
import json
import logging
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import requests
from botocore.config import Config

from airflow_provider_batchorch.aws.processor import ProcessorNames, ProcessorRefs, ensure_processor
from airflow_provider_batchorch.core.errors import BatchorchError

log = logging.getLogger(__name__)
REGION = "us-east-1"
BUCKET = "batchorch-local"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
# Every client of the embedded default retries throttling and 5xx (botocore's standard mode) like the workers do.
RETRIES = {"mode": "standard", "max_attempts": 10}
# Chunks one local worker takes at once. Rows in flight are chunk_concurrency x row_concurrency; with the
# default two workers this lets a batch reach concurrency 500 at 100 rows a chunk (250 chunks in flight).
WORKER_MAX_CHUNKS = 128
# How long ``stop`` waits after SIGTERM before SIGKILL. A worker that is told to stop finishes the chunks in hand.
STOP_GRACE_SECONDS = 5.0
# Exit codes of an aborted run (``supervise``): the shell's 128 + signal number, 1 when the emulator died.
EXIT_EMULATOR_STOPPED = 1


class RunInterruptedError(BatchorchError):
    code = "RUN_INTERRUPTED"


class EmulatorStoppedError(BatchorchError):
    code = "RUN_EMULATOR_STOPPED"


class EmulatorNotInstalledError(BatchorchError):
    code = "EMULATOR_NOT_INSTALLED"


# What only the emulator's server imports (``serve``): the package's optional extra ``[local]``, not a dependency
# of production workers.
LOCAL_EXTRA_MODULES = ("moto", "uvicorn", "a2wsgi")


def require_local_extra() -> None:
    """Raise ``EmulatorNotInstalledError`` unless the ``[local]`` extra (moto and its server) is installed."""
    missing = [name for name in LOCAL_EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise EmulatorNotInstalledError(
            f"the embedded AWS emulator needs {', '.join(missing)}, which is not installed here.",
            hint="Install the local extra: pip install 'airflow-provider-batchorch[local]'; or use AWS instead "
            "(set BATCHORCH_AWS_ENDPOINT_URL or AIRFLOW_CONN_AWS_DEFAULT).")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()  # resolved here, not in the forked child
_PR_SET_PDEATHSIG = 1


def _child_setup(parent_pid: int, die_with_parent: bool) -> Callable[[], None]:
    """Runs in the child between fork and exec: its own process group, and SIGKILL when the parent dies."""

    def setup() -> None:
        os.setsid()
        if die_with_parent and _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent_pid:  # the parent died before the safeguard was armed
                os._exit(1)

    return setup


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the child and anything it started
    except ProcessLookupError:
        pass
    except PermissionError:  # not a group leader after all: the process alone
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, sig)


def stop_processes(processes: list[subprocess.Popen], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM to each process's group, SIGKILL to those still there after ``grace`` seconds; reaps them all."""
    for process in processes:
        if process.poll() is None:
            _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        _signal_group(process, signal.SIGKILL)  # also a group whose leader exited but left members behind
        process.wait()


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "is still running"
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


class EmbeddedAws:
    def __init__(self, *, log_dir: str | Path | None = None, names: ProcessorNames | None = None,
                 port: int = 0) -> None:
        """:param port: The emulator's port on 127.0.0.1; 0 (default): a free one."""
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="batchorch-embedded-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.names = names or ProcessorNames()
        self.requested_port = port
        self.port = 0
        self.bucket = BUCKET
        self.refs: ProcessorRefs | None = None
        self._server: subprocess.Popen | None = None
        self._workers: list[subprocess.Popen] = []
        self._worker_logs: dict[int, Path] = {}
        self._stop_lock = threading.Lock()
        self._stopping = False

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str, *, endpoint_url: str | None = None, config: Config | None = None):
        return boto3.client(
            service,
            endpoint_url=endpoint_url or self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=config or Config(retries=RETRIES),
        )

    def __enter__(self) -> "EmbeddedAws":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        require_local_extra()
        self.port = self.requested_port or free_port()
        # moto's Step Functions interpreter calls S3/SQS/DynamoDB through MOTO_PORT on localhost.
        env = {**os.environ, **CREDENTIALS, "MOTO_PORT": str(self.port)}
        with open(self.log_dir / "moto.log", "ab") as log:
            self._server = self._spawn(
                [sys.executable, "-m", "airflow_provider_batchorch.local.emulator", "--port", str(self.port)], log, env)
        self._wait_until_up()
        requests.post(
            f"{self.endpoint_url}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}},
            timeout=10,
        ).raise_for_status()
        self.client("s3").create_bucket(Bucket=self.bucket)
        self.refs = ensure_processor(self.client("stepfunctions"), self.client("sqs"), self.client("dynamodb"), self.names)

    @staticmethod
    def _spawn(command: list[str], output, env: dict[str, str]) -> subprocess.Popen:
        # PR_SET_PDEATHSIG fires when the starting *thread* ends: armed only when that thread is the main one.
        die_with_parent = threading.current_thread() is threading.main_thread()
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env,
                                preexec_fn=_child_setup(os.getpid(), die_with_parent))

    def _wait_until_up(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._server.returncode}; see {self.log_dir / 'moto.log'}")
            try:
                requests.get(f"{self.endpoint_url}/moto-api/data.json", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"moto server did not start within {timeout:.0f}s; see {self.log_dir / 'moto.log'}")

    def environment(self) -> dict[str, str]:
        """Environment for processes (and Airflow) that should talk to this emulator."""
        connection = {
            "conn_type": "aws",
            "login": CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "password": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            "extra": {"endpoint_url": self.endpoint_url, "region_name": REGION, "config_kwargs": {"retries": RETRIES}},
        }
        return {**CREDENTIALS, "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection), "BATCHORCH_AWS_ENDPOINT_URL": self.endpoint_url}

    def worker_command(self, max_chunks: int = WORKER_MAX_CHUNKS, *, endpoint_url: str | None = None) -> list[str]:
        return [
            sys.executable, "-m", "airflow_provider_batchorch.cli", "worker",
            "--endpoint-url", endpoint_url or self.endpoint_url, "--region", REGION, "--max-chunks", str(max_chunks),
            "--queue", self.names.queue, "--progress-table", self.names.progress_table,
            "--processes", "1",  # start_workers starts the processes itself, one per worker
        ]

    def stream_worker_command(self, config_uri: str) -> list[str]:
        """A ``batchorch stream-worker`` of the stream staged at ``config_uri`` (aws/stream_worker.py)."""
        return [sys.executable, "-m", "airflow_provider_batchorch.cli", "stream-worker", "--config", config_uri,
                "--endpoint-url", self.endpoint_url, "--region", REGION]

    def start_workers(self, count: int = 2, *, max_chunks: int = WORKER_MAX_CHUNKS, endpoint_url: str | None = None,
                      env: dict[str, str] | None = None, command: list[str] | None = None) -> list[subprocess.Popen]:
        """Start ``count`` local workers; ``endpoint_url`` (e.g. a fault-injecting proxy) instead of moto's;
        ``command`` instead of ``batchorch worker`` (e.g. ``stream_worker_command``)."""
        env = {**os.environ, **CREDENTIALS, **(env or {}),
               "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
        started = []
        for _ in range(count):
            index = len(self._workers)
            log_path = self.log_dir / f"worker-{index}.log"
            with open(log_path, "ab") as log:
                process = self._spawn(command or self.worker_command(max_chunks, endpoint_url=endpoint_url), log, env)
            self._workers.append(process)
            self._worker_logs[process.pid] = log_path
            started.append(process)
        return started

    def wait_for_workers(self, processes: list[subprocess.Popen] | None = None, timeout: float = 60.0) -> None:
        """Until each worker polls the queue (a worker takes a few seconds to import and start)."""
        deadline = time.monotonic() + timeout
        for process in processes if processes is not None else self._workers:
            log_path = self._worker_logs[process.pid]
            while b"worker polling" not in log_path.read_bytes():
                if process.poll() is not None:
                    raise RuntimeError(f"worker exited with {process.returncode}; see {log_path}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"worker not polling after {timeout:.0f}s; see {log_path}")
                time.sleep(0.05)

    @property
    def workers(self) -> list[subprocess.Popen]:
        return list(self._workers)

    @property
    def server(self) -> subprocess.Popen | None:
        return self._server

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop every worker and the emulator (SIGTERM, SIGKILL after ``grace`` seconds). Safe from any thread."""
        with self._stop_lock:
            self._stopping = True
            stop_processes([p for p in [*self._workers, self._server] if p is not None], grace)
            self._workers.clear()
            self._server = None

    @contextlib.contextmanager
    def supervise(self, on_abort: Callable[[BatchorchError, int], None]) -> Iterator[None]:
        """While in the block: on SIGINT/SIGTERM, or when the emulator dies, stop the children, then call
        ``on_abort(error, exit_code)`` from a watchdog thread (the main thread may be deep in Airflow, whose task
        runner replaces the SIGTERM handler, so the signal is read from ``signal.set_wakeup_fd``). Main thread only.
        """
        watchdog = _Watchdog(self, on_abort)
        with watchdog.armed():
            yield


class _PartsTally:
    """Chunk parts the workers finished in the emulator's S3, counted while the emulator still answers."""

    _SUMMARY = re.compile(r"/parts/chunk-\d+\.json$")

    def __init__(self, s3, bucket: str) -> None:
        self.s3, self.bucket = s3, bucket
        self.rows: dict[str, int] = {}

    def refresh(self) -> None:
        from airflow_provider_batchorch.core.models import ChunkSummary

        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix="batchorch/runs/"):
            for item in page.get("Contents", []):
                key = item["Key"]
                if key not in self.rows and self._SUMMARY.search(key):
                    body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                    self.rows[key] = ChunkSummary.model_validate_json(body).rows

    def describe(self) -> str:
        if not self.rows:
            return "no chunk part had been finished"
        return (f"{len(self.rows)} chunk parts ({sum(self.rows.values())} rows) had been finished, in the emulator's "
                "in-memory S3: they are gone with it, and no output was written")


class _Watchdog:
    POLL_SECONDS = 0.2
    TALLY_SECONDS = 1.0

    def __init__(self, aws: EmbeddedAws, on_abort: Callable[[BatchorchError, int], None]) -> None:
        self.aws, self.on_abort = aws, on_abort
        self.done = threading.Event()
        self.tally = _PartsTally(aws.client("s3", config=_QUICK), aws.bucket)

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        # A Python-level handler must be installed for the C handler to write the wakeup byte; this one does
        # nothing else, so SIGINT no longer raises KeyboardInterrupt somewhere in Airflow.
        previous = {sig: signal.signal(sig, _ignore_here) for sig in (signal.SIGINT, signal.SIGTERM)}
        previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        threads = [threading.Thread(target=self._watch, args=(read_fd,), name="embedded-watchdog", daemon=True),
                   threading.Thread(target=self._count_parts, name="embedded-parts-tally", daemon=True)]
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            self.done.set()
            signal.set_wakeup_fd(previous_fd)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for thread in threads:
                thread.join(timeout=5)
            os.close(write_fd)
            os.close(read_fd)

    def _watch(self, read_fd: int) -> None:
        while not self.done.is_set():
            ready, _, _ = select.select([read_fd], [], [], self.POLL_SECONDS)
            if ready:
                received = [s for s in os.read(read_fd, 64) if s in (signal.SIGINT, signal.SIGTERM)]
                if received:
                    return self._abort_on_signal(signal.Signals(received[0]))
            server = self.aws.server
            if server is not None and server.poll() is not None and not self.aws._stopping:
                return self._abort_on_emulator_exit(server)

    def _abort_on_signal(self, sig: signal.Signals) -> None:
        log.warning("%s received: stopping the workers and the emulator", sig.name)
        self.aws.stop()
        self.on_abort(RunInterruptedError(
            f"interrupted by {sig.name}: the workers and the embedded emulator were stopped, "
            f"{self.tally.describe()}", hint="Run it again to process the batch."), 128 + sig)

    def _abort_on_emulator_exit(self, server: subprocess.Popen) -> None:
        how = describe_exit(server.returncode)
        self.aws.stop(grace=1.0)  # with the emulator gone the workers have nothing left to finish
        self.on_abort(EmulatorStoppedError(
            f"the embedded AWS emulator (moto, pid {server.pid}) {how} mid-run; {self.tally.describe()}",
            hint=f"Run it again; the emulator's log is {self.aws.log_dir / 'moto.log'}."), EXIT_EMULATOR_STOPPED)

    def _count_parts(self) -> None:
        while not self.done.wait(self.TALLY_SECONDS):
            try:
                self.tally.refresh()
            except Exception:  # noqa: BLE001 - the emulator may be gone or busy: keep the last count
                continue


def _ignore_here(signum, frame) -> None:
    """The watchdog acts on the signal (it reads it from the wakeup fd)."""


# Short timeouts and no retries for the watchdog's own calls, so a dying emulator does not hold it.
_QUICK = Config(connect_timeout=1, read_timeout=3, retries={"total_max_attempts": 1})


# How long the server keeps an idle connection open. uvicorn's default (5 s) closed the Step Functions
# interpreter's pooled connections while it waited for chunks; a request sent as the server closed one failed with
# "Connection was closed before we received a valid response" (States.Runtime) and lost its chunk. Longer than any
# wait between two dispatches of a batch; the interpreter's client also retries (INTERPRETER_RETRIES).
KEEP_ALIVE_SECONDS = 24 * 3600
# moto's interpreter makes each call back into the server once (total_max_attempts 1); AWS's own service
# integrations ride out a dropped connection, so ours retry it (a retried sqs:sendMessage at worst delivers a chunk
# twice, which the workers handle: the second answer finds the task token already used).
INTERPRETER_RETRIES = {"mode": "standard", "max_attempts": 5}
# What the batch processor's Distributed Map calls: its ItemReader (S3) and each chunk's task (SQS).
INTERPRETER_SERVICES = ("s3", "sqs")


def serve(host: str, port: int) -> None:
    """moto's server, tuned for throughput: the emulator, not the workers, bounds the embedded default.

    Profiled with py-spy (``--gil``) on 200 chunks of an instant agent, stock ``moto.server`` spends its CPU on
    work that does not grow our throughput: a new boto3 client for every ``sqs:sendMessage`` the Step Functions
    interpreter makes (one per chunk), a new JSONPath parser (yacc tables) for every path it evaluates, all the
    queue's attributes (a scan of every message) recomputed for every message received, a listing of moto's
    package directory on every request, a log line per request, and a new TCP connection and thread per request
    (werkzeug always answers ``Connection: close``). ``_tune_moto`` removes the first ones; the app is served by
    uvicorn through a WSGI thread pool, which keeps connections alive. Each patch is skipped when a moto
    release no longer has what it replaces: the emulator then runs as shipped, only slower.

    Two patches are about AWS's semantics, not speed (docs/embedded_emulator.md): the interpreter's calls back
    into the server are retried, and a Distributed Map fails when its failed children exceed its tolerated failure
    threshold (``_fail_map_past_tolerated_failures``), as on AWS.
    """
    import uvicorn
    from a2wsgi import WSGIMiddleware
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    os.environ.setdefault("MOTO_PORT", str(port))  # before _tune_moto: its warm-up builds clients for this port
    _tune_moto()
    app = DomainDispatcherApplication(create_backend_app)
    # Long polls (WaitTimeSeconds) and the interpreter's own calls back into the server each hold a thread.
    uvicorn.run(WSGIMiddleware(app, workers=256), host=host, port=port, log_level="warning", access_log=False,
                lifespan="off", timeout_keep_alive=KEEP_ALIVE_SECONDS)


def _tune_moto() -> None:
    import functools
    import threading

    from moto import backends
    from moto.sqs.models import SQSBackend
    from moto.core.utils import unix_time

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules

    def retained(self, queue_name: str, message) -> bool:  # the queue's one attribute, not all of them
        period = self.get_queue(queue_name).message_retention_period
        return int(period) + message.sent_timestamp / 1000 > unix_time()

    if hasattr(SQSBackend, "is_message_valid_based_on_retention_period"):
        SQSBackend.is_message_valid_based_on_retention_period = retained
    _lazy_queue_attributes()

    try:
        from moto.stepfunctions.parser.asl.utils import boto_client, json_path
    except ImportError:
        return
    # Rebound before the interpreter's service modules import them by name (they load on first use).
    if hasattr(json_path, "parse"):
        json_path.parse = functools.lru_cache(maxsize=4096)(json_path.parse)  # parsed paths are immutable
    if isinstance(getattr(boto_client, "Config", None), type):
        boto_client.Config = _retrying_config(boto_client.Config)
    make_client = getattr(boto_client, "boto_client_for", None)
    if make_client is not None:
        lock = threading.Lock()

        @functools.cache
        def cached_client(region: str, service: str):
            with lock:  # creating clients is not thread-safe; using them is
                return make_client(region=region, service=service)

        boto_client.boto_client_for = lambda region, service, state_credentials=None: cached_client(region, service)
        # The first batch's first chunk otherwise waits for these (botocore loads each service model once).
        threading.Thread(target=lambda: [cached_client(REGION, name) for name in INTERPRETER_SERVICES],
                         name="warm-interpreter-clients", daemon=True).start()
    _fail_map_past_tolerated_failures()


def _lazy_queue_attributes() -> None:
    """A queue's attributes computed when read, one at a time. moto's ``Queue.attributes`` computes all of them,
    the message counts included (a scan of every message), for each ``SendMessage`` that only asks whether the
    queue has ContentBasedDeduplication: 11 ms a message on a queue holding a few thousand (a stream's source
    queue, issue 15), 28 ms on a FIFO queue."""
    from collections.abc import Mapping

    from moto.core.utils import camelcase_to_underscores
    from moto.sqs.models import Queue

    if not isinstance(Queue.__dict__.get("attributes"), property) or not hasattr(Queue, "BASE_ATTRIBUTES"):
        return

    class QueueAttributes(Mapping):
        def __init__(self, queue) -> None:
            self.queue = queue
            self.names = [*Queue.BASE_ATTRIBUTES, *(Queue.FIFO_ATTRIBUTES if queue.fifo_queue else []),
                          *(Queue.KMS_ATTRIBUTES if queue.kms_master_key_id else []),
                          *(["Policy"] if queue.policy else []), *(["RedrivePolicy"] if queue.redrive_policy else [])]

        def __getitem__(self, name: str):
            if name not in self.names:
                raise KeyError(name)
            if name == "Policy":
                return self.queue.policy
            if name == "RedrivePolicy":
                return json.dumps(self.queue.redrive_policy)
            value = getattr(self.queue, camelcase_to_underscores(name))
            return str(value).lower() if isinstance(value, bool) else value

        def __iter__(self):
            return iter(self.names)

        def __len__(self) -> int:
            return len(self.names)

    Queue.attributes = property(QueueAttributes)


def _retrying_config(config_class: type) -> type:
    """moto's ``Config`` for the interpreter's clients, with INTERPRETER_RETRIES instead of its single attempt."""

    class RetryingConfig(config_class):
        def __init__(self, *args, **kwargs) -> None:
            kwargs["retries"] = INTERPRETER_RETRIES
            super().__init__(*args, **kwargs)

    return RetryingConfig


def _fail_map_past_tolerated_failures() -> None:
    """A Distributed Map fails (``States.ExceedToleratedFailureThreshold``) once its failed or timed-out children
    exceed ToleratedFailureCount or ToleratedFailurePercentage (of all its items), as on AWS; stock moto counts
    them and succeeds. moto cannot tell an absent threshold from 0: a threshold of 0 counts as absent unless both
    are 0 (the default: no failure tolerated)."""
    try:
        from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
            FailureEvent, FailureEventException)
        from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
        from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
            StatesErrorNameType)
        from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
            distributed_item_processor_worker as worker_module)
        from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    except ImportError:
        return
    worker_class = worker_module.DistributedItemProcessorWorker
    original_eval_job = worker_class.__dict__.get("_eval_job")
    threshold_error = getattr(StatesErrorNameType, "StatesExceedToleratedFailureThreshold", None)
    if original_eval_job is None or threshold_error is None:
        return

    def exceeded(record, items: int) -> bool:
        failures = record.item_counter.failed.get() + record.item_counter.timed_out.get()
        count, percentage = record.tolerated_failure_count or 0, record.tolerated_failure_percentage or 0.0
        if not count and not percentage:
            return failures > 0
        return bool((count and failures > count) or (percentage and items and 100.0 * failures / items > percentage))

    def eval_job(self, env, job) -> None:
        original_eval_job(self, env, job)
        items = getattr(self._job_pool, "_jobs_number", 0)
        if isinstance(job.job_output, Exception) or not exceeded(self._map_run_record, items):
            return
        cause = "The specified tolerated failure threshold was exceeded"
        job.job_output = FailureEventException(failure_event=FailureEvent(  # ends the Map Run: MapRunFailed
            env=env,
            error_name=StatesErrorName(typ=threshold_error),
            event_type=HistoryEventType.ExecutionFailed,
            event_details=EventDetails(executionFailedEventDetails=ExecutionFailedEventDetails(
                error=threshold_error.to_name(), cause=cause)),
        ))

    worker_class._eval_job = eval_job


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the embedded moto server (see serve)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    serve(args.host, args.port)
