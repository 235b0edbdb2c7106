"""The embedded default: AWS emulated by a moto server on a free 127.0.0.1 port, plus local worker processes.

Used by ``batchorch run`` when no AWS endpoint is configured, and by the end-to-end tests. Everything it starts
it stops on exit.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import requests

from airflow_provider_batchorch.aws.processor import ProcessorNames, ProcessorRefs, ensure_processor

REGION = "us-east-1"
BUCKET = "batchorch-local"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}


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

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
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
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
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
            "extra": {"endpoint_url": self.endpoint_url, "region_name": REGION},
        }
        return {**CREDENTIALS, "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection), "BATCHORCH_AWS_ENDPOINT_URL": self.endpoint_url}

    def worker_command(self, max_chunks: int = 8) -> list[str]:
        return [
            sys.executable, "-m", "airflow_provider_batchorch.cli", "worker",
            "--endpoint-url", self.endpoint_url, "--region", REGION, "--max-chunks", str(max_chunks),
            "--queue", self.names.queue, "--progress-table", self.names.progress_table,
        ]

    def start_workers(self, count: int = 2, *, max_chunks: int = 8) -> list[subprocess.Popen]:
        env = {**os.environ, **CREDENTIALS, "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
        for _ in range(count):
            index = len(self._workers)
            log = open(self.log_dir / f"worker-{index}.log", "ab")
            self._workers.append(
                subprocess.Popen(self.worker_command(max_chunks), stdout=log, stderr=subprocess.STDOUT, env=env)
            )
        return self._workers

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
