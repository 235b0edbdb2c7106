"""The ``batch_pipeline`` DAG: a CSV through several agents in order, one task group per stage.

``plan_pipeline`` checks the conf and every agent first, then each ``stage_N`` group runs the six batch tasks
(``add_batch_pipeline_tasks``) over the previous stage's output (``stage_input`` renames its metadata columns so
nothing collides), and ``pipeline_summary`` reports every stage. A DAG's shape is fixed when it is parsed, so the
DAG has ``max_stages`` groups and the groups a conf does not use are skipped. Column naming: ``core.stages``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param, TaskGroup, chain, task

from airflow_provider_batchorch.dag_builders.orchestrator import BUILTIN_AGENTS, _xcom, add_batch_pipeline_tasks, batch_params
from airflow_provider_batchorch.operators.plan_pipeline import PlanPipelineOperator
from airflow_provider_batchorch.operators.stage_input import StageInputOperator

SHARED_PARAMS = ("csv_uri", "concurrency", "timeout_seconds", "chunk_rows", "output_uri", "registry", "encoding",
                 "neutralize_formulas", "incremental", "state_uri")
EXAMPLE_STAGES = [
    {"agent": "address-validator-agent", "input_mapping": {"street": "address"}},
    {"agent": "company-enrichment-agent", "input_mapping": {"location": "normalized_address"}},
]

DOC_MD = """
# batch_pipeline

Runs a CSV through several agents **in order**: each stage's output CSV is the next stage's input, so a stage
can map its inputs to an earlier stage's output fields (`{"location": "normalized_address"}`).

**Tasks:** `plan_pipeline` (validates the conf and every agent before anything runs) → per stage a task group
`stage_N` (`stage_input` → `analyze_csv` → `validate_agent` → `configure_batch` → `execute_batch` →
`monitor_batch` → `get_results`) → `pipeline_summary`. Stage groups beyond the conf's stages are skipped.

**Columns:** the final stage's fields and `_status`, `_error_message`, ... are plain; an earlier stage's
metadata is prefixed with its name (`address_validator_status`), and so is one of its fields when a later stage
writes a field of the same name (`address_validator_confidence_score`). A stage's name defaults to its agent
without `-agent` (`-` → `_`).

```json
{"csv_uri": "s3://my-data/companies.csv",
 "stages": [{"agent": "address-validator-agent", "input_mapping": {"street": "address"}},
            {"agent": "company-enrichment-agent", "input_mapping": {"location": "normalized_address"}}]}
```
Each stage may set `name`, `input_mapping`, `output_fields`, `concurrency`, `timeout_seconds`; the other keys
(`concurrency`, `chunk_rows`, `incremental`, ...) are the pipeline's, as in `batch_orchestrator`.
"""


def pipeline_params(stages: list[dict[str, Any]] | None = None) -> dict[str, Param]:
    """The trigger form: ``batch_orchestrator``'s shared keys plus ``stages`` (required unless given)."""
    shared = batch_params()
    stage_schema = {
        "type": "object",
        "required": ["agent"],
        "properties": {
            "agent": {"type": "string", "minLength": 1, "examples": BUILTIN_AGENTS},
            "name": {"type": ["null", "string"]},
            "input_mapping": {"type": "object"},
            "output_fields": {"type": "array", "items": {"type": "string"}},
            "concurrency": {"type": ["null", "integer"], "minimum": 1, "maximum": 1000},
            "timeout_seconds": {"type": ["null", "number"], "exclusiveMinimum": 0, "maximum": 900},
        },
    }
    stages_param = Param(
        type="array", minItems=1, items=stage_schema, title="Stages",
        description="The agents, in order; each stage's output feeds the next.", examples=[EXAMPLE_STAGES],
    ) if stages is None else Param(stages, type="array", minItems=1, items=stage_schema, title="Stages")
    return {**{key: shared[key] for key in SHARED_PARAMS}, "stages": stages_param}


@task(trigger_rule="none_failed_min_one_success")
def pipeline_summary(plan: dict[str, Any], stage_summaries: list[dict[str, Any] | None]) -> dict[str, Any]:
    from airflow_provider_batchorch.core.models import BatchSummary
    from airflow_provider_batchorch.core.stages import summarize_pipeline

    ran = [BatchSummary.model_validate(summary) for summary in stage_summaries[: plan["stage_count"]]]
    summary = summarize_pipeline([stage["name"] for stage in plan["stages"]], ran)
    print(f"{summary.status}: {summary.message}. Output: {summary.output_csv_uri}")
    return summary.model_dump(mode="json")


def build_batch_pipeline_dag(
    dag_id: str = "batch_pipeline",
    *,
    stages: list[dict[str, Any]] | None = None,
    max_stages: int | None = None,
    aws_conn_id: str | None = "aws_default",
    registry_table: str | None = None,
    processor_names: dict[str, Any] | None = None,
    poll_interval: float = 5.0,
    deferrable: bool = True,
    monitor_timeout: timedelta = timedelta(days=1),
    **dag_kwargs: Any,
) -> DAG:
    """Build a multi-agent pipeline DAG.

    :param stages: A fixed pipeline (``StageRequest`` dicts): the default of the ``stages`` param, and the DAG
        gets exactly that many groups. ``None``: every run's conf says its stages.
    :param max_stages: Stage groups in the DAG (default: ``len(stages)``, or 3).
    :param dag_kwargs: Passed to ``DAG``; the other parameters are ``add_batch_pipeline_tasks``'s.
    """
    max_stages = max_stages or (len(stages) if stages else 3)
    dag_kwargs.setdefault("schedule", None)
    dag_kwargs.setdefault("tags", ["batchorch"])
    params = {**pipeline_params(stages), **dag_kwargs.pop("params", {})}
    batch_options = {"aws_conn_id": aws_conn_id, "registry_table": registry_table,
                     "processor_names": processor_names, "poll_interval": poll_interval,
                     "deferrable": deferrable, "monitor_timeout": monitor_timeout}
    with DAG(
        dag_id=dag_id,
        description="Run a CSV through several agents in order, each stage's output feeding the next.",
        doc_md=DOC_MD,
        params=params,
        render_template_as_native_obj=True,
        **dag_kwargs,
    ) as dag:
        plan = PlanPipelineOperator(task_id="plan_pipeline", max_stages=max_stages, aws_conn_id=aws_conn_id,
                                    registry_table=registry_table)
        previous, results = plan, []
        for index in range(max_stages):
            with TaskGroup(group_id=f"stage_{index + 1}", tooltip=f"stage {index + 1} of the pipeline"):
                handoff = [] if index == 0 else [StageInputOperator(
                    task_id="stage_input", plan=_xcom(plan.task_id), index=index,
                    previous_summary=_xcom(results[-1].task_id), aws_conn_id=aws_conn_id,
                )]
                tasks = add_batch_pipeline_tasks(
                    request=_xcom(plan.task_id, "stages", index, "request"),
                    batch_id=_xcom(plan.task_id, "stages", index, "batch_id"),
                    **batch_options,
                )
                chain(previous, *handoff, *tasks)
            previous = tasks.results
            results.append(tasks.results)
        summary = pipeline_summary(_xcom(plan.task_id), [_xcom(task.task_id) for task in results])
        chain(results, summary)
    return dag
