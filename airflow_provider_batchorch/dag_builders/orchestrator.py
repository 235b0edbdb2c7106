"""The ``batch_orchestrator`` DAG: analyze CSV -> validate agent -> configure -> execute -> monitor -> results.

Built by a factory so the DAG is importable from the installed package (``batchorch run`` needs no dags
folder of its own); the files in ``dags/`` are one-line entry points. Its trigger form and the conf table of
its docs are generated from ``BatchRequest`` (``dag_builders.params``, ``core.run_settings``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from airflow.sdk import DAG, chain

from airflow_provider_batchorch.core import task_outputs as tasks
from airflow_provider_batchorch.core.run_settings import settings_table
from airflow_provider_batchorch.dag_builders.batch_options import BatchTaskOptions, batchorch_dag, split_options
from airflow_provider_batchorch.dag_builders.params import batch_params
from airflow_provider_batchorch.dag_builders.xcom_templates import output_of
from airflow_provider_batchorch.operators.analyze_csv import AnalyzeCsvOperator
from airflow_provider_batchorch.operators.batch_api_job import BatchApiJobOperator
from airflow_provider_batchorch.operators.configure_batch import ConfigureBatchOperator
from airflow_provider_batchorch.operators.execute_batch import ExecuteBatchOperator
from airflow_provider_batchorch.operators.get_batch_results import GetBatchResultsOperator
from airflow_provider_batchorch.operators.golden_approval import GoldenApprovalOperator
from airflow_provider_batchorch.operators.golden_gate import GoldenGateOperator
from airflow_provider_batchorch.operators.validate_agent import ValidateAgentOperator
from airflow_provider_batchorch.sensors.batch_execution import BatchExecutionSensor

DOC_MD = """
# batch_orchestrator

Runs an AI agent with **structured output** over every row of a CSV in S3, fanned out by an AWS Step
Functions Distributed Map, and writes an output CSV: every original column unchanged, then the agent's
output fields, then `_status`, `_error_message` and processing metadata. Output rows == input rows, same order.

**Steps:** `analyze_csv` (validates the whole conf, profiles the CSV) → `validate_agent` (registry lookup,
structured output required) → `golden_gate` (with `golden_sample`: the agent answers the labelled rows first; with
`golden_judge`: the first `golden_judge_rows` rows, scored by that trusted agent; the run stops with
`GOLDEN_GATE_FAILED` unless every field reaches `golden_min_accuracy`) → `golden_approval` (with
`golden_on_fail: ask`, a person approves or rejects the failed report instead) → `configure_batch` (column mapping, output fields, chunk manifest in S3) →
`batch_api_job` (cost mode only: the rows go to the provider's batch API first, deferred until it ends or
its deadline; the rows it answers validly are reused below) → `execute_batch` (starts the execution; a retried task re-attaches) → `monitor_batch` (deferrable; rows,
percent, ETA) → `get_results` (output CSV + summary: SUCCEEDED or COMPLETED_WITH_ERRORS).

## Conf

{settings_table}

Unknown keys are refused. A conf's `registry` may only add agents without code (`kind: python` is refused)
whose targets (model, base_url, function, state machine) match the operator's `BATCHORCH_ALLOWED_AGENT_TARGETS`;
agents that run code come from registries the deployment configured (`registry_files` of the DAG factory,
`BATCHORCH_REGISTRY_FILES`) or the AgentRegistry table. Otherwise the run fails with `UNTRUSTED_AGENT`.

Example:

```json
{"csv_uri": "s3://my-data/companies.csv", "agent": "company-enrichment-agent",
 "concurrency": 10, "input_mapping": {"company_name": "Company"},
 "output_fields": ["industry", "employee_count"]}
```

From the CLI: `airflow dags trigger batch_orchestrator --conf '{"csv_uri": "...", "agent": "..."}'`, or
`batchorch run --csv companies.csv --agent company-enrichment-agent` on the embedded default.
""".replace("{settings_table}", settings_table())


class BatchPipelineTasks(NamedTuple):
    """The batch pipeline tasks, in the order they run."""

    analyze: AnalyzeCsvOperator
    validate: ValidateAgentOperator
    gate: GoldenGateOperator
    golden_approval: GoldenApprovalOperator
    configure: ConfigureBatchOperator
    batch_api: BatchApiJobOperator
    execute: ExecuteBatchOperator
    monitor: BatchExecutionSensor
    results: GetBatchResultsOperator


def add_batch_pipeline_tasks(
    *,
    request: dict[str, Any] | str | None = None,
    batch_id: str | None = None,
    options: BatchTaskOptions | dict[str, Any] | None = None,
    **option_fields: Any,
) -> BatchPipelineTasks:
    """Add analyze_csv -> validate_agent -> golden_gate -> golden_approval -> configure_batch -> batch_api_job ->
    execute_batch -> monitor_batch -> get_results to the DAG being defined (call it inside ``batchorch_dag(...)``, or a ``DAG`` with
    ``render_template_as_native_obj=True``).

    The tasks are returned unchained: ``chain(*tasks)`` runs them in order; a DAG may put its own steps between
    them (an approval before ``configure``, say). Inside a ``TaskGroup`` the tasks pull each other's XComs by
    their group-prefixed ids, so a DAG can hold several pipelines (one group per stage).

    :param request: Where the run request comes from: ``None`` = the DAG run's params (the trigger conf); else a
        ``BatchRequest`` dict or a template rendering to one (another task's XCom).
    :param batch_id: Names the batch (its S3 prefix and its execution); ``None`` derives it from the DAG run.
        Give each pipeline of one DAG run its own.
    :param options: ``BatchTaskOptions`` (AWS connection, registry table and trusted files, processor names,
        polling); ``option_fields`` are its fields given one by one, over ``options``.
    """
    options = BatchTaskOptions.of(options, **option_fields)
    names = options.processor_names
    aws = {"aws_conn_id": options.aws_conn_id}
    analyze = AnalyzeCsvOperator(task_id=tasks.ANALYZE_CSV, request=request, batch_id=batch_id, **aws)
    validate = ValidateAgentOperator(
        task_id=tasks.VALIDATE_AGENT,
        agent=output_of(analyze, "request", "agent"),
        registry=output_of(analyze, "request", "registry"),
        registry_files=options.registry_files,
        registry_table=options.registry_table,
        analysis=output_of(analyze),
        **aws,
    )
    gate = GoldenGateOperator(  # the golden sample, when the request names one: before any batch row
        task_id=tasks.GOLDEN_GATE,
        request=output_of(analyze, "request"),
        agent=output_of(validate, "agent"),
        registry_files=options.registry_files,
        registry_table=options.registry_table,
        analysis=output_of(analyze),
        cost_estimate=output_of(validate, "cost_estimate"),
        **aws,
    )
    golden_approval = GoldenApprovalOperator(  # golden_on_fail: ask -- a person decides on the failed report
        task_id=tasks.GOLDEN_APPROVAL,
        gate=output_of(gate),
    )
    configure = ConfigureBatchOperator(
        task_id=tasks.CONFIGURE_BATCH,
        request=output_of(analyze, "request"),
        profile_uri=output_of(analyze, "profile_uri"),
        agent=output_of(validate, "agent"),
        batch_id=output_of(analyze, "batch_id"),
        prefix_uri=output_of(analyze, "prefix_uri"),
        cost_estimate=output_of(gate, "cost_estimate"),  # validate_agent's, or at the sample's escalation rate
        **aws,
    )
    batch_api = BatchApiJobOperator(
        task_id=tasks.BATCH_API_JOB,
        config=output_of(configure, "config"),
        manifest_uri=output_of(configure, "manifest_uri"),
        poll_interval=options.poll_interval,
        **aws,
    )
    execute = ExecuteBatchOperator(
        task_id=tasks.EXECUTE_BATCH,
        config=output_of(configure, "config"),
        manifest_uri=output_of(configure, "manifest_uri"),
        name=output_of(analyze, "batch_id") if batch_id else None,
        processor_names=names.model_dump(),
        **aws,
    )
    monitor = BatchExecutionSensor(
        task_id=tasks.MONITOR_BATCH,
        execution_arn=output_of(execute),
        config=output_of(configure, "config"),
        progress_table=names.progress_table,
        deferrable=options.deferrable,
        poke_interval=options.poll_interval,
        timeout=options.monitor_timeout.total_seconds(),
        **aws,
    )
    results = GetBatchResultsOperator(
        task_id=tasks.GET_RESULTS,
        config=output_of(configure, "config"),
        execution_arn=output_of(execute),
        **aws,
    )
    return BatchPipelineTasks(analyze, validate, gate, golden_approval, configure, batch_api, execute, monitor, results)


def build_batch_orchestrator_dag(
    dag_id: str = "batch_orchestrator",
    *,
    options: BatchTaskOptions | dict[str, Any] | None = None,
    **kwargs: Any,
) -> DAG:
    """Build the batch DAG (its tasks: ``add_batch_pipeline_tasks``).

    :param options: ``BatchTaskOptions``; its fields may be given as keyword arguments too
        (``poll_interval=0.5``, ``registry_files=[...]``).
    :param kwargs: The rest goes to ``DAG`` (``tags``, ``default_args``, ``schedule``, extra ``params``...).
    """
    options, dag_kwargs = split_options(kwargs, options)
    with batchorch_dag(
        dag_id,
        description="Run an AI agent with structured output over every row of a CSV (Step Functions).",
        doc_md=DOC_MD,
        params=batch_params(),
        **dag_kwargs,
    ) as dag:
        chain(*add_batch_pipeline_tasks(options=options))
    return dag
