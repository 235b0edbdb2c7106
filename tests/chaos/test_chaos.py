"""Fault injection on the embedded default: every row comes back exactly once, whatever breaks.

Each case is bounded in time (a hung case fails on its own timeout, not pytest's) and reports rows in / out /
duplicates / lost to the chaos report (see conftest).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from airflow_provider_batchorch.aws.batch_store import chunk_summary_uri
from airflow_provider_batchorch.aws.pipeline import wait_for_execution
from airflow_provider_batchorch.aws.processor import start_or_attach_execution
from airflow_provider_batchorch.aws.results import assemble_results
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from tests.chaos.helpers import assert_exactly_once, audit, put_csv, read_output, start_batch, wait_until, workers
from tests.support import agents
from tests.support.fault_proxy import FaultProxy

CASE_TIMEOUT = 90
pytestmark = pytest.mark.timeout(2 * CASE_TIMEOUT)


def _finish(aws, s3, config, arn, *, timeout: float = CASE_TIMEOUT):
    sfn, ddb = aws.client("stepfunctions"), aws.client("dynamodb")
    wait_for_execution(sfn, ddb, aws.refs, arn, config, poll_seconds=0.2, timeout_seconds=timeout)
    summary = assemble_results(s3, sfn, config, arn)
    return summary, read_output(s3, summary.output_csv_uri)


def _chunks_stored(s3, config) -> int:
    stored = 0
    for chunk in range(config.chunk_count):
        bucket, key = parse_s3_uri(chunk_summary_uri(config, chunk))
        stored += s3.list_objects_v2(Bucket=bucket, Prefix=key)["KeyCount"]
    return stored


def _in_flight(sqs, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"])


def test_worker_killed_mid_chunk_its_chunks_are_redelivered(chaos_aws, report):
    aws, s3, sqs = chaos_aws, chaos_aws.client("s3"), chaos_aws.client("sqs")
    texts = [f"row {i}" for i in range(60)]
    slow = {"BATCHORCH_TEST_AGENT_LATENCY": "0.25"}  # 10 rows a chunk, one at a time: 2.5 s a chunk
    csv_uri = put_csv(s3, aws.bucket, texts)
    with workers(aws, 1, env=slow) as (victim,):
        config, arn = start_batch(aws, s3, csv_uri, agents.spec("slow"), chunk_rows=10, concurrency=3)
        wait_until(lambda: _in_flight(sqs, aws.refs.queue_url) >= 3, timeout=30, what="the worker holding 3 chunks")
        time.sleep(1.0)  # mid-chunk: about 4 of each chunk's 10 rows done
        held, stored_before = _in_flight(sqs, aws.refs.queue_url), _chunks_stored(s3, config)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
    assert held >= 3 and stored_before == 0  # the victim died holding chunks none of which it had finished
    started = time.monotonic()
    with workers(aws, 1, env=slow):
        summary, rows = _finish(aws, s3, config, arn)
    result = audit(texts, rows)
    report("worker SIGKILLed mid-chunk", result,
           notes=f"{held} chunks in flight at the kill, redelivered after the {aws.names.chunk_visibility_seconds} s "
                 f"visibility timeout; finished {time.monotonic() - started:.1f} s after the kill")
    assert_exactly_once(result)
    assert summary.rows_succeeded == len(texts) and all(row["upper"] == row["text"].upper() for row in rows)


def test_misbehaving_agent_rows_fail_alone(chaos_aws, report):
    """10% of rows: a third raise, a third hang past the 1 s timeout, a third return text that is not JSON."""
    aws, s3 = chaos_aws, chaos_aws.client("s3")
    kinds = {7: "raise", 17: "hang", 27: "garbage"}
    texts = [f"row {i} {kinds.get(i % 30, 'ok')}" for i in range(300)]
    csv_uri = put_csv(s3, aws.bucket, texts)
    with workers(aws, 2):
        config, arn = start_batch(aws, s3, csv_uri, agents.spec("misbehaving"), chunk_rows=25, concurrency=30,
                                  timeout_seconds=1)
        summary, rows = _finish(aws, s3, config, arn)
    result = audit(texts, rows)
    bad = [row for row in rows if row["text"].split()[-1] != "ok"]
    codes = {kind: {row["_error_code"] for row in bad if row["text"].endswith(kind)} for kind in kinds.values()}
    report("agent raises / hangs / returns garbage on 10% of rows", result,
           notes=f"{len(bad)} bad rows all FAILED with _error_message ({', '.join(f'{k}: {sorted(v)[0]}' for k, v in codes.items())}); "
                 f"{summary.rows_succeeded} good rows right")
    assert_exactly_once(result)
    assert len(bad) == 30 and summary.rows_failed == 30 and summary.status == "COMPLETED_WITH_ERRORS"
    assert all(row["_status"] == "FAILED" and row["_error_message"] for row in bad)
    assert codes["raise"] == {"AGENT_ERROR"} and codes["hang"] == {"AGENT_TIMEOUT"} and len(codes["garbage"]) == 1
    good = [row for row in rows if row["text"].endswith("ok")]
    assert all(row["_status"] == "SUCCEEDED" and row["upper"] == row["text"].upper()
               and row["length"] == str(len(row["text"])) for row in good)


def test_monitor_killed_and_retried_reattaches(chaos_aws, report):
    aws, s3 = chaos_aws, chaos_aws.client("s3")
    sfn = aws.client("stepfunctions")
    texts = [f"row {i}" for i in range(40)]
    csv_uri = put_csv(s3, aws.bucket, texts)
    with workers(aws, 1, env={"BATCHORCH_TEST_AGENT_LATENCY": "0.2"}):  # 4 s of work: still RUNNING when polled
        config, arn = start_batch(aws, s3, csv_uri, agents.spec("slow"), chunk_rows=10, concurrency=2)
        monitor = subprocess.Popen([sys.executable, "-m", "tests.chaos.monitor", aws.endpoint_url, arn],
                                   stdout=subprocess.PIPE, text=True)
        assert monitor.stdout.readline().strip() == "RUNNING"
        monitor.send_signal(signal.SIGKILL)
        monitor.wait(timeout=10)
        # The retried task computes the same execution name and must find the running execution.
        retried_arn, attached = start_or_attach_execution(sfn, aws.refs, config, "unused", name=config.batch_id)
        status_at_retry = sfn.describe_execution(executionArn=arn)["status"]
        summary, rows = _finish(aws, s3, config, arn)
    executions = [e for e in sfn.list_executions(stateMachineArn=aws.refs.state_machine_arn)["executions"]
                  if e["name"] == config.batch_id]
    result = audit(texts, rows)
    report("monitoring task SIGKILLed, then retried", result,
           notes=f"retry re-attached to the {status_at_retry} execution; executions with the batch's name: "
                 f"{len(executions)}")
    assert (retried_arn, attached) == (arn, True)
    assert len(executions) == 1
    assert_exactly_once(result)


@pytest.mark.parametrize("rate", [0.2])
def test_transient_aws_errors_are_retried(chaos_aws, report, rate):
    """Workers and the results step talk to moto through a proxy that fails ``rate`` of their requests."""
    aws = chaos_aws
    texts = [f"row {i}" for i in range(1000)]
    with FaultProxy(aws.endpoint_url, rate=rate, seed=11) as proxy:
        s3 = aws.client("s3", endpoint_url=proxy.url)
        csv_uri = put_csv(aws.client("s3"), aws.bucket, texts)
        with workers(aws, 2, endpoint_url=proxy.url):
            config, arn = start_batch(aws, s3, csv_uri, agents.spec("echo"), chunk_rows=20, concurrency=20)
            summary, rows = _finish(aws, s3, config, arn)
    result = audit(texts, rows)
    injected, requests = Counter(), Counter()
    for (service, kind), count in proxy.counts.items():
        (requests if kind == "requests" else injected)[service] += count
    report(f"transient S3/SQS/DynamoDB/SFN errors ({rate:.0%} of requests)", result,
           notes="faults injected / requests: " + ", ".join(f"{s} {injected[s]}/{n}" for s, n in sorted(requests.items())))
    assert_exactly_once(result)
    assert summary.rows_succeeded == len(texts)
    assert all(injected[service] > 0 for service in ("s3", "sqs", "dynamodb", "stepfunctions")), injected


def test_an_aws_outage_mid_batch_is_ridden_out(chaos_aws, report):
    """For 3 s every S3, SQS and DynamoDB request of the workers and the results step fails (503/throttling/500)."""
    aws = chaos_aws
    texts = [f"row {i}" for i in range(600)]
    with FaultProxy(aws.endpoint_url, rate=0.0) as proxy:
        s3 = aws.client("s3", endpoint_url=proxy.url)
        csv_uri = put_csv(aws.client("s3"), aws.bucket, texts)
        with workers(aws, 2, endpoint_url=proxy.url, env={"BATCHORCH_TEST_AGENT_LATENCY": "0.02"}):
            config, arn = start_batch(aws, s3, csv_uri, agents.spec("slow"), chunk_rows=20, concurrency=20)
            wait_until(lambda: _chunks_stored(aws.client("s3"), config) >= 3, timeout=30, what="3 chunks done")
            proxy.outage(3.0, services=("s3", "sqs", "dynamodb"))
            summary, rows = _finish(aws, s3, config, arn)
    injected = sum(count for (service, kind), count in proxy.counts.items() if kind != "requests")
    result = audit(texts, rows)
    report("3 s outage of S3, SQS and DynamoDB mid-batch", result,
           notes=f"{injected} requests failed during the outage; all retried by botocore (standard mode, 10 attempts)")
    assert_exactly_once(result)
    assert summary.rows_succeeded == len(texts) and injected > 0
