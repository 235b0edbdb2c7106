"""Cost mode's batch job for one batch: submit the rows, read the job's status, merge its answers.

``submit_batch_job`` reads the CSV chunk by chunk (the manifest), keeps one request per distinct agent input not
yet in the incremental store, and submits them (OpenAI-compatible ``/v1/batches`` or Bedrock batch inference);
``job_status`` is what the trigger polls; ``collect_batch_job`` reads the job's output, validates and stores
the answers (``core.batch_api.merge``) and writes ``outcome.json``. A batch that cannot be submitted (no batch
API at the endpoint, no Bedrock role, too few rows for Bedrock) is not an error: every row then runs real time.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from airflow_provider_batchorch.agents.llm_batch import LlmBatchRequests
from airflow_provider_batchorch.agents.openai_batch import TERMINAL_STATUSES as OPENAI_TERMINAL
from airflow_provider_batchorch.aws import bedrock_batch
from airflow_provider_batchorch.aws.batch_store import get_bytes, put_bytes
from airflow_provider_batchorch.aws.csv_source import read_range
from airflow_provider_batchorch.aws.result_cache import open_batch_answers, open_result_cache
from airflow_provider_batchorch.core.batch_api.merge import merge_answers
from airflow_provider_batchorch.core.batch_api.models import BatchApiJob, BatchApiOutcome, outcome_uri, plan_uri
from airflow_provider_batchorch.core.batch_api.requests import distinct_requests, to_jsonl
from airflow_provider_batchorch.core.batch_api.results import parse_bedrock_lines, parse_openai_lines
from airflow_provider_batchorch.core.csv.chunk_reader import read_chunk_rows
from airflow_provider_batchorch.core.errors import AgentRowError, BatchApiJobError
from airflow_provider_batchorch.core.mapping import build_agent_inputs
from airflow_provider_batchorch.core.models import BatchConfig, ChunkSpec
from airflow_provider_batchorch.core.result_cache import CacheKeys
from airflow_provider_batchorch.core.s3_uri import join_uri
from airflow_provider_batchorch.core.transforms.row_transforms import RowTransforms

log = logging.getLogger(__name__)
DEADLINE = "deadline"


def _row_inputs(s3: Any, config: BatchConfig, manifest_uri: str):
    transforms = RowTransforms(config.agent, config.columns)  # the batch's rules, as the workers apply them
    for spec in map(ChunkSpec.model_validate, json.loads(get_bytes(s3, manifest_uri))):
        data = read_range(s3, config.csv_uri, spec.start, spec.end)
        for row in read_chunk_rows(data, columns=config.columns, delimiter=config.delimiter,
                                   quotechar=config.quotechar, encoding=config.encoding):
            try:
                if transforms.skips(row):
                    continue  # the row filter leaves it out: SKIPPED in real time, no request
                yield build_agent_inputs(transforms.input_row(row), config.input_mapping, config.agent)
            except AgentRowError:
                continue  # the row fails in real time with the same reason, without a call


def _not_submitted(note: str, requests: int = 0) -> BatchApiOutcome:
    log.warning("Cost mode: the batch job was not submitted (%s); every row runs in real time", note)
    return BatchApiOutcome(status="not_submitted", requests=requests, note=note)


def submit_batch_job(s3: Any, config: BatchConfig, manifest_uri: str, *, bedrock: Any = None,
                     now: float | None = None) -> BatchApiJob | BatchApiOutcome:
    """The submitted job, or (nothing to ask, or the provider cannot take it) an outcome saying why not, saved
    as ``outcome.json``."""
    submitted = _submit(s3, config, manifest_uri, bedrock=bedrock, now=now)
    if isinstance(submitted, BatchApiOutcome):
        save_outcome(s3, config, submitted)
    return submitted


def _submit(s3: Any, config: BatchConfig, manifest_uri: str, *, bedrock: Any, now: float | None
            ) -> BatchApiJob | BatchApiOutcome:
    builder = LlmBatchRequests(config.agent)
    store = open_result_cache(s3, config.state_uri)
    requests = distinct_requests(_row_inputs(s3, config, manifest_uri), CacheKeys(config.agent),
                                 known=(lambda key: store.get(key) is not None) if store else (lambda key: False))
    if not requests:
        return _not_submitted("every row's answer is stored already, or no row has valid inputs")
    records = to_jsonl(builder.record(request_id, inputs) for request_id, (_, inputs) in requests.items())
    keys = {request_id: key for request_id, (key, _) in requests.items()}
    now = time.time() if now is None else now
    job = {"provider": builder.provider, "model": builder.model, "keys": keys, "submitted_at": now,
           "deadline_at": now + config.batch_api_deadline_seconds}
    try:
        if builder.provider == "openai":
            with builder.openai_client() as client:
                file_id = client.upload(records, f"{config.batch_id}.jsonl")
                job["job_id"] = client.create(file_id, {"batch_id": config.batch_id})["id"]
        else:
            role_arn = bedrock_batch.bedrock_role_arn()
            if role_arn is None:
                return _not_submitted(f"{bedrock_batch.BEDROCK_BATCH_ROLE_ENV} is not set", len(requests))
            if len(requests) < bedrock_batch.MIN_RECORDS:
                return _not_submitted(f"{len(requests)} requests, Bedrock takes at least "
                                      f"{bedrock_batch.MIN_RECORDS}", len(requests))
            job["output_uri"] = join_uri(config.prefix_uri, "batch_api/output") + "/"
            job["job_id"] = bedrock_batch.submit_bedrock_job(
                bedrock or bedrock_batch.bedrock_client(getattr(config.agent.invocation, "region", None)), s3,
                job_name=config.batch_id[:63], model_id=builder.bedrock_model_id, role_arn=role_arn,
                records=records, input_uri=join_uri(config.prefix_uri, "batch_api/input.jsonl"),
                output_uri=job["output_uri"], timeout_hours=int(config.batch_api_deadline_seconds // 3600) + 1)
    except BatchApiJobError as error:
        return _not_submitted(str(error), len(requests))
    except Exception as error:  # noqa: BLE001 - a connection fault, a refused create: real time does without
        return _not_submitted(f"{type(error).__name__}: {error}", len(requests))
    submitted = BatchApiJob.model_validate(job)
    put_bytes(s3, plan_uri(config.prefix_uri), submitted.model_dump_json().encode())
    return submitted


def load_job(s3: Any, config: BatchConfig) -> BatchApiJob | None:
    """The job this batch submitted already (a retried task re-attaches to it), or None."""
    try:
        return BatchApiJob.model_validate_json(get_bytes(s3, plan_uri(config.prefix_uri)))
    except s3.exceptions.NoSuchKey:
        return None


def job_status(job: BatchApiJob, *, openai: Any = None, bedrock: Any = None) -> tuple[str, bool]:
    """(the job's status, whether it is final)."""
    if job.provider == "openai":
        status = openai.retrieve(job.job_id)["status"]
        return status, status in OPENAI_TERMINAL
    status = bedrock_batch.bedrock_job_status(bedrock, job.job_id)
    return status, status in bedrock_batch.TERMINAL_STATUSES


def _openai_results(client: Any, job: BatchApiJob) -> dict:
    batch = client.retrieve(job.job_id)
    results = {}
    for file_id in (batch.get("error_file_id"), batch.get("output_file_id")):  # answers win over errors
        if file_id:
            results.update(parse_openai_lines(client.content(file_id)))
    return results


def collect_batch_job(s3: Any, config: BatchConfig, job: BatchApiJob, status: str, *, bedrock: Any = None
                      ) -> BatchApiOutcome:
    """Merge what the job answered into the batch's answer store; a job past its deadline is cancelled first
    (what it answered by then is kept)."""
    builder = LlmBatchRequests(config.agent)
    if job.provider == "openai":
        with builder.openai_client() as client:
            if status == DEADLINE:
                _best_effort(lambda: client.cancel(job.job_id), job)
            results = _openai_results(client, job)
    else:
        bedrock = bedrock or bedrock_batch.bedrock_client(getattr(config.agent.invocation, "region", None))
        if status == DEADLINE:
            _best_effort(lambda: bedrock_batch.stop_bedrock_job(bedrock, job.job_id), job)
        results = parse_bedrock_lines(bedrock_batch.read_bedrock_output(s3, job.output_uri or ""))
    answers = open_batch_answers(s3, config)
    outcome = merge_answers(job.keys, results, builder.validator, answers.put, agent=config.agent.name,
                            version=config.agent.version, status=status)
    outcome.provider, outcome.job_id = job.provider, job.job_id
    save_outcome(s3, config, outcome)
    return outcome


def _best_effort(action, job: BatchApiJob) -> None:
    try:
        action()
    except Exception as error:  # noqa: BLE001 - the rows go real time either way
        log.warning("Cost mode: could not cancel batch job %s: %s", job.job_id, error)


def save_outcome(s3: Any, config: BatchConfig, outcome: BatchApiOutcome) -> str:
    return put_bytes(s3, outcome_uri(config.prefix_uri), outcome.model_dump_json(indent=2).encode())


def load_outcome(s3: Any, config: BatchConfig) -> BatchApiOutcome | None:
    if config.execution_mode != "batch_api":
        return None
    try:
        return BatchApiOutcome.model_validate_json(get_bytes(s3, outcome_uri(config.prefix_uri)))
    except s3.exceptions.NoSuchKey:
        return None
