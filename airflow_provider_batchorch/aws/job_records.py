"""Batch job records in a DynamoDB table, and the metrics emitted when a job starts and finishes.

Table (default ``batchorch-jobs``, env ``BATCHORCH_JOBS_TABLE``): partition key ``batch_id``; every item also has
``kind = "job"`` and ``started_at`` (ISO 8601, UTC) so the global secondary index ``recent`` (``kind``,
``started_at``) lists the newest jobs first with one Query. The record itself is the JSON in ``record``
(with the cost estimated before the job and spent by it, tokens per row, cost per agent, rows per minute);
``estimated_cost_usd`` and ``actual_cost_usd`` are attributes of their own too, when known.

``record_job`` is what the operators call at the end of ``execute``: it never fails the task; a record that
cannot be written is logged as a warning. The metric points go to the ``emit`` callable the caller passes (the
operators pass ``hooks/batch_metrics.emit_metrics``, Airflow's stats client): this module does not import Airflow.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from botocore.exceptions import BotoCoreError, ClientError

from airflow_provider_batchorch.aws.dynamodb_tables import ensure_table
from airflow_provider_batchorch.aws.batch_store import load_profile
from airflow_provider_batchorch.aws.progress import read_counts
from airflow_provider_batchorch.core.s3_uri import join_uri, parse_s3_uri
from airflow_provider_batchorch.core.metrics import (
    JobRecord,
    MetricPoint,
    finished_job_record,
    job_finished_points,
    job_started_points,
    started_job_record,
    with_live_progress,
)
from airflow_provider_batchorch.core.models import BatchConfig, BatchSummary

log = logging.getLogger(__name__)

DEFAULT_JOBS_TABLE = "batchorch-jobs"
RECENT_INDEX = "recent"
ITEM_KIND = "job"


def jobs_table_name() -> str:
    return os.environ.get("BATCHORCH_JOBS_TABLE") or DEFAULT_JOBS_TABLE


def ensure_jobs_table(ddb, table: str | None = None) -> str:
    """Create the table and its ``recent`` index unless they exist. Returns the table name."""
    return ensure_table(
        ddb,
        table or jobs_table_name(),
        KeySchema=[{"AttributeName": "batch_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "batch_id", "AttributeType": "S"},
            {"AttributeName": "kind", "AttributeType": "S"},
            {"AttributeName": "started_at", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[{
            "IndexName": RECENT_INDEX,
            "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"},
                          {"AttributeName": "started_at", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
    )


def put_job_record(ddb, record: JobRecord, table: str | None = None) -> None:
    ddb.put_item(
        TableName=table or jobs_table_name(),
        Item={
            "batch_id": {"S": record.batch_id},
            "kind": {"S": ITEM_KIND},
            "started_at": {"S": _iso(record.started_at)},
            "status": {"S": record.status},
            "agent": {"S": record.agent},
            "record": {"S": record.model_dump_json()},
            **{name: {"N": f"{value:.6f}"} for name, value in (("estimated_cost_usd", record.estimated_cost_usd),
                                                           ("actual_cost_usd", record.actual_cost_usd))
               if value is not None},
        },
    )


def get_job_record(ddb, batch_id: str, table: str | None = None) -> JobRecord | None:
    item = ddb.get_item(TableName=table or jobs_table_name(), Key={"batch_id": {"S": batch_id}},
                        ConsistentRead=True).get("Item")
    return JobRecord.model_validate_json(item["record"]["S"]) if item else None


def list_job_records(ddb, table: str | None = None, *, limit: int = 50,
                     since: datetime | None = None) -> list[JobRecord]:
    """The newest jobs first (at most ``limit``), optionally only those started at or after ``since``."""
    condition = "#kind = :kind"
    values: dict[str, Any] = {":kind": {"S": ITEM_KIND}}
    if since is not None:
        condition += " AND started_at >= :since"
        values[":since"] = {"S": _iso(since)}
    records: list[JobRecord] = []
    request = {
        "TableName": table or jobs_table_name(),
        "IndexName": RECENT_INDEX,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": {"#kind": "kind"},
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
    }
    while len(records) < limit:
        page = ddb.query(**request, Limit=limit - len(records))
        records += [JobRecord.model_validate_json(item["record"]["S"]) for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return records


def live_job_record(sfn, ddb, record: JobRecord) -> JobRecord:
    """A RUNNING record with the processor's current counters and execution state (finished ones as they are)."""
    if record.is_finished or not record.execution_arn:
        return record
    execution = sfn.describe_execution(executionArn=record.execution_arn)
    succeeded, failed = record.rows_succeeded, record.rows_failed
    if record.progress_table:
        succeeded, failed, _ = read_counts(ddb, record.progress_table, record.batch_id)
    error = " ".join(filter(None, [execution.get("error"), execution.get("cause")])) or None
    return with_live_progress(record, execution_status=execution["status"], succeeded=succeeded, failed=failed,
                              stopped_at=execution.get("stopDate"), error=error)


def record_job(
    clients: Any,
    config: BatchConfig | Mapping[str, Any],
    *,
    execution_arn: str,
    summary: BatchSummary | Mapping[str, Any] | None = None,
    progress_table: str | None = None,
    dag_id: str | None = None,
    run_id: str | None = None,
    emit: Callable[[list[MetricPoint]], None] | None = None,
    table: str | None = None,
) -> JobRecord | None:
    """Keep the job record of a batch and emit its metrics; never raises.

    Call it when the execution has started (no ``summary``: status RUNNING) and when the results step has the
    ``BatchSummary`` (final counts). A retried task re-writes the same record and emits nothing twice.

    :param clients: Anything with boto3 clients ``s3``, ``sfn`` and ``dynamodb`` (a ``BatchorchHook``).
    :param dag_id: The DAG the dashboard links to (kept from the start record when the finish passes none).
    :param run_id: The DAG run the dashboard links to (likewise).
    :param emit: Receives the metric points once the record is written; ``None`` emits nothing.
    """
    try:
        config = BatchConfig.model_validate(config)
        summary = BatchSummary.model_validate(summary) if summary is not None else None
        table = ensure_jobs_table(clients.dynamodb, table)
        existing = get_job_record(clients.dynamodb, config.batch_id, table)
        if summary is None:
            record, points = _started(clients, config, execution_arn, existing, progress_table, dag_id, run_id)
        else:
            record, points = _finished(clients, config, execution_arn, existing, summary, dag_id, run_id)
        put_job_record(clients.dynamodb, record, table)
    except Exception as exc:  # bookkeeping must never fail the batch it describes
        log.warning("Could not keep the job record of batch %s: %s", getattr(config, "batch_id", "?"), exc,
                    exc_info=not isinstance(exc, (ClientError, BotoCoreError)))
        return None
    if emit is not None and points:
        emit(points)
    return record


def _started(clients, config, execution_arn, existing, progress_table, dag_id, run_id) -> tuple[JobRecord, list]:
    if existing is not None and existing.execution_arn == execution_arn:
        return existing, []  # a retried task re-attached to the same execution: already counted
    execution = clients.sfn.describe_execution(executionArn=execution_arn)
    record = started_job_record(
        config,
        started_at=execution["startDate"],
        execution_arn=execution_arn,
        csv_size_bytes=_csv_size(clients.s3, config),
        progress_table=progress_table,
        dag_id=dag_id,
        run_id=run_id,
    )
    return record, job_started_points(record)


def _finished(clients, config, execution_arn, existing, summary, dag_id, run_id) -> tuple[JobRecord, list]:
    if existing is not None and existing.is_finished and existing.execution_arn == execution_arn:
        return existing, []
    if existing is None:  # the start was not recorded (e.g. the table was created after): rebuild it
        existing, _ = _started(clients, config, execution_arn, None, None, dag_id, run_id)
    execution = clients.sfn.describe_execution(executionArn=execution_arn)
    finished_at = execution.get("stopDate") or datetime.now(timezone.utc)
    record = finished_job_record(existing, summary, finished_at=finished_at)
    return record, job_finished_points(record)


def _csv_size(s3, config: BatchConfig) -> int | None:
    try:
        return load_profile(s3, join_uri(config.prefix_uri, "profile.json")).size_bytes
    except (ClientError, ValueError):
        return None


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


class AwsJobSource:
    """What the dashboard reads: recent records with live progress, and the output CSVs they point at."""

    def __init__(self, *, s3, sfn, ddb, table: str | None = None, console_region: str | None = None) -> None:
        """:param console_region: Link executions to this region's Step Functions console (None on an emulator)."""
        self.s3, self.sfn, self.ddb = s3, sfn, ddb
        self.table = table or jobs_table_name()
        self.console_region = console_region

    def recent_jobs(self, limit: int = 50) -> list[JobRecord]:
        try:
            records = list_job_records(self.ddb, self.table, limit=limit)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return []  # no job recorded yet
            raise
        return [self._live(record) for record in records]

    def job(self, batch_id: str) -> JobRecord | None:
        record = get_job_record(self.ddb, batch_id, self.table)
        return self._live(record) if record else None

    def open_object(self, uri: str):
        """A readable binary stream of an S3 object (the output CSV)."""
        bucket, key = parse_s3_uri(uri)
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"]

    def _live(self, record: JobRecord) -> JobRecord:
        try:
            return live_job_record(self.sfn, self.ddb, record)
        except ClientError as exc:  # the execution or its counters are gone: show what was recorded
            log.warning("No live progress for batch %s: %s", record.batch_id, exc)
            return record
