"""AWS's Distributed Map semantics on the embedded emulator (issue 12).

On AWS a failed child execution fails the Map (and the execution) unless the Map tolerates it; stock moto
ignores child failures. The emulator is patched to fail the Map as AWS does (``local/emulator.py``), and the
definition tolerates every failed chunk (``ToleratedFailurePercentage: 100``), whose rows the results step writes
from the source CSV with ``_error_code = CHUNK_FAILED``. So these tests show what a user gets on AWS.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest

from airflow_provider_batchorch.aws.batch_store import get_bytes
from airflow_provider_batchorch.aws.pipeline import wait_for_execution
from airflow_provider_batchorch.aws.processor import ProcessorNames
from airflow_provider_batchorch.aws.results import assemble_results
from airflow_provider_batchorch.core.models import ChunkSpec
from airflow_provider_batchorch.core.s3_uri import join_uri
from tests.chaos.helpers import put_csv, read_output, start_batch, workers
from tests.support import agents
from tests.support.chunk_failure import assert_only_chunk_failed
from tests.support.fault_proxy import FaultProxy

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def own_aws(tmp_path_factory):
    """A moto server of our own: no session workers compete for its chunk queue."""
    from airflow_provider_batchorch.local.emulator import EmbeddedAws

    names = ProcessorNames(chunk_visibility_seconds=10)
    with EmbeddedAws(log_dir=tmp_path_factory.mktemp("map-semantics"), names=names) as aws:
        yield aws


def _tiny_map(failing_items: int, items: int, **tolerance) -> dict:
    """A Distributed Map over ``items`` inline items; the first ``failing_items`` children fail (no Catch)."""
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                **tolerance,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Decide",
                    "States": {
                        "Decide": {"Type": "Choice",
                                   "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Boom"}],
                                   "Default": "Fine"},
                        "Boom": {"Type": "Fail", "Error": "ChildFailed", "Cause": "this child always fails"},
                        "Fine": {"Type": "Pass", "End": True},
                    },
                },
                "ResultPath": None,
                "End": True,
            }
        },
    }, {"items": [{"fail": index < failing_items} for index in range(items)]}


def _run_tiny_map(aws, definition: dict, payload: dict) -> dict:
    sfn = aws.client("stepfunctions")
    arn = sfn.create_state_machine(name=f"tiny-map-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition),
                                   roleArn="arn:aws:iam::123456789012:role/tiny", type="STANDARD")["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))["executionArn"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.1)
    raise AssertionError("the tiny Map's execution did not end within 30 s")


def test_a_map_whose_child_fails_without_tolerance_fails_the_execution(embedded_aws):
    described = _run_tiny_map(embedded_aws, *_tiny_map(failing_items=1, items=4))
    assert described["status"] == "FAILED"
    assert described["error"] == "States.ExceedToleratedFailureThreshold"


@pytest.mark.parametrize(("failing", "tolerance", "status"), [
    (4, {"ToleratedFailurePercentage": 100.0}, "SUCCEEDED"),
    (1, {"ToleratedFailurePercentage": 25.0}, "SUCCEEDED"),
    (2, {"ToleratedFailurePercentage": 25.0}, "FAILED"),
    (2, {"ToleratedFailureCount": 2}, "SUCCEEDED"),
    (3, {"ToleratedFailureCount": 2}, "FAILED"),
    (0, {}, "SUCCEEDED"),
])
def test_a_map_tolerates_child_failures_up_to_its_threshold(embedded_aws, failing, tolerance, status):
    assert _run_tiny_map(embedded_aws, *_tiny_map(failing_items=failing, items=4, **tolerance))["status"] == status


class _DenyChunkRead(FaultProxy):
    """Forwards everything, except that the worker's read of one chunk's bytes is always ``AccessDenied``: the
    worker answers that chunk with ``SendTaskFailure(ChunkRetryable)`` on every attempt."""

    def __init__(self, upstream: str, chunk_start: int) -> None:
        super().__init__(upstream, rate=0.0)
        self.denied_range = f"bytes={chunk_start}-"
        self.denied = 0

    def _handler_class(self):
        proxy = self
        base = super()._handler_class()

        class Handler(base):
            def _handle(self) -> None:
                if self.command == "GET" and self.headers.get("Range", "").startswith(proxy.denied_range):
                    self._body()
                    proxy.denied += 1
                    body = (b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code>"
                            b"<Message>denied by the test</Message><RequestId>deny</RequestId></Error>")
                    return self._reply(403, [("Content-Type", "application/xml")], body)
                return super()._handle()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        return Handler


def _manifest(s3, config) -> list[ChunkSpec]:
    return [ChunkSpec.model_validate(item)
            for item in json.loads(get_bytes(s3, join_uri(config.prefix_uri, "manifest.json")))]


def test_a_chunk_whose_worker_always_fails_ends_the_batch_with_every_row(own_aws):
    aws, s3 = own_aws, own_aws.client("s3")
    texts = [f"row {i}" for i in range(20)]
    csv_uri = put_csv(s3, aws.bucket, texts)
    config, arn = start_batch(aws, s3, csv_uri, agents.spec("echo"), chunk_rows=5, concurrency=4)
    poisoned = _manifest(s3, config)[1]
    with _DenyChunkRead(aws.endpoint_url, poisoned.start) as proxy, workers(aws, 1, endpoint_url=proxy.url):
        # The chunk's 4 attempts (Retry: 2 + 4 + 8 s apart) fail, then its child execution fails.
        wait_for_execution(aws.client("stepfunctions"), aws.client("dynamodb"), aws.refs, arn, config,
                           poll_seconds=0.3, timeout_seconds=90)
    assert proxy.denied == 4
    summary = assemble_results(s3, aws.client("stepfunctions"), config, arn)
    failed = assert_only_chunk_failed(read_output(s3, summary.output_csv_uri), texts, ["5", "6", "7", "8", "9"])
    assert "AccessDenied" in failed[0]["_error_message"] and "retry-failed" in failed[0]["_error_message"]
    assert all(row["upper"] == "" for row in failed)
    assert (summary.status, summary.rows_succeeded, summary.rows_failed) == ("COMPLETED_WITH_ERRORS", 15, 5)


def test_the_emulator_keeps_an_idle_connection_open_past_uvicorns_default_keep_alive(embedded_aws):
    """The interpreter's pooled connections idle while it waits for chunks; uvicorn's default keep-alive (5 s)
    closed them, and a dispatch sent as one closed failed ("Connection was closed before we received a valid
    response", States.Runtime) and lost its chunk."""
    connection = http.client.HTTPConnection("127.0.0.1", embedded_aws.port, timeout=10)
    connection.request("GET", "/moto-api/data.json")
    connection.getresponse().read()
    time.sleep(7)
    readable, _, _ = select.select([connection.sock], [], [], 0)
    assert not readable, "the server closed the idle connection"
    connection.request("GET", "/moto-api/data.json")
    assert connection.getresponse().status == 200
    connection.close()


def _drop_first_connection_server() -> tuple[socket.socket, list[int]]:
    """A server that reads the first request and closes the connection unanswered, then answers ``{}``."""
    server = socket.create_server(("127.0.0.1", 0))
    served = [0]

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            with client:
                client.recv(65536)
                served[0] += 1
                if served[0] > 1:
                    client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
                                   b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")

    threading.Thread(target=serve, daemon=True).start()
    return server, served


def test_the_interpreters_calls_back_into_the_emulator_survive_a_dropped_connection():
    """What the interpreter's ``sqs:sendMessage`` met in the real-Airflow run; moto makes each call once."""
    server, served = _drop_first_connection_server()
    script = ("from airflow_provider_batchorch.local.emulator import _tune_moto\n"
              "_tune_moto()\n"
              "from moto.stepfunctions.parser.asl.utils import boto_client\n"
              "boto_client.boto_client_for('us-east-1', 'sqs').list_queues()\n")
    env = {**os.environ, "MOTO_PORT": str(server.getsockname()[1])}
    try:
        finished = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    finally:
        server.close()
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert served[0] == 2
