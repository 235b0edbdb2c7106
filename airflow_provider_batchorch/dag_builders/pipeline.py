"""The ``batch_pipeline`` DAG: a CSV through several agents in order, one task group per stage.

``plan_pipeline`` checks the conf and every agent first, then each ``stage_N`` group runs the six batch tasks
(``add_batch_pipeline_tasks``) over the previous stage's output (``stage_input`` renames its metadata columns so
nothing collides), and ``pipeline_summary`` reports every stage. A DAG's shape is fixed when it is parsed, so the
DAG has ``max_stages`` groups and the groups a conf does not use are skipped. Column naming: ``core.stages``.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, Param, TaskGroup, chain, task

from airflow_provider_batchorch.core import task_outputs as tasks
from airflow_provider_batchorch.core.stages import StageRequest
from airflow_provider_batchorch.dag_builders.batch_options import BatchTaskOptions, batchorch_dag, split_options
from airflow_provider_batchorch.dag_builders.orchestrator import add_batch_pipeline_tasks
from airflow_provider_batchorch.dag_builders.params import item_schema, settings_params
from airflow_provider_batchorch.dag_builders.xcom_templates import output_of
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
    """The trigger form: ``batch_orchestrator``'s shared keys plus ``stages`` (required unless given), whose
    items are ``StageRequest``'s schema."""
    stage_schema = item_schema(StageRequest)
    stages_param = Param(
        type="array", minItems=1, items=stage_schema, title="Stages",
        description="The agents, in order; each stage's output feeds the next.", examples=[EXAMPLE_STAGES],
    ) if stages is None else Param(stages, type="array", minItems=1, items=stage_schema, title="Stages")
    return {**settings_params(only=SHARED_PARAMS), "stages": stages_param}


@task(trigger_rule="none_failed_min_one_success")
def pipeline_summary(plan: dict[str, Any], stage_summaries: list[dict[str, Any] | None]) -> dict[str, Any]:
    from airflow_provider_batchorch.core.models import BatchSummary
    from airflow_provider_batchorch.core.stages import summarize_pipeline
    from airflow_provider_batchorch.core.task_outputs import PipelinePlan

    planned = PipelinePlan.model_validate(plan)
    ran = [BatchSummary.model_validate(summary) for summary in stage_summaries[: planned.stage_count]]
    summary = summarize_pipeline([stage.name for stage in planned.stages], ran)
    print(f"{summary.status}: {summary.message}. Output: {summary.output_csv_uri}")
    return summary.model_dump(mode="json")


def build_batch_pipeline_dag(
    dag_id: str = "batch_pipeline",
    *,
    stages: list[dict[str, Any]] | None = None,
    max_stages: int | None = None,
    options: BatchTaskOptions | dict[str, Any] | None = None,
    **kwargs: Any,
) -> DAG:
    """Build a multi-agent pipeline DAG.

    :param stages: A fixed pipeline (``StageRequest`` dicts): the default of the ``stages`` param, and the DAG
        gets exactly that many groups. ``None``: every run's conf says its stages.
    :param max_stages: Stage groups in the DAG (default: ``len(stages)``, or 3).
    :param options: ``BatchTaskOptions`` of every stage; its fields may be given as keyword arguments too.
    :param kwargs: The rest goes to ``DAG``.
    """
    max_stages = max_stages or (len(stages) if stages else 3)
    options, dag_kwargs = split_options(kwargs, options)
    with batchorch_dag(
        dag_id,
        description="Run a CSV through several agents in order, each stage's output feeding the next.",
        doc_md=DOC_MD,
        params=pipeline_params(stages),
        **dag_kwargs,
    ) as dag:
        plan = PlanPipelineOperator(task_id=tasks.PLAN_PIPELINE, max_stages=max_stages,
                                    aws_conn_id=options.aws_conn_id, registry_table=options.registry_table,
                                    registry_files=options.registry_files)
        previous, results = plan, []
        for index in range(max_stages):
            with TaskGroup(group_id=f"stage_{index + 1}", tooltip=f"stage {index + 1} of the pipeline"):
                handoff = [] if index == 0 else [StageInputOperator(
                    task_id=tasks.STAGE_INPUT, plan=output_of(plan), index=index,
                    previous_summary=output_of(results[-1]), aws_conn_id=options.aws_conn_id,
                )]
                stage_tasks = add_batch_pipeline_tasks(
                    request=output_of(plan, "stages", index, "request"),
                    batch_id=output_of(plan, "stages", index, "batch_id"),
                    options=options,
                )
                chain(previous, *handoff, *stage_tasks)
            previous = stage_tasks.results
            results.append(stage_tasks.results)
        summary = pipeline_summary(output_of(plan), [output_of(result) for result in results])
        chain(results, summary)
    return dag
