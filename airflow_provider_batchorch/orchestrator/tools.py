"""The orchestrator's toolset: each tool one method with a pydantic input and output model.

    toolset = BatchToolset.from_env()          # RequestPolicy.from_env(), the embedded launcher by default
    structure = toolset.analyze_csv_structure(CsvRef(csv_uri="s3://my-data/companies.csv"))

Every argument passes the policy (``policy_guard``) before anything is read or started. The batch itself runs as
a ``batch_orchestrator`` DAG run (``launchers``); monitoring and results read what that run writes: its config,
the processor's progress counters, the summary and the output CSV (``aws.batch_store``, ``aws.progress``).
``plain_tools(toolset)`` gives the same tools as flat-argument functions, for MCP or a pydantic-ai agent.
"""

from __future__ import annotations

import atexit
import codecs
import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Protocol

from airflow_provider_batchorch.aws.batch_store import batch_prefix, load_config, load_summary
from airflow_provider_batchorch.aws.processor import ProcessorNames, execution_arn_for, execution_name
from airflow_provider_batchorch.aws.progress import read_progress
from airflow_provider_batchorch.core.chat.recommendation import recommend_agents
from airflow_provider_batchorch.core.chat.request_policy import RequestDraft, RequestPolicy
from airflow_provider_batchorch.core.configure import build_batch_config
from airflow_provider_batchorch.core.cost_estimate import ApprovalThresholds
from airflow_provider_batchorch.core.errors import BatchorchError, ExecutionFailedError
from airflow_provider_batchorch.core.failure_breakdown import failure_breakdown
from airflow_provider_batchorch.core.models import DEFAULT_CUT_ROWS, BatchRequest, BatchSummary
from airflow_provider_batchorch.core.registry import AgentRegistry
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.orchestrator import policy_guard
from airflow_provider_batchorch.orchestrator.approval_gate import approval_question, require_approval
from airflow_provider_batchorch.orchestrator.launchers import DAG_ID, EmbeddedLauncher, Launcher
from airflow_provider_batchorch.orchestrator.tool_models import (
    AgentCompatibility,
    AgentRecommendation,
    AgentRef,
    BatchConfigPlan,
    BatchResults,
    BatchSettings,
    CsvRef,
    CsvStructure,
    ExecutionProgress,
    ExecutionRef,
    ExecutionStarted,
    FailureExplanation,
    FailureReason,
    OutputMapping,
    RecommendRequest,
    Recommendations,
    RetryRequest,
    TargetRef,
)

log = logging.getLogger(__name__)
LAUNCHER_ENV = "BATCHORCH_MCP_LAUNCHER"  # embedded (default) | airflow-api
SAMPLE_ROWS = 5


class UnknownExecutionError(BatchorchError):
    code = "UNKNOWN_EXECUTION"


class NothingToRetryError(BatchorchError):
    code = "NOTHING_TO_RETRY"


class NotFinishedError(BatchorchError):
    code = "EXECUTION_NOT_FINISHED"


@dataclass(frozen=True)
class StartedBatch:
    execution_arn: str
    run_id: str
    batch_id: str
    request: BatchRequest
    started_at: datetime
    retry_plan: Any = None  # an aws.retry_failed.RetryPlan: the batch reruns another's failed rows

    @property
    def prefix_uri(self) -> str:
        return batch_prefix(parse_s3_uri(self.request.csv_uri)[0], self.batch_id)


class BatchMemory(Protocol):
    """Where the started batches outlive this toolset (``batch_memory.ConversationBatches``)."""

    def remember(self, batch: StartedBatch, dag_id: str) -> None: ...

    def recall(self, execution_arn: str) -> StartedBatch | None: ...


class EmbeddedAwsOnDemand:
    """The embedded default's moto server and workers, started at the first tool that needs AWS, stopped at exit;
    nothing is started when an AWS endpoint or connection is configured."""

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self.aws = None
        self._lock = threading.Lock()

    @staticmethod
    def configured() -> bool:
        return bool(os.environ.get("BATCHORCH_AWS_ENDPOINT_URL") or os.environ.get("AIRFLOW_CONN_AWS_DEFAULT"))

    def ensure(self) -> str | None:
        """Start it if needed; returns its bucket when this process runs it."""
        with self._lock:
            if self.aws is None and not self.configured():
                from airflow_provider_batchorch.core.output_location import ALLOW_LOCAL_STATE_ENV
                from airflow_provider_batchorch.local.emulator import EmbeddedAws

                aws = EmbeddedAws()
                aws.start()
                atexit.register(aws.stop)
                aws.start_workers(self.workers)
                os.environ.update(aws.environment())
                os.environ[ALLOW_LOCAL_STATE_ENV] = "1"
                self.aws = aws
                log.info("embedded AWS (moto) at %s, bucket s3://%s", aws.endpoint_url, aws.bucket)
            return self.aws.bucket if self.aws is not None else None


class BatchToolset:
    def __init__(self, policy: RequestPolicy, launcher: Launcher, *, registry: AgentRegistry | None = None,
                 processor_names: ProcessorNames | None = None, embedded_aws: EmbeddedAwsOnDemand | None = None,
                 clients: Callable[[str], Any] | None = None, memory: BatchMemory | None = None,
                 thresholds: ApprovalThresholds | None = None) -> None:
        self.policy = policy
        self.memory = memory
        self.thresholds = thresholds or ApprovalThresholds.from_env()  # over them a person approves (approval_gate)
        self.launcher = launcher
        self.processor_names = processor_names or ProcessorNames()
        self._registry = registry
        self._embedded_aws = embedded_aws
        self._clients = clients or self._boto3_client
        self._client_cache: dict[str, Any] = {}
        self._started: dict[str, StartedBatch] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, policy: RequestPolicy | None = None, launcher: Launcher | None = None, *,
                 memory: BatchMemory | None = None) -> "BatchToolset":
        if launcher is None:
            kind = os.environ.get(LAUNCHER_ENV, "embedded")
            if kind == "airflow-api":
                from airflow_provider_batchorch.orchestrator.launchers import AirflowApiLauncher

                launcher = AirflowApiLauncher()
            elif kind == "embedded":
                launcher = EmbeddedLauncher()
            else:
                raise BatchorchError(f"{LAUNCHER_ENV}={kind!r} is not a launcher.",
                                     hint=f"Set {LAUNCHER_ENV} to embedded or airflow-api.")
        embedded = EmbeddedAwsOnDemand() if isinstance(launcher, EmbeddedLauncher) else None
        return cls(policy or RequestPolicy.from_env(), launcher, embedded_aws=embedded, memory=memory)

    # --- the tools ----------------------------------------------------------------------------------------------

    def analyze_csv_structure(self, request: CsvRef) -> CsvStructure:
        """Analyze a CSV in S3: column names, data types, row count and sample rows (streamed, never loaded whole)."""
        profile = self._profile(request.csv_uri)
        return CsvStructure(csv_uri=profile.uri, columns=profile.columns, row_count=profile.row_count,
                            sample_data=profile.sample_rows[:SAMPLE_ROWS], data_types=dict(profile.data_types),
                            encoding=profile.encoding, delimiter=profile.delimiter, size_bytes=profile.size_bytes)

    def recommend_agents(self, request: RecommendRequest) -> Recommendations:
        """Rank the allowed structured-output agents for a CSV's columns and the user's goal."""
        profile = self._profile(request.csv_uri)
        registry = self.registry()
        ranked = recommend_agents(self.policy.usable_agents(registry), profile.columns, request.goal,
                                  limit=request.limit)
        agents = [AgentRecommendation(agent=r.agent, description=registry.get(r.agent).description, score=r.score,
                                      coverage=r.coverage, matched_columns=r.matched_columns,
                                      missing_required=r.missing_required,
                                      available_fields=registry.get(r.agent).output_fields, reasons=r.reasons)
                  for r in ranked]
        return Recommendations(csv_uri=profile.uri, columns=profile.columns, goal=request.goal, agents=agents)

    def validate_agent_compatibility(self, request: AgentRef) -> AgentCompatibility:
        """Check that an agent has structured output (required for CSV columns); its output schema and fields."""
        registry = self.registry()
        spec = policy_guard.check_agent(request.agent_name, registry, self.policy)
        return AgentCompatibility.model_validate(registry.describe(spec.name))

    def generate_batch_config(self, request: BatchSettings) -> BatchConfigPlan:
        """Build the batch configuration: the column mapping, the output fields, the settings (all checked)."""
        batch_request = self._checked(request)
        registry = self.registry()
        profile = self._profile(batch_request.csv_uri, chunk_rows=batch_request.cut_rows)
        config = build_batch_config(batch_request, profile, registry.get(batch_request.agent), batch_id="plan",
                                    prefix_uri="s3://plan/")
        return BatchConfigPlan(
            csv_s3_uri=batch_request.csv_uri, target=TargetRef(name=config.agent.name),
            input_mapping=config.input_mapping, output_mapping=OutputMapping(structured_output_fields=config.output_fields),
            concurrency=batch_request.concurrency, timeout_seconds=batch_request.timeout_seconds,
            chunk_rows=batch_request.chunk_rows, output_uri=batch_request.output_uri)

    def execute_batch_processor(self, config: BatchConfigPlan) -> ExecutionStarted:
        """Start the batch as a batch_orchestrator DAG run; returns at once with the execution ARN to monitor."""
        return self._start(self._config_request(config))

    def approval_question(self, config: BatchConfigPlan | RetryRequest) -> str | None:
        """What a person must approve before this batch (or retry) starts; ``None`` when it starts at once."""
        if getattr(self.launcher, "has_approval_step", False):  # the chat DAG approves in its own task
            return None
        if isinstance(config, RetryRequest):
            return self._question(self._retry_request(config)[0])
        return self._question(self._config_request(config))

    def _question(self, batch_request: BatchRequest) -> str | None:
        profile = self._profile(batch_request.csv_uri, chunk_rows=batch_request.cut_rows)
        return approval_question(batch_request, profile, self.registry().get(batch_request.agent), self.thresholds)

    def _config_request(self, config: BatchConfigPlan) -> BatchRequest:
        return self._checked(BatchSettings(
            csv_uri=config.csv_s3_uri, agent_name=config.target.name, input_mapping=config.input_mapping,
            output_fields=config.output_mapping.structured_output_fields, concurrency=config.concurrency,
            timeout_seconds=config.timeout_seconds, chunk_rows=config.chunk_rows, output_uri=config.output_uri))

    def retry_failed_rows(self, request: RetryRequest) -> ExecutionStarted:
        """Run a finished batch's failed rows again (same agent, mapping and limits, under the policy); its
        get_batch_results merges them back into a complete copy of the output (<output>_retried.csv)."""
        batch_request, plan = self._retry_request(request)
        return self._start(batch_request, retry_plan=plan)

    def _retry_request(self, request: RetryRequest) -> tuple[BatchRequest, Any]:
        """The retry's batch request (under the policy) and its ``RetryPlan``; the batch must be finished."""
        from airflow_provider_batchorch.aws.retry_failed import prepare_retry

        batch = self._batch(request.execution_arn)
        self._finished_summary(batch)
        plan = prepare_retry(self._client("s3"), batch.prefix_uri)
        if not plan.selection.failed_rows:
            raise NothingToRetryError(f"the batch {batch.batch_id} has no failed rows.",
                                      hint="Nothing to retry: its output is complete.")
        retry = plan.request
        batch_request = self._checked(BatchSettings(
            csv_uri=retry.csv_uri, agent_name=retry.agent, input_mapping=retry.input_mapping,
            output_fields=retry.output_fields, concurrency=request.concurrency or retry.concurrency,
            timeout_seconds=retry.timeout_seconds))
        return batch_request, plan

    def _start(self, batch_request: BatchRequest, *, retry_plan=None) -> ExecutionStarted:
        self._aws_ready()
        if not getattr(self.launcher, "has_approval_step", False):
            require_approval(self._question(batch_request))
        started_at = datetime.now(timezone.utc)
        run_id = self.launcher.trigger(batch_request.model_dump(mode="json"))
        dag_id = getattr(self.launcher, "dag_id", DAG_ID)
        batch_id = execution_name(dag_id, run_id)
        arn = execution_arn_for(self._state_machine_arn(), batch_id)
        started = StartedBatch(arn, run_id, batch_id, batch_request, started_at, retry_plan)
        with self._lock:
            self._started[arn] = started
        if self.memory is not None:
            self.memory.remember(started, dag_id)
        return ExecutionStarted(execution_arn=arn, status="RUNNING", start_time=_iso(started_at), dag_id=dag_id,
                                dag_run_id=run_id, batch_id=batch_id, launcher=self.launcher.name)

    def monitor_batch_execution(self, request: ExecutionRef) -> ExecutionProgress:
        """Progress of a started batch: rows processed of the total, percent, estimated completion."""
        batch = self._batch(request.execution_arn)
        run = self.launcher.state(batch.run_id)
        summary = self._summary(batch)
        if summary is not None:
            return ExecutionProgress(
                execution_arn=batch.execution_arn, status=summary.status, done=True,
                rows_processed=summary.rows_processed, rows_succeeded=summary.rows_succeeded,
                rows_failed=summary.rows_failed, total_rows=summary.rows_processed, percent_complete=100.0,
                estimated_completion=None, elapsed_seconds=summary.processing_time_seconds, dag_run_state=run.state)
        progress, total = self._progress(batch), None
        if progress is not None:
            total = progress.total_rows
        status = "FAILED" if run.state == "failed" else (progress.status if progress else "PENDING")
        if status == "SUCCEEDED":  # the rows are done; the DAG run is still assembling the output CSV
            status = "RUNNING"
        eta = progress.eta_seconds if progress else None
        return ExecutionProgress(
            execution_arn=batch.execution_arn, status=status, done=run.finished,
            rows_processed=progress.rows_processed if progress else 0,
            rows_succeeded=progress.rows_succeeded if progress else 0,
            rows_failed=progress.rows_failed if progress else 0, total_rows=total,
            percent_complete=progress.percent if progress else 0.0,
            estimated_completion=_iso(datetime.now(timezone.utc) + timedelta(seconds=eta)) if eta is not None else None,
            elapsed_seconds=progress.elapsed_seconds if progress else None, dag_run_state=run.state,
            detail=run.detail or (None if progress else "the DAG run is analysing the CSV and configuring the batch"))

    def get_batch_results(self, request: ExecutionRef) -> BatchResults:
        """Results of a finished batch: the output CSV's S3 URI, row counts, processing time, failure reasons."""
        batch = self._batch(request.execution_arn)
        summary = self._finished_summary(batch)
        fields = set(BatchResults.model_fields) - {"execution_arn"}
        results = BatchResults(execution_arn=batch.execution_arn, **summary.model_dump(include=fields))
        if batch.retry_plan is None:
            return results
        from airflow_provider_batchorch.aws.retry_failed import merge_retry

        merged = merge_retry(self._client("s3"), batch.retry_plan, summary.output_csv_uri)
        return results.model_copy(update={
            "output_csv_uri": merged.output, "rows_processed": merged.total_rows,
            "rows_succeeded": merged.rows_succeeded, "rows_failed": merged.rows_failed,
            "retried_rows": merged.retried, "fixed_rows": merged.fixed,
            "message": f"Retried {merged.retried} failed rows: {merged.fixed} fixed, {merged.still_failed} still "
                       f"failed; the complete output is {merged.output}."})

    def explain_failures(self, request: ExecutionRef) -> FailureExplanation:
        """Why rows failed: the output CSV's failed rows grouped by reason, with what to do about each."""
        batch = self._batch(request.execution_arn)
        summary = self._finished_summary(batch)
        bucket, key = parse_s3_uri(summary.output_csv_uri)
        body = self._client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        with contextlib.closing(body):
            lines = codecs.iterdecode(body.iter_lines(keepends=True), "utf-8-sig")
            breakdown = failure_breakdown(lines)
        return FailureExplanation(
            execution_arn=batch.execution_arn, output_csv_uri=summary.output_csv_uri,
            total_rows=breakdown.total_rows, rows_failed=breakdown.rows_failed,
            reasons=[FailureReason.model_validate(group.model_dump()) for group in breakdown.groups],
            error_details_location=summary.error_details_location, retry_suggestion=summary.retry_suggestion)

    TOOL_NAMES = ("analyze_csv_structure", "recommend_agents", "validate_agent_compatibility", "generate_batch_config",
                  "execute_batch_processor", "monitor_batch_execution", "get_batch_results", "explain_failures",
                  "retry_failed_rows")

    # --- the batches this toolset may monitor -------------------------------------------------------------------

    def started_batches(self) -> list[StartedBatch]:
        with self._lock:
            return list(self._started.values())

    def adopt(self, batch: StartedBatch) -> None:
        """Monitor a batch started elsewhere (a conversation's earlier batch, from its store)."""
        with self._lock:
            self._started.setdefault(batch.execution_arn, batch)

    # --- helpers ------------------------------------------------------------------------------------------------

    def registry(self) -> AgentRegistry:
        if self._registry is None:
            from airflow_provider_batchorch.agents.registry_loader import assemble_registry
            from airflow_provider_batchorch.core.registry_trust import RegistryTrust

            self._registry = assemble_registry(trust=RegistryTrust.from_env(registry_files=[self.policy.registry]))
        return self._registry

    def _checked(self, settings: BatchSettings) -> BatchRequest:
        for uri, verb in ((settings.csv_uri, "read"), (settings.output_uri, "write to")):
            if uri:
                policy_guard.check_csv_uri(uri, self._policy_with_embedded_bucket(), verb=verb)
        draft = RequestDraft(csv_uri=settings.csv_uri, agent=settings.agent_name, concurrency=settings.concurrency,
                             timeout_seconds=settings.timeout_seconds, chunk_rows=settings.chunk_rows,
                             output_fields=settings.output_fields, input_mapping=settings.input_mapping,
                             output_uri=settings.output_uri)
        registry = self.registry()
        policy_guard.check_agent(settings.agent_name, registry, self.policy)
        return policy_guard.checked_request(draft, registry, self._policy_with_embedded_bucket())

    def _policy_with_embedded_bucket(self) -> RequestPolicy:
        """The policy; on the embedded default the emulator's own bucket is the default bucket (nothing else)."""
        bucket = self._embedded_aws.aws.bucket if self._embedded_aws and self._embedded_aws.aws else None
        if bucket and not self.policy.default_bucket:
            return self.policy.model_copy(update={"default_bucket": bucket})
        return self.policy

    def _profile(self, csv_uri: str, *, chunk_rows: int | None = None):
        self._aws_ready()
        uri = policy_guard.check_csv_uri(csv_uri, self._policy_with_embedded_bucket())
        from airflow_provider_batchorch.aws.csv_source import analyze_s3_csv  # numpy: imported when needed

        return analyze_s3_csv(self._client("s3"), uri, chunk_rows=chunk_rows or DEFAULT_CUT_ROWS)

    def aws_ready(self) -> str | None:
        """Start the embedded AWS if this toolset runs it; returns its bucket then (else ``None``)."""
        return self._embedded_aws.ensure() if self._embedded_aws is not None else None

    def client(self, service: str):
        """The boto3 client the tools use for ``service``."""
        return self._client(service)

    def _aws_ready(self) -> None:
        self.aws_ready()

    def _batch(self, execution_arn: str) -> StartedBatch:
        with self._lock:
            batch = self._started.get(execution_arn.strip())
        if batch is None and self.memory is not None:  # started before a restart, or by another process
            batch = self.memory.recall(execution_arn.strip())
            if batch is not None:
                self.adopt(batch)
        if batch is None:
            raise UnknownExecutionError(
                f"{execution_arn!r} is not a batch this server started.",
                hint="Pass the execution_arn that execute_batch_processor returned in this session.")
        return batch

    def _summary(self, batch: StartedBatch) -> BatchSummary | None:
        s3 = self._client("s3")
        try:
            return load_summary(s3, batch.prefix_uri)
        except s3.exceptions.NoSuchKey:
            return None

    def _finished_summary(self, batch: StartedBatch) -> BatchSummary:
        summary = self._summary(batch)
        if summary is not None:
            return summary
        run = self.launcher.state(batch.run_id)
        if run.state == "failed":
            raise ExecutionFailedError(f"the batch_orchestrator run {batch.run_id} failed without results. "
                                       f"{run.detail or ''}", hint="Fix what the run's log says and start it again.")
        raise NotFinishedError(f"the batch {batch.batch_id} is still running (DAG run {run.state}).",
                               hint="Call monitor_batch_execution until done is true, then ask again.")

    def _progress(self, batch: StartedBatch):
        s3, sfn = self._client("s3"), self._client("stepfunctions")
        try:
            config = load_config(s3, batch.prefix_uri)
        except s3.exceptions.NoSuchKey:
            return None
        try:
            return read_progress(sfn, self._client("dynamodb"), self.processor_names.progress_table,
                                 batch.execution_arn, config)
        except sfn.exceptions.ExecutionDoesNotExist:
            return None

    def _state_machine_arn(self) -> str:
        name = self.processor_names.state_machine
        sfn = self._client("stepfunctions")
        for page in sfn.get_paginator("list_state_machines").paginate():
            for machine in page["stateMachines"]:
                if machine["name"] == name:
                    return machine["stateMachineArn"]
        account = self._client("sts").get_caller_identity()["Account"]  # not deployed yet: the DAG deploys it
        return f"arn:aws:states:{sfn.meta.region_name}:{account}:stateMachine:{name}"

    def _client(self, service: str):
        if service not in self._client_cache:
            self._client_cache[service] = self._clients(service)
        return self._client_cache[service]

    @staticmethod
    def _boto3_client(service: str):
        import boto3

        return boto3.client(service, endpoint_url=os.environ.get("BATCHORCH_AWS_ENDPOINT_URL"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
