"""What the chaos cases share: a CSV with an id per row, the batch's steps, workers that stop, and the audit."""

from __future__ import annotations

import contextlib
import csv
import io
import time
import uuid
from collections import Counter

from airflow_provider_batchorch.aws.batch_store import batch_prefix, get_bytes, save_profile, stage_batch
from airflow_provider_batchorch.aws.csv_source import analyze_s3_csv
from airflow_provider_batchorch.aws.processor import start_or_attach_execution
from airflow_provider_batchorch.core.configure import build_batch_config
from airflow_provider_batchorch.core.models import BatchConfig, BatchRequest


def put_csv(s3, bucket: str, texts: list[str]) -> str:
    """A CSV ``id,text`` on S3; returns its URI."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "text"])
    writer.writerows([i, text] for i, text in enumerate(texts))
    key = f"chaos/{uuid.uuid4().hex[:10]}/input.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue().encode())
    return f"s3://{bucket}/{key}"


def start_batch(aws, s3, csv_uri: str, spec, **request) -> tuple[BatchConfig, str]:
    """Analyse, configure, stage and start (the DAG's first tasks); returns the config and the execution ARN."""
    batch_id = f"chaos-{uuid.uuid4().hex[:10]}"
    req = BatchRequest(csv_uri=csv_uri, agent=spec.name, **request)
    prefix = batch_prefix(aws.bucket, batch_id)
    profile = analyze_s3_csv(s3, csv_uri, chunk_rows=req.chunk_rows)
    save_profile(s3, profile, prefix)
    config = build_batch_config(req, profile, spec, batch_id=batch_id, prefix_uri=prefix)
    manifest_uri = stage_batch(s3, config, profile.chunks)
    arn, _ = start_or_attach_execution(aws.client("stepfunctions"), aws.refs, config, manifest_uri, name=batch_id)
    return config, arn


@contextlib.contextmanager
def workers(aws, count: int = 1, **options):
    """Local workers for one case, stopped (SIGTERM, then SIGKILL) when it ends, dead or alive."""
    started = aws.start_workers(count, **options)
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.terminate()
        for process in started:
            try:
                process.wait(timeout=10)
            except Exception:  # noqa: BLE001 - stuck: kill it
                process.kill()
                process.wait()


def wait_until(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout:.0f}s")


def read_output(s3, uri: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(get_bytes(s3, uri).decode("utf-8"))))


def audit(texts: list[str], rows: list[dict[str, str]]) -> dict:
    """Rows in / out / duplicated / lost, by the ``id`` every input row carries; and whether order held."""
    ids = [row["id"] for row in rows]
    seen = Counter(ids)
    expected = [str(i) for i in range(len(texts))]
    return {
        "rows_in": len(texts),
        "rows_out": len(rows),
        "duplicates": sum(count - 1 for count in seen.values() if count > 1),
        "lost": sum(1 for i in expected if i not in seen),
        "in_order": ids == expected,
        "text_intact": all(row["text"] == texts[int(row["id"])] for row in rows),
    }


def assert_exactly_once(result: dict) -> None:
    assert (result["rows_out"], result["duplicates"], result["lost"]) == (result["rows_in"], 0, 0), result
    assert result["in_order"] and result["text_intact"], result
