"""The whole pipeline without Airflow: analyse, configure, stage, execute, wait, assemble.

The DAG runs these same steps as separate tasks; this is for benchmarks, tests and scripts that want a batch
run on a processor that already exists (``ensure_processor``) with workers polling its queue.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from airflow_provider_batchorch.aws.batch_store import batch_prefix, save_profile, stage_batch
from airflow_provider_batchorch.aws.csv_source import analyze_s3_csv
from airflow_provider_batchorch.aws.polling import poll
from airflow_provider_batchorch.aws.processor import ProcessorRefs, start_or_attach_execution
from airflow_provider_batchorch.aws.progress import read_progress
from airflow_provider_batchorch.aws.results import assemble_results
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.configure import build_batch_config, work_chunks
from airflow_provider_batchorch.core.errors import ExecutionFailedError
from airflow_provider_batchorch.core.execution_status import SUCCEEDED, is_final
from airflow_provider_batchorch.core.models import BatchConfig, BatchRequest, BatchSummary, Progress

log = logging.getLogger(__name__)


def wait_for_execution(sfn, ddb, refs: ProcessorRefs, arn: str, config: BatchConfig, *, poll_seconds: float = 1.0,
                       timeout_seconds: float = 3600, on_progress: Callable[[Progress], None] | None = None) -> Progress:
    deadline = time.monotonic() + timeout_seconds
    for progress in poll(lambda: read_progress(sfn, ddb, refs.progress_table, arn, config), interval=poll_seconds,
                         what=arn, log=log):
        if on_progress:
            on_progress(progress)
        if is_final(progress.status):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {arn} still {progress.status} after {timeout_seconds:.0f}s")
    if progress.status != SUCCEEDED:
        execution = sfn.describe_execution(executionArn=arn)
        raise ExecutionFailedError(
            f"execution {arn} ended {progress.status}: {execution.get('error', '')} {execution.get('cause', '')}",
            hint="Open the execution in the Step Functions console to see the failed chunk.",
        )
    return progress


def run_pipeline(s3, sfn, ddb, refs: ProcessorRefs, request: BatchRequest, agent: AgentSpec, *, batch_id: str,
                 poll_seconds: float = 1.0, on_progress: Callable[[Progress], None] | None = None
                 ) -> tuple[BatchConfig, BatchSummary]:
    bucket, _ = parse_s3_uri(request.csv_uri)
    prefix = batch_prefix(bucket, batch_id)
    profile = analyze_s3_csv(s3, request.csv_uri, chunk_rows=request.cut_rows, encoding=request.encoding)
    save_profile(s3, profile, prefix)
    config = build_batch_config(request, profile, agent, batch_id=batch_id, prefix_uri=prefix)
    manifest_uri = stage_batch(s3, config, work_chunks(profile, config))
    arn, _ = start_or_attach_execution(sfn, refs, config, manifest_uri, name=batch_id)
    wait_for_execution(sfn, ddb, refs, arn, config, poll_seconds=poll_seconds, on_progress=on_progress)
    return config, assemble_results(s3, sfn, config, arn)
