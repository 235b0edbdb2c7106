"""``batchorch run``: the real ``batch_orchestrator`` DAG, in-process, on the embedded default or a given AWS.

1. preflight: the request, the CSV (when local), the agent and the column mapping are checked with the same
   core functions the DAG uses, so a refused input fails in a second with one clear line;
2. AWS: a moto server and local workers (embedded default), or the endpoint/credentials already configured;
3. the DAG run (``dag.test``), then the summary the results task stored next to the batch.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import uuid
from datetime import datetime
from pathlib import Path

from airflow_provider_batchorch.aws.batch_store import batch_prefix, load_summary
from airflow_provider_batchorch.aws.csv_source import analyze_local_csv, check_s3_csv, upload_file
from airflow_provider_batchorch.aws.worker_processes import default_processes
from airflow_provider_batchorch.aws.registry_table import REGISTRY_TABLE_ENV, configured_registry_table, load_registry_table
from airflow_provider_batchorch.local.emulator import EmbeddedAws
from airflow_provider_batchorch.aws.processor import execution_name
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri, to_s3_uri
from airflow_provider_batchorch.core.configure import build_batch_config
from airflow_provider_batchorch.core.cost_estimate import CostEstimate, describe_estimate
from airflow_provider_batchorch.core.errors import BatchorchError, InvalidConfError
from airflow_provider_batchorch.core.models import BatchRequest, BatchSummary
from airflow_provider_batchorch.core.output_location import ALLOW_LOCAL_STATE_ENV
from airflow_provider_batchorch.core.registry import AgentRegistry
from airflow_provider_batchorch.agents.registry_loader import assemble_registry
from airflow_provider_batchorch.core.registry_trust import trusting_registry_files
from airflow_provider_batchorch.local.airflow_home import configure_environment, migrate_database

log = logging.getLogger(__name__)
DAG_ID = "batch_orchestrator"
# The default local workers: one per core, but no more than a batch's packed chunks usually spread over
# (core/chunk_packing.SPREAD_CHUNKS) share one moto server well.
MAX_DEFAULT_WORKERS = 8


class RunFailedError(BatchorchError):
    code = "RUN_FAILED"


def _on_embedded_default() -> bool:
    return os.environ.get("BATCHORCH_AWS_ENDPOINT_URL") is None and "AIRFLOW_CONN_AWS_DEFAULT" not in os.environ


def _aws_default_extra() -> dict:
    """The extra of the ``aws_default`` connection given in the environment (``AIRFLOW_CONN_AWS_DEFAULT``)."""
    value = os.environ.get("AIRFLOW_CONN_AWS_DEFAULT", "").strip()
    if not value:
        return {}
    from airflow.models.connection import Connection

    try:
        connection = (Connection.from_json(value, conn_id="aws_default") if value.startswith("{")
                      else Connection(conn_id="aws_default", uri=value))
        return connection.extra_dejson
    except Exception as exc:  # a malformed connection is Airflow's to report; the table setting then is the env's
        log.warning("cannot read the extra of AIRFLOW_CONN_AWS_DEFAULT: %s", exc)
        return {}


def table_registry() -> AgentRegistry | None:
    """The agents of the AgentRegistry table the operator configured (``BATCHORCH_REGISTRY_TABLE`` or the
    ``aws_default`` extra ``batchorch_registry_table``), read from the configured AWS; ``None`` when none is set."""
    extra = _aws_default_extra()
    table = configured_registry_table(None, extra)
    if table is None:
        return None
    if _on_embedded_default():
        raise InvalidConfError(
            f"the AgentRegistry table {table} ({REGISTRY_TABLE_ENV}) cannot be read on the embedded default, "
            "whose emulator starts empty.",
            hint="Point batchorch at the AWS that holds the table (BATCHORCH_AWS_ENDPOINT_URL or "
            f"AIRFLOW_CONN_AWS_DEFAULT), or unset {REGISTRY_TABLE_ENV}.")
    import boto3

    endpoint = os.environ.get("BATCHORCH_AWS_ENDPOINT_URL") or extra.get("endpoint_url")
    return load_registry_table(boto3.client("dynamodb", endpoint_url=endpoint, region_name=extra.get("region_name")),
                               table)


def owner_registry(request: BatchRequest) -> AgentRegistry:
    """The registry of a local run: ``batchorch run`` is run by the machine's owner, whose ``--registry`` file
    is trusted like an operator's configured one (``run_batch`` passes that trust on to the Airflow it starts);
    plus the operator's AgentRegistry table, when one is configured."""
    with trusting_registry_files(request.registry):
        return assemble_registry(request.registry, table=table_registry())


def preflight(request: BatchRequest) -> CostEstimate | None:
    """Fail fast on what can be checked without AWS. S3 CSVs are checked once AWS is up (``check_s3_csv``).

    :return: The cost estimate of a local CSV (an S3 CSV's is in the ``validate_agent`` task's log)."""
    agent = owner_registry(request).validate(request.agent)
    if request.csv_uri.startswith("s3://"):
        return None
    profile = analyze_local_csv(request.csv_uri, chunk_rows=request.cut_rows, encoding=request.encoding)
    return build_batch_config(request, profile, agent, batch_id="preflight", prefix_uri="s3://preflight/").cost_estimate


def run_batch(request: BatchRequest, *, workers: int | None = None, output_path: str | None = None,
              run_after: datetime | None = None) -> BatchSummary:
    """``run_after`` (also the logical date) names the DAG run, so a caller knows its run id beforehand;
    ``workers``: local worker processes on the embedded default, one per core (at most 8) unless given."""
    workers = min(default_processes(), MAX_DEFAULT_WORKERS) if workers is None else workers
    if workers < 1:
        raise InvalidConfError(f"--workers must be at least 1 (got {workers}): no worker would take the chunks.",
                               hint="Give --workers 1 or more (default: one per core, at most 8).")
    estimate = preflight(request)
    if estimate is not None:  # before anything starts; stderr, so that stdout keeps only the --json line
        print(f"Cost estimate: {describe_estimate(estimate)}", file=sys.stderr, flush=True)
    with contextlib.ExitStack() as stack:
        if _on_embedded_default():
            aws = stack.enter_context(EmbeddedAws())
            log.info("embedded AWS (moto) at %s; logs in %s", aws.endpoint_url, aws.log_dir)
            stack.enter_context(aws.supervise(_exit_now))  # SIGINT/SIGTERM or the emulator dying: one line, exit
            aws.start_workers(workers)
            os.environ.update(aws.environment())
            os.environ[ALLOW_LOCAL_STATE_ENV] = "1"  # `--state-dir DIR`: workers are local processes here
            request = _stage_local_csv(aws.client("s3"), request, aws.bucket)
        elif not request.csv_uri.startswith("s3://"):
            raise BatchorchError("a local CSV needs the embedded default.", hint="Upload it to S3 and pass its s3:// URI.")
        if request.csv_uri.startswith("s3://"):  # CSV_NOT_FOUND in one line, not a failed DAG run
            import boto3

            check_s3_csv(boto3.client("s3", endpoint_url=os.environ.get("BATCHORCH_AWS_ENDPOINT_URL")), request.csv_uri)
        with trusting_registry_files(request.registry):  # the owner's --registry, for the DAG's validate_agent
            return _run_dag(request, output_path, run_after)


def _exit_now(error: BatchorchError, exit_code: int) -> None:
    """The run was aborted (its children are already stopped): one line on stderr, then exit at once, since the
    main thread may be anywhere inside Airflow."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os.write(2, f"error: {error}\n".encode())
    os._exit(exit_code)


def _stage_local_csv(s3, request: BatchRequest, bucket: str) -> BatchRequest:
    """The local CSV, and a local golden sample, uploaded to the emulator's bucket."""
    staged = {}
    for name in ("csv_uri", "golden_sample"):
        value = getattr(request, name)
        if value and not value.startswith("s3://"):
            path = Path(value)
            staged[name] = to_s3_uri(bucket, f"inputs/{uuid.uuid4().hex[:8]}/{path.name}")
            upload_file(s3, path, staged[name])
    return request.model_copy(update=staged)


def _run_dag(request: BatchRequest, output_path: str | None, run_after: datetime | None = None) -> BatchSummary:
    configure_environment()
    migrate_database()
    import boto3

    from airflow_provider_batchorch.dag_builders.orchestrator import build_batch_orchestrator_dag

    dag = build_batch_orchestrator_dag(dag_id=DAG_ID)
    named = {"logical_date": run_after, "run_after": run_after} if run_after else {}
    run = dag.test(run_conf=request.model_dump(mode="json"), **named)
    s3 = boto3.client("s3", endpoint_url=os.environ.get("BATCHORCH_AWS_ENDPOINT_URL"))
    bucket, _ = parse_s3_uri(request.csv_uri)
    prefix = batch_prefix(bucket, execution_name(DAG_ID, run.run_id))
    try:
        summary = load_summary(s3, prefix)
    except (s3.exceptions.NoSuchKey, s3.exceptions.NoSuchBucket):
        raise RunFailedError(
            f"the batch_orchestrator run {run.run_id} ended {run.state} without a result: {_failed_tasks(run)}.",
            hint="The task log above says why.",
        ) from None
    if output_path:
        out_bucket, out_key = parse_s3_uri(summary.output_csv_uri)
        Path(output_path).parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(out_bucket, out_key, output_path)
    return summary


def _failed_tasks(run) -> str:
    failed = [ti.task_id for ti in run.get_task_instances() if ti.state in ("failed", "upstream_failed")]
    return "failed tasks: " + ", ".join(failed) if failed else "no task failed"
