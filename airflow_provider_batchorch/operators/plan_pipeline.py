"""Pipeline step 0: validate the pipeline conf, resolve every stage's agent, plan each stage's request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow_provider_batchorch.aws.batch_store import batch_prefix
from airflow_provider_batchorch.aws.processor import execution_name
from airflow_provider_batchorch.core.s3_uri import join_uri, parse_s3_uri
from airflow_provider_batchorch.core.errors import InvalidConfError, invalid_conf
from airflow_provider_batchorch.core.mapping import select_output_fields
from airflow_provider_batchorch.core.output_location import OutputRules, check_output_locations
from airflow_provider_batchorch.core.stages import PipelineRequest, plan_stages
from airflow_provider_batchorch.core.task_outputs import PipelinePlan, PlannedStage
from airflow_provider_batchorch.operators.validate_agent import ValidateAgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


def validate_pipeline(conf: Mapping[str, Any]) -> PipelineRequest:
    try:
        return PipelineRequest.model_validate(dict(conf))
    except ValidationError as exc:
        raise invalid_conf(exc, PipelineRequest) from None


class PlanPipelineOperator(ValidateAgentOperator):
    """Check the whole pipeline before any stage spends money: the conf, every agent (structured output), each
    stage's output fields; then plan each stage's ``BatchRequest``, batch id and column renames.

    :param pipeline: ``PipelineRequest`` fields; ``None`` means the DAG run's params.
    :param max_stages: The DAG's stage task groups; a conf with more stages is refused.
    :return: A ``PipelinePlan`` dump: every stage's ``StagePlan`` and batch id.
    """

    template_fields: Sequence[str] = aws_template_fields("pipeline")
    ui_color = "#efe6fa"

    def __init__(self, *, max_stages: int, pipeline: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(agent="", **kwargs)
        self.max_stages = max_stages
        self.pipeline = pipeline

    def execute(self, context: Context) -> dict[str, Any]:
        pipeline = validate_pipeline(self.pipeline if self.pipeline is not None else context["params"])
        if len(pipeline.stages) > self.max_stages:
            raise InvalidConfError(f"{len(pipeline.stages)} stages, this DAG runs at most {self.max_stages}.",
                                   hint="Build a DAG with more (build_batch_pipeline_dag(max_stages=...)).")
        self.registry = pipeline.registry
        registry = self.resolve_registry()
        agents = [registry.validate(stage.agent) for stage in pipeline.stages]
        output_fields = [select_output_fields(agent, stage.output_fields) for agent, stage in zip(agents, pipeline.stages)]
        dag_id, run_id = context["ti"].dag_id, context["run_id"]
        pipeline_id = execution_name(dag_id, run_id)
        prefix = batch_prefix(parse_s3_uri(pipeline.csv_uri)[0], pipeline_id)
        stage_inputs = [join_uri(prefix, f"stage-{index + 1}-input.csv") for index in range(1, len(agents))]
        plans = plan_stages(pipeline, output_fields, stage_inputs)
        # The last stage reads the previous stage's output: check the pipeline's own input against its output.
        check_output_locations(plans[0].request.model_copy(update={"output_uri": pipeline.output_uri}),
                               OutputRules.from_env())
        for plan in plans:
            self.log.info("Stage %d %s: %s -> [%s]; renamed for the next stage: %s", plan.index + 1, plan.name,
                          plan.request.agent, ", ".join(plan.output_fields), plan.renames_after or "nothing (final)")
        stages = [PlannedStage(**dict(plan), batch_id=execution_name(dag_id, f"{run_id}.{plan.name}")) for plan in plans]
        return PipelinePlan(pipeline_id=pipeline_id, stage_count=len(plans), stages=stages).model_dump(mode="json")
