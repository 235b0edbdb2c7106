"""The processor end to end on a moto server: Distributed Map -> SQS -> worker processes -> parts -> output CSV."""

import csv
import io
import uuid

from airflow_provider_batchorch.aws.batch_store import get_bytes
from airflow_provider_batchorch.aws.pipeline import run_pipeline
from airflow_provider_batchorch.core.models import BatchRequest
from tests.support import agents


def _run(aws, csv_text: str, spec, **request):
    s3 = aws.client("s3")
    batch_id = f"e2e-{uuid.uuid4().hex[:10]}"
    key = f"e2e/{batch_id}/input.csv"
    s3.put_object(Bucket=aws.bucket, Key=key, Body=csv_text.encode("utf-8"))
    req = BatchRequest(csv_uri=f"s3://{aws.bucket}/{key}", agent=spec.name, **request)
    config, summary = run_pipeline(
        s3, aws.client("stepfunctions"), aws.client("dynamodb"), aws.refs, req, spec, batch_id=batch_id, poll_seconds=0.3
    )
    output = get_bytes(s3, summary.output_csv_uri).decode("utf-8")
    return config, summary, list(csv.DictReader(io.StringIO(output)))


def test_every_row_comes_back_in_order_with_outputs(aws_with_workers):
    texts = [f"row {i}" for i in range(23)]
    source = "id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts))
    config, summary, rows = _run(aws_with_workers, source, agents.spec("echo"), chunk_rows=4, concurrency=6)
    assert config.chunk_count == 6
    assert summary.status == "SUCCEEDED"
    assert (summary.rows_processed, summary.rows_succeeded, summary.rows_failed) == (23, 23, 0)
    assert [r["id"] for r in rows] == [str(i) for i in range(23)]
    assert [r["upper"] for r in rows] == [t.upper() for t in texts]
    assert all(r["_status"] == "SUCCEEDED" and r["_error_message"] == "" for r in rows)
    assert list(rows[0].keys())[:4] == ["id", "text", "upper", "length"]
    assert summary.processing_time_seconds > 0


def test_misbehaving_rows_fail_alone_with_a_reason(aws_with_workers):
    texts = ["fine", "please raise", "hang on", "garbage out", "violate it", "also fine", "", "=1+1"]
    source = "text,other\n" + "".join(f"{t},x\n" for t in texts)
    _, summary, rows = _run(aws_with_workers, source, agents.spec("misbehaving"), chunk_rows=3, timeout_seconds=1)
    assert len(rows) == len(texts)
    assert [r["text"] for r in rows] == [t if t != "=1+1" else "'=1+1" for t in texts]
    by_text = {t: r for t, r in zip(texts, rows)}
    assert by_text["fine"]["_status"] == "SUCCEEDED" and by_text["fine"]["upper"] == "FINE"
    assert by_text["please raise"]["_error_message"].startswith("Agent raised RuntimeError")
    assert by_text["hang on"]["_error_code"] == "AGENT_TIMEOUT"
    assert "length" in by_text["violate it"]["_error_message"]
    assert by_text["garbage out"]["_status"] == "FAILED" and by_text["garbage out"]["_error_message"]
    assert by_text[""]["_status"] == "FAILED" and "text" in by_text[""]["_error_message"]
    assert by_text["=1+1"]["upper"] == "'=1+1"  # agent output neutralised too
    assert summary.status == "COMPLETED_WITH_ERRORS"
    assert summary.rows_failed == 5 and summary.rows_succeeded == 3
    assert sum(summary.failure_reasons.values()) == 5
    assert all(r["upper"] == "" for r in rows if r["_status"] == "FAILED")


def test_a_chunk_that_cannot_run_is_reported_not_lost(aws_with_workers):
    source = "text\n" + "".join(f"r{i}\n" for i in range(5))
    _, summary, rows = _run(aws_with_workers, source, agents.spec("no_such_function"), chunk_rows=5)
    # The Map tolerates the failed chunk (as on AWS, where the emulator's patch makes a failed child count);
    # the results step writes its rows from the CSV with the worker's recorded error.
    assert [r["text"] for r in rows] == [f"r{i}" for i in range(5)]
    assert all(r["_status"] == "FAILED" and r["_error_code"] == "CHUNK_FAILED" for r in rows)
    assert "no_such_function" in rows[0]["_error_message"]
    assert (summary.status, summary.rows_failed) == ("COMPLETED_WITH_ERRORS", 5)
