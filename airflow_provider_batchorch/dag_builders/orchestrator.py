"""The ``batch_orchestrator`` DAG: analyze CSV -> validate agent -> configure -> execute -> monitor -> results.

Built by a factory so the DAG is importable from the installed package (``batchorch run`` needs no dags
folder of its own); the files in ``dags/`` are one-line entry points.
"""

from __future__ import annotations

from datetime import timedelta
from collections.abc import Sequence
from typing import Any, NamedTuple

from airflow.sdk import DAG, Param, chain

from airflow_provider_batchorch.aws.processor import ProcessorNames
from airflow_provider_batchorch.operators.analyze_csv import AnalyzeCsvOperator
from airflow_provider_batchorch.operators.configure_batch import ConfigureBatchOperator
from airflow_provider_batchorch.operators.execute_batch import ExecuteBatchOperator
from airflow_provider_batchorch.operators.get_batch_results import GetBatchResultsOperator
from airflow_provider_batchorch.operators.validate_agent import ValidateAgentOperator
from airflow_provider_batchorch.sensors.batch_execution import BatchExecutionSensor

BUILTIN_AGENTS = [
    "company-enrichment-agent",
    "ticket-classifier-agent",
    "address-validator-agent",
    "product-analyzer-agent",
    "customer-scorer-agent",
]

DOC_MD = """
# batch_orchestrator

Runs an AI agent with **structured output** over every row of a CSV in S3, fanned out by an AWS Step
Functions Distributed Map, and writes an output CSV: every original column unchanged, then the agent's
output fields, then `_status`, `_error_message` and processing metadata. Output rows == input rows, same order.

**Steps:** `analyze_csv` (validates the whole conf, profiles the CSV) → `validate_agent` (registry lookup,
structured output required) → `configure_batch` (column mapping, output fields, chunk manifest in S3) →
`execute_batch` (starts the execution; a retried task re-attaches) → `monitor_batch` (deferrable; rows,
percent, ETA) → `get_results` (output CSV + summary: SUCCEEDED or COMPLETED_WITH_ERRORS).

## Conf

| key | default | meaning |
|---|---|---|
| `csv_uri` | required | `s3://bucket/key.csv` |
| `agent` | required | registry name, e.g. `company-enrichment-agent` |
| `concurrency` | 10 | agent calls in flight across the batch (1..1000) |
| `timeout_seconds` | 60 | per-row agent timeout |
| `input_mapping` | `{}` | agent input field → CSV column; wins over automatic matching |
| `output_fields` | `[]` | subset of the agent's output fields; empty = all |
| `output_uri` | null | `s3://...` for the output CSV; default next to the batch |
| `chunk_rows` | 100 | rows per chunk handed to one worker task |
| `registry` | null | extra agent registry file (YAML/JSON), local path or `s3://`: untrusted, see below |
| `encoding` | null | override the detected encoding, e.g. `cp1252` |
| `neutralize_formulas` | true | prefix cells starting with `= + - @` so spreadsheets do not run them |
| `incremental` | false | reuse the stored output of rows enriched before; only new or changed rows call the agent |
| `state_uri` | null | where incremental state lives; default `s3://<csv bucket>/batchorch/state/` |

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
"""


def batch_params() -> dict[str, Param]:
    """The trigger form; mirrors ``BatchRequest`` (which validates the whole conf again in ``analyze_csv``)."""
    return {
        "csv_uri": Param(
            type="string",
            title="CSV in S3",
            description="The CSV to process: s3://bucket/key.csv (header row first).",
            pattern="^s3://[^/]+/.+",
            examples=["s3://batchorch-local/examples/companies.csv"],
        ),
        "agent": Param(
            type="string",
            title="Agent",
            description="The agent run on every row; it must have structured output. The five built-in agents "
            "are proposed; agents from a registry file or the AgentRegistry table are accepted too.",
            minLength=1,
            examples=BUILTIN_AGENTS,
        ),
        "concurrency": Param(
            10, type="integer", minimum=1, maximum=1000, title="Concurrency",
            description="Agent calls in flight across the whole batch.",
        ),
        "timeout_seconds": Param(
            60, type="number", exclusiveMinimum=0, maximum=900, title="Timeout per row (s)",
            description="A row whose agent call takes longer fails with a timeout in _error_message.",
        ),
        "input_mapping": Param(
            {}, type="object", title="Input mapping",
            description='Agent input field -> CSV column, e.g. {"company_name": "Company"}. '
            "Unmapped fields are matched by name and synonyms.",
        ),
        "output_fields": Param(
            [], type="array", items={"type": "string"}, title="Output fields",
            description="The agent output fields to add as columns; empty means all of them.",
        ),
        "output_uri": Param(
            None, type=["null", "string"], title="Output CSV",
            description="s3://... for the output CSV; empty writes it next to the batch's files.",
        ),
        "chunk_rows": Param(
            100, type="integer", minimum=1, maximum=1_000_000, title="Rows per chunk",
            description="Rows handed to one worker task; smaller chunks spread a small CSV over more workers.",
        ),
        "registry": Param(
            None, type=["null", "string"], title="Agent registry file",
            description="A YAML/JSON registry adding agents: local path (on the workers) or s3://. Its agents "
            "may not run Python code or replace a configured agent, and may call only targets on the operator's "
            "BATCHORCH_ALLOWED_AGENT_TARGETS; agents with code go in a registry an operator configured.",
        ),
        "encoding": Param(
            None, type=["null", "string"], title="Encoding",
            description="Override the detected encoding, e.g. cp1252; empty detects it.",
        ),
        "neutralize_formulas": Param(
            True, type="boolean", title="Neutralize formulas",
            description="Prefix output cells starting with = + - @ so spreadsheets show them as text.",
        ),
        "incremental": Param(
            False, type="boolean", title="Incremental",
            description="Reuse the stored output of rows enriched before (same agent, version and input); "
            "only new or changed rows call the agent.",
        ),
        "state_uri": Param(
            None, type=["null", "string"], title="Incremental state",
            description="Where incremental state lives (s3://bucket/prefix/); empty: s3://<csv bucket>/batchorch/state/.",
        ),
    }


def _xcom(task_id: str, *keys: str) -> str:
    """A native-rendered template pulling ``task_id``'s return value, or a key path inside it."""
    path = "".join(f"[{key!r}]" for key in keys)
    return f"{{{{ ti.xcom_pull(task_ids={task_id!r}){path} }}}}"


class BatchPipelineTasks(NamedTuple):
    """The six batch pipeline tasks, in the order they run."""

    analyze: AnalyzeCsvOperator
    validate: ValidateAgentOperator
    configure: ConfigureBatchOperator
    execute: ExecuteBatchOperator
    monitor: BatchExecutionSensor
    results: GetBatchResultsOperator


def add_batch_pipeline_tasks(
    *,
    request: dict[str, Any] | str | None = None,
    batch_id: str | None = None,
    aws_conn_id: str | None = "aws_default",
    registry_table: str | None = None,
    registry_files: Sequence[str] = (),
    processor_names: ProcessorNames | dict[str, Any] | None = None,
    poll_interval: float = 5.0,
    deferrable: bool = True,
    monitor_timeout: timedelta = timedelta(days=1),
) -> BatchPipelineTasks:
    """Add analyze_csv -> validate_agent -> configure_batch -> execute_batch -> monitor_batch -> get_results to
    the DAG being defined (call it inside ``with DAG(..., render_template_as_native_obj=True)``).

    The tasks are returned unchained: ``chain(*tasks)`` runs them in order; a DAG may put its own steps between
    them (an approval before ``configure``, say). Inside a ``TaskGroup`` the tasks pull each other's XComs by
    their group-prefixed ids, so a DAG can hold several pipelines (one group per stage).

    :param request: Where the run request comes from: ``None`` = the DAG run's params (the trigger conf); else a
        ``BatchRequest`` dict or a template rendering to one (another task's XCom).
    :param batch_id: Names the batch (its S3 prefix and its execution); ``None`` derives it from the DAG run.
        Give each pipeline of one DAG run its own.
    :param aws_conn_id: The AWS connection every task uses (endpoint_url in its extra for moto/LocalStack).
    :param registry_table: A DynamoDB AgentRegistry table to look agents up in, besides the built-ins.
    :param registry_files: Registry files (local paths or ``s3://``) the DAG author trusts, their Python agents
        included; added to the operator's ``BATCHORCH_REGISTRY_FILES``. The conf's ``registry`` is not trusted.
    :param processor_names: Names of the processor's state machine, queues and progress table.
    :param poll_interval: Seconds between progress polls while the batch runs.
    :param deferrable: Wait for the batch in the triggerer (default) rather than in a worker slot.
    :param monitor_timeout: How long the monitor waits before failing.
    """
    names = ProcessorNames.model_validate(processor_names or {})
    aws = {"aws_conn_id": aws_conn_id}
    analyze = AnalyzeCsvOperator(task_id="analyze_csv", request=request, batch_id=batch_id, **aws)
    validate = ValidateAgentOperator(
        task_id="validate_agent",
        agent=_xcom(analyze.task_id, "request", "agent"),
        registry=_xcom(analyze.task_id, "request", "registry"),
        registry_files=registry_files,
        registry_table=registry_table,
        **aws,
    )
    configure = ConfigureBatchOperator(
        task_id="configure_batch",
        request=_xcom(analyze.task_id, "request"),
        profile_uri=_xcom(analyze.task_id, "profile_uri"),
        agent=_xcom(validate.task_id, "agent"),
        batch_id=_xcom(analyze.task_id, "batch_id"),
        prefix_uri=_xcom(analyze.task_id, "prefix_uri"),
        **aws,
    )
    execute = ExecuteBatchOperator(
        task_id="execute_batch",
        config=_xcom(configure.task_id, "config"),
        manifest_uri=_xcom(configure.task_id, "manifest_uri"),
        name=_xcom(analyze.task_id, "batch_id") if batch_id else None,
        processor_names=names.model_dump(),
        **aws,
    )
    monitor = BatchExecutionSensor(
        task_id="monitor_batch",
        execution_arn=_xcom(execute.task_id),
        config=_xcom(configure.task_id, "config"),
        progress_table=names.progress_table,
        deferrable=deferrable,
        poke_interval=poll_interval,
        timeout=monitor_timeout.total_seconds(),
        **aws,
    )
    results = GetBatchResultsOperator(
        task_id="get_results",
        config=_xcom(configure.task_id, "config"),
        execution_arn=_xcom(execute.task_id),
        **aws,
    )
    return BatchPipelineTasks(analyze, validate, configure, execute, monitor, results)


def build_batch_orchestrator_dag(
    dag_id: str = "batch_orchestrator",
    *,
    aws_conn_id: str | None = "aws_default",
    registry_table: str | None = None,
    registry_files: Sequence[str] = (),
    processor_names: ProcessorNames | dict[str, Any] | None = None,
    poll_interval: float = 5.0,
    deferrable: bool = True,
    monitor_timeout: timedelta = timedelta(days=1),
    **dag_kwargs: Any,
) -> DAG:
    """Build the batch DAG (its tasks: ``add_batch_pipeline_tasks``, which documents the parameters).

    :param dag_kwargs: Passed to ``DAG`` (``tags``, ``default_args``, ``schedule``, extra ``params``...).
    """
    params = {**batch_params(), **dag_kwargs.pop("params", {})}
    dag_kwargs.setdefault("schedule", None)
    dag_kwargs.setdefault("tags", ["batchorch"])

    with DAG(
        dag_id=dag_id,
        description="Run an AI agent with structured output over every row of a CSV (Step Functions).",
        doc_md=DOC_MD,
        params=params,
        render_template_as_native_obj=True,
        **dag_kwargs,
    ) as dag:
        chain(*add_batch_pipeline_tasks(
            aws_conn_id=aws_conn_id,
            registry_table=registry_table,
            registry_files=registry_files,
            processor_names=processor_names,
            poll_interval=poll_interval,
            deferrable=deferrable,
            monitor_timeout=monitor_timeout,
        ))
    return dag
