"""A worker publishes the running counts of all its chunks of a batch at once (record_partials)."""

from airflow_provider_batchorch.aws.progress import (
    PARTIALS_PER_REQUEST,
    read_counts,
    record_chunk_done,
    record_partials,
)


def test_many_running_chunks_in_one_call_then_counted_once_done(embedded_aws):
    ddb = embedded_aws.client("dynamodb")
    table = embedded_aws.refs.progress_table
    chunks = PARTIALS_PER_REQUEST + 30  # more than one request's worth
    record_partials(ddb, table, "b-many", {chunk: (chunk % 7, chunk % 2) for chunk in range(chunks)})
    record_partials(ddb, table, "b-many", {0: (4, 1)})  # overwrites, never adds
    expected_succeeded = 4 + sum(chunk % 7 for chunk in range(1, chunks))
    expected_failed = 1 + sum(chunk % 2 for chunk in range(1, chunks))
    assert read_counts(ddb, table, "b-many") == (expected_succeeded, expected_failed, 0)
    assert record_chunk_done(ddb, table, "b-many", 0, 10, 0) is True  # replaces chunk 0's running counts
    assert read_counts(ddb, table, "b-many") == (expected_succeeded - 4 + 10, expected_failed - 1, 1)
    assert record_chunk_done(ddb, table, "b-many", 0, 10, 0) is False
