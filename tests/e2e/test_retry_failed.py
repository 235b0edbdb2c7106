"""Reprocess failed rows on the processor: a run with failures, a retry of only those rows, one merged output."""

import csv
import io
import uuid

from airflow_provider_batchorch.aws.batch_store import get_bytes
from airflow_provider_batchorch.aws.retry_and_merge import retry_failed_batch
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
