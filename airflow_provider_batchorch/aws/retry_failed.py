"""Rerun the failed rows of a batch whose output is in S3 and merge them back into one complete output.

``prepare_retry(s3, prefix_uri)`` reads the previous batch (its ``config.json`` and output CSV), writes its
failed rows as a new input CSV and returns a ``RetryPlan`` whose ``request`` reruns them with the same agent,
mapping, output fields and limits. Run that request as any batch (trigger ``batch_orchestrator`` with it as the
conf, or ``run_pipeline``); then ``merge_retry(s3, plan, retry_output_uri)`` writes the complete output, in the
previous order under the previous header. ``retry_failed_batch`` does all three without Airflow.
Files stream through temporary files; memory holds a row and the failed row numbers.
"""

from __future__ import annotations

from pydantic import BaseModel

from airflow_provider_batchorch.aws.batch_store import load_config
from airflow_provider_batchorch.aws.s3_text import s3_text_reader, s3_text_writer
from airflow_provider_batchorch.core.s3_uri import join_uri, parse_s3_uri
from airflow_provider_batchorch.core.models import BatchConfig, BatchRequest, BatchSummary
from airflow_provider_batchorch.core.retry_failed import (
    RetryOutcome,
    RetrySelection,
    merge_retried_rows,
    select_failed_rows,
)


class RetryPlan(BaseModel):
    """Everything the merge needs once the retry batch has run."""

    previous_output_uri: str
    merged_output_uri: str
    selection: RetrySelection
    request: BatchRequest


def prepare_retry(s3, prefix_uri: str, *, retry_input_uri: str | None = None,
                  merged_output_uri: str | None = None) -> RetryPlan:
    """Select the failed rows of the batch under ``prefix_uri`` and write them to ``retry_input_uri``.

    :param prefix_uri: The previous batch's ``s3://bucket/batchorch/runs/<batch_id>/``.
    :param retry_input_uri: Where the retry input CSV goes; default ``<prefix>/retry/input.csv``.
    :param merged_output_uri: Where the merged output goes; default the previous output's name + ``_retried``.
    """
    config = load_config(s3, prefix_uri)
    retry_input_uri = retry_input_uri or join_uri(prefix_uri, "retry/input.csv")
    with s3_text_reader(s3, config.output_uri) as previous, s3_text_writer(s3, retry_input_uri) as retry_input:
        selection = select_failed_rows(previous, retry_input, [*config.agent.output_fields, *config.output_fields],
                                       neutralized=config.neutralize_formulas)
    return RetryPlan(
        previous_output_uri=config.output_uri,
        merged_output_uri=merged_output_uri or _retried_name(config.output_uri),
        selection=selection,
        request=retry_request(config, retry_input_uri, selection),
    )


def retry_request(config: BatchConfig, retry_input_uri: str, selection: RetrySelection) -> BatchRequest:
    """The previous batch's request again, over the retry input: same agent, mapping, outputs and limits."""
    return BatchRequest(
        csv_uri=retry_input_uri,
        agent=config.agent.name,
        concurrency=config.concurrency,
        timeout_seconds=config.timeout_seconds,
        input_mapping=config.input_mapping,
        output_fields=selection.output_fields,
        neutralize_formulas=config.neutralize_formulas,
        # the batch's effective rules as they ran (the registry entry's included), not merged over the entry again
        transforms=config.agent.transforms.model_copy(update={"replace_defaults": True}) if config.agent.transforms
        else None,
    )


def merge_retry(s3, plan: RetryPlan, retry_output_uri: str | None) -> RetryOutcome:
    """Write ``plan.merged_output_uri``: the previous output with its failed rows replaced, in order.

    ``retry_output_uri`` ``None`` (nothing failed, nothing ran) copies the previous output.
    """
    if retry_output_uri is None:
        return _copy_unchanged(s3, plan)
    with (
        s3_text_reader(s3, plan.previous_output_uri) as previous,
        s3_text_reader(s3, retry_output_uri) as retried,
        s3_text_writer(s3, plan.merged_output_uri) as merged,
    ):
        outcome = merge_retried_rows(previous, retried, plan.selection, merged)
    return outcome.model_copy(update={"output": plan.merged_output_uri})


def retry_failed_batch(s3, sfn, ddb, refs, prefix_uri: str, *, batch_id: str, poll_seconds: float = 1.0
                       ) -> tuple[RetryOutcome, BatchSummary | None]:
    """Prepare, run (``run_pipeline``, no Airflow) and merge. The summary is ``None`` when nothing had failed."""
    from airflow_provider_batchorch.aws.pipeline import run_pipeline

    plan = prepare_retry(s3, prefix_uri)
    if not plan.selection.failed_rows:
        return merge_retry(s3, plan, None), None
    agent = load_config(s3, prefix_uri).agent
    _, summary = run_pipeline(s3, sfn, ddb, refs, plan.request, agent, batch_id=batch_id, poll_seconds=poll_seconds)
    return merge_retry(s3, plan, summary.output_csv_uri), summary


def _copy_unchanged(s3, plan: RetryPlan) -> RetryOutcome:
    source_bucket, source_key = parse_s3_uri(plan.previous_output_uri)
    bucket, key = parse_s3_uri(plan.merged_output_uri)
    s3.copy({"Bucket": source_bucket, "Key": source_key}, bucket, key)
    return RetryOutcome.nothing_failed(plan.selection.total_rows, plan.merged_output_uri)


def _retried_name(output_uri: str) -> str:
    stem = output_uri[:-4] if output_uri.lower().endswith(".csv") else output_uri
    return f"{stem}_retried.csv"
