"""The embedded default: AWS emulated by a moto server on a free 127.0.0.1 port, plus local worker processes.

Used by ``batchorch run`` when no AWS endpoint is configured, and by the end-to-end tests. Everything it starts
it stops on exit.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import requests
from botocore.config import Config

from airflow_provider_batchorch.aws.processor import ProcessorNames, ProcessorRefs, ensure_processor

REGION = "us-east-1"
BUCKET = "batchorch-local"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
# Every client of the embedded default retries throttling and 5xx (botocore's standard mode) like the workers do.
RETRIES = {"mode": "standard", "max_attempts": 10}
# Chunks one local worker takes at once. Rows in flight are chunk_concurrency x row_concurrency; with the
# default two workers this lets a batch reach concurrency 500 at 100 rows a chunk (250 chunks in flight).
WORKER_MAX_CHUNKS = 128


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedAws:
    def __init__(self, *, log_dir: str | Path | None = None, names: ProcessorNames | None = None) -> None:
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="batchorch-embedded-"))
        self.names = names or ProcessorNames()
        self.port = 0
        self.bucket = BUCKET
        self.refs: ProcessorRefs | None = None
        self._server: subprocess.Popen | None = None
        self._workers: list[subprocess.Popen] = []
        self._worker_logs: dict[int, Path] = {}

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str, *, endpoint_url: str | None = None):
        return boto3.client(
            service,
            endpoint_url=endpoint_url or self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries=RETRIES),
        )

    def __enter__(self) -> "EmbeddedAws":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        self.port = free_port()
        # moto's Step Functions interpreter calls S3/SQS/DynamoDB through MOTO_PORT on localhost.
        env = {**os.environ, **CREDENTIALS, "MOTO_PORT": str(self.port)}
        log = open(self.log_dir / "moto.log", "ab")
        self._server = subprocess.Popen(
            [sys.executable, "-m", "airflow_provider_batchorch.aws.embedded", "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self._wait_until_up()
        requests.post(
            f"{self.endpoint_url}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}},
            timeout=10,
        ).raise_for_status()
        self.client("s3").create_bucket(Bucket=self.bucket)
        self.refs = ensure_processor(self.client("stepfunctions"), self.client("sqs"), self.client("dynamodb"), self.names)

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
        ]

    def start_workers(self, count: int = 2, *, max_chunks: int = WORKER_MAX_CHUNKS, endpoint_url: str | None = None,
                      env: dict[str, str] | None = None) -> list[subprocess.Popen]:
        """Start ``count`` local workers; ``endpoint_url`` (e.g. a fault-injecting proxy) instead of moto's."""
        env = {**os.environ, **CREDENTIALS, **(env or {}),
               "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
        started = []
        for _ in range(count):
            index = len(self._workers)
            log_path = self.log_dir / f"worker-{index}.log"
            with open(log_path, "ab") as log:
                process = subprocess.Popen(self.worker_command(max_chunks, endpoint_url=endpoint_url), stdout=log,
                                           stderr=subprocess.STDOUT, env=env)
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

    def stop(self) -> None:
        for process in [*self._workers, self._server]:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in [*self._workers, self._server]:
            if process is None:
                continue
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._workers.clear()
        self._server = None


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
    """
    import uvicorn
    from a2wsgi import WSGIMiddleware
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    _tune_moto()
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    # Long polls (WaitTimeSeconds) and the interpreter's own calls back into the server each hold a thread.
    uvicorn.run(WSGIMiddleware(app, workers=256), host=host, port=port, log_level="warning", access_log=False,
                lifespan="off")


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

    try:
        from moto.stepfunctions.parser.asl.utils import boto_client, json_path
    except ImportError:
        return
    # Rebound before the interpreter's service modules import them by name (they load on first use).
    if hasattr(json_path, "parse"):
        json_path.parse = functools.lru_cache(maxsize=4096)(json_path.parse)  # parsed paths are immutable
    make_client = getattr(boto_client, "boto_client_for", None)
    if make_client is not None:
        lock = threading.Lock()

        @functools.cache
        def cached_client(region: str, service: str):
            with lock:  # creating clients is not thread-safe; using them is
                return make_client(region=region, service=service)

        boto_client.boto_client_for = lambda region, service, state_credentials=None: cached_client(region, service)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the embedded moto server (see serve)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    serve(args.host, args.port)
