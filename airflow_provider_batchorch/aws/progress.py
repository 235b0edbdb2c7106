"""Row-level progress counters in DynamoDB, one item per batch.

A finished chunk is counted exactly once: its counts are ADDed under a condition that its number is not yet in
the ``done_chunks`` set, so a redelivered chunk (worker killed after writing) cannot count twice. While a chunk
runs, its partial counts are SET (not added) under ``partial.<chunk>``, so a retry overwrites instead of adding.

Every write goes to the batch's one item, so writes are few: a worker SETs the running counts of all its
chunks of a batch in one request (``record_partials``), and a nested write is tried before the ``partial`` map
is created (one request, not two, except for the batch's first write).
"""

from __future__ import annotations

from datetime import datetime, timezone

from botocore.exceptions import ClientError

from airflow_provider_batchorch.core.models import BatchConfig, Progress
from airflow_provider_batchorch.core.progress import compute_progress


def _ensure_partial_map(ddb, table: str, batch_id: str) -> None:
    # A nested path can only be SET or REMOVEd once its parent map exists.
    ddb.update_item(
        TableName=table,
        Key={"batch_id": {"S": batch_id}},
        UpdateExpression="SET #partial = if_not_exists(#partial, :empty)",
        ExpressionAttributeNames={"#partial": "partial"},
        ExpressionAttributeValues={":empty": {"M": {}}},
    )


def _update_nested(ddb, table: str, batch_id: str, **update) -> None:
    """An update that writes under ``partial``: created first only if the item or the map is missing."""
    try:
        ddb.update_item(TableName=table, Key={"batch_id": {"S": batch_id}}, **update)
    except ClientError as exc:  # "The document path provided in the update expression is invalid for update"
        if exc.response["Error"]["Code"] != "ValidationException":
            raise
        _ensure_partial_map(ddb, table, batch_id)
        ddb.update_item(TableName=table, Key={"batch_id": {"S": batch_id}}, **update)


# Items an update expression may set at once stay well within DynamoDB's 4 KB expression limit.
PARTIALS_PER_REQUEST = 100


def record_partials(ddb, table: str, batch_id: str, counts: dict[int, tuple[int, int]]) -> None:
    """SET the running (succeeded, failed) counts of several chunks of one batch."""
    chunks = sorted(counts)
    for start in range(0, len(chunks), PARTIALS_PER_REQUEST):
        group = chunks[start:start + PARTIALS_PER_REQUEST]
        _update_nested(
            ddb, table, batch_id,
            UpdateExpression="SET " + ", ".join(f"#partial.#c{chunk} = :c{chunk}" for chunk in group),
            ExpressionAttributeNames={"#partial": "partial", **{f"#c{chunk}": str(chunk) for chunk in group}},
            ExpressionAttributeValues={
                f":c{chunk}": {"L": [{"N": str(counts[chunk][0])}, {"N": str(counts[chunk][1])}]} for chunk in group
            },
        )


def record_partial(ddb, table: str, batch_id: str, chunk: int, succeeded: int, failed: int) -> None:
    record_partials(ddb, table, batch_id, {chunk: (succeeded, failed)})


def record_chunk_done(ddb, table: str, batch_id: str, chunk: int, succeeded: int, failed: int) -> bool:
    """Count a finished chunk once. Returns False when it had already been counted."""
    try:
        _update_nested(
            ddb, table, batch_id,
            UpdateExpression="ADD succeeded :s, failed :f, done_chunks :c REMOVE #partial.#chunk",
            ConditionExpression="attribute_not_exists(done_chunks) OR NOT contains(done_chunks, :n)",
            ExpressionAttributeNames={"#partial": "partial", "#chunk": str(chunk)},
            ExpressionAttributeValues={
                ":s": {"N": str(succeeded)},
                ":f": {"N": str(failed)},
                ":c": {"NS": [str(chunk)]},
                ":n": {"N": str(chunk)},
            },
        )
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False


def read_counts(ddb, table: str, batch_id: str) -> tuple[int, int, int]:
    """(succeeded, failed, chunks done), partial chunks included in the row counts."""
    item = ddb.get_item(TableName=table, Key={"batch_id": {"S": batch_id}}, ConsistentRead=True).get("Item", {})
    succeeded = int(item.get("succeeded", {}).get("N", 0))
    failed = int(item.get("failed", {}).get("N", 0))
    for counts in item.get("partial", {}).get("M", {}).values():
        partial_succeeded, partial_failed = counts["L"]
        succeeded += int(partial_succeeded["N"])
        failed += int(partial_failed["N"])
    return succeeded, failed, len(item.get("done_chunks", {}).get("NS", []))


def read_progress(sfn, ddb, table: str, execution_arn: str, config: BatchConfig) -> Progress:
    execution = sfn.describe_execution(executionArn=execution_arn)
    succeeded, failed, _ = read_counts(ddb, table, config.batch_id)
    end = execution.get("stopDate") or datetime.now(timezone.utc)
    elapsed = (end - execution["startDate"]).total_seconds()
    return compute_progress(
        status=execution["status"],
        total_rows=config.total_rows,
        succeeded=succeeded,
        failed=failed,
        elapsed_seconds=elapsed,
    )
