"""Reprocess failed rows on the processor: a run with failures, a retry of only those rows, one merged output."""

import csv
import io
import json
import uuid

import pytest

from airflow_provider_batchorch.aws.batch_store import get_bytes
from airflow_provider_batchorch.aws.retry_failed import retry_failed_batch
from tests.e2e.test_cli import batchorch
from tests.e2e.test_processor_e2e import _run
from tests.support import flaky_agent


def test_retry_fixes_what_can_be_fixed_and_keeps_order(aws_with_workers):
    tag = uuid.uuid4().hex[:8]
    texts = [f"row {i} {tag}" for i in range(12)]
    texts[2], texts[5], texts[9] = f"flaky {tag} a", f"=flaky {tag} b", f"raise {tag}"
    source = "id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts))
    config, first, before = _run(aws_with_workers, source, flaky_agent.spec(), chunk_rows=4)
    assert first.rows_failed == 3 and [r["_status"] for r in before].count("FAILED") == 3

    s3 = aws_with_workers.client("s3")
    outcome, retry = retry_failed_batch(
        s3, aws_with_workers.client("stepfunctions"), aws_with_workers.client("dynamodb"), aws_with_workers.refs,
        config.prefix_uri, batch_id=f"retry-{uuid.uuid4().hex[:10]}", poll_seconds=0.3,
    )

    assert retry.rows_processed == 3  # only the failed rows ran
    assert (outcome.retried, outcome.fixed, outcome.still_failed) == (3, 2, 1)
    assert (outcome.total_rows, outcome.rows_succeeded, outcome.rows_failed) == (12, 11, 1)
    merged_text = get_bytes(s3, outcome.output).decode("utf-8")
    before_text = get_bytes(s3, first.output_csv_uri).decode("utf-8")
    assert merged_text.splitlines()[0] == before_text.splitlines()[0]  # same header
    after = list(csv.DictReader(io.StringIO(merged_text)))
    assert [r["id"] for r in after] == [str(i) for i in range(12)]
    for index, (old, new) in enumerate(zip(before, after)):
        if old["_status"] == "SUCCEEDED":
            assert new == old, index  # untouched rows are byte for byte the same
    assert after[2]["upper"] == texts[2].upper() and after[2]["_status"] == "SUCCEEDED"
    # The agent saw the original "=flaky ..." (length without the apostrophe); the output is neutralised again.
    assert (after[5]["text"], after[5]["upper"]) == ("'" + texts[5], "'" + texts[5].upper())
    assert after[5]["length"] == str(len(texts[5]))
    assert after[9]["_status"] == "FAILED" and "RuntimeError" in after[9]["_error_message"]


META = "_status,_error_message,_error_code,_agent,_agent_version,_latency_ms,_processed_at"


@pytest.mark.e2e
def test_cli_retry_failed_merges_a_complete_output(tmp_path):
    """`batchorch run --retry-failed OUTPUT.csv`: only the failed rows run again (through the real DAG)."""
    registry = tmp_path / "registry.yaml"
    registry.write_text(flaky_agent.MISBEHAVING_REGISTRY_YAML)
    previous = tmp_path / "companies_enriched.csv"
    previous.write_text(
        f"id,text,upper,length,{META}\n"
        "0,kept,KEPT,4,SUCCEEDED,,,test-misbehaving-agent,1.0.0,3,t\n"
        "1,'=1+A1,,,FAILED,Timed out after 1s,TIMEOUT,test-misbehaving-agent,1.0.0,3,t\n"
        "2,\"comma, and\nnewline\",,,FAILED,Agent raised RuntimeError: boom,AGENT_ERROR,test-misbehaving-agent,1.0.0,3,t\n"
        "3,raise again,,,FAILED,Agent raised RuntimeError: boom,AGENT_ERROR,test-misbehaving-agent,1.0.0,3,t\n"
        "4,also kept,ALSO KEPT,9,SUCCEEDED,,,test-misbehaving-agent,1.0.0,3,t\n"
    )
    merged = tmp_path / "merged.csv"
    result = batchorch("run", "--retry-failed", str(previous), "--agent", "test-misbehaving-agent",
                       "--registry", str(registry), "--output", str(merged), "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip())
    assert (outcome["retried"], outcome["fixed"], outcome["still_failed"]) == (3, 2, 1)
    assert outcome["retry_batch"]["rows_processed"] == 3
    before = previous.read_text().splitlines()
    after_text = merged.read_text()
    assert after_text.splitlines()[0] == before[0]
    rows = list(csv.DictReader(io.StringIO(after_text)))
    assert [r["id"] for r in rows] == ["0", "1", "2", "3", "4"]
    assert after_text.splitlines()[1] == before[1] and after_text.splitlines()[-1] == before[-1]
    assert (rows[1]["text"], rows[1]["upper"], rows[1]["length"]) == ("'=1+A1", "'=1+A1", "5")
    assert (rows[2]["upper"], rows[2]["_status"]) == ("COMMA, AND\nNEWLINE", "SUCCEEDED")
    assert rows[3]["_status"] == "FAILED" and "RuntimeError" in rows[3]["_error_message"]
