"""Step 2b: run the agent on the batch's golden sample; stop the batch unless every field is accurate enough."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow_provider_batchorch.aws.s3_text import s3_object_text
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import GoldenSampleError
from airflow_provider_batchorch.core.golden_gate.evaluate import check_gate
from airflow_provider_batchorch.core.golden_gate.report import report_text
from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.core.task_outputs import GoldenGateResult
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook

if TYPE_CHECKING:
    from airflow.sdk import Context


class GoldenGateOperator(AwsBaseOperator[BatchorchHook]):
    """Without ``golden_sample`` in the request: nothing. With it: the agent (its cascade included) answers the
    sample's rows here, before any batch row, and the task fails with ``GOLDEN_GATE_FAILED`` and the per-field
    report unless every scored field reaches ``golden_min_accuracy`` (``core/golden_gate/``).

    :param request: ``analyze_csv``'s ``request``. :param agent: ``validate_agent``'s ``agent``.
    :return: A ``GoldenGateResult`` dump.
    """

    aws_hook_class = BatchorchHook
    template_fields: Sequence[str] = aws_template_fields("request", "agent")
    ui_color = "#f3eaf7"

    def __init__(self, *, request: dict[str, Any] | str, agent: dict[str, Any] | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request = request
        self.agent = agent

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_batchorch.agents.golden_evaluation import evaluate_agent  # the agent kinds

        request = BatchRequest.model_validate(self.request)
        if request.golden_sample is None:
            self.log.info("No golden_sample: the batch goes on without a gate")
            return GoldenGateResult().model_dump(mode="json")
        if not request.golden_sample.startswith("s3://"):  # never a file on the Airflow worker: conf is untrusted
            raise GoldenSampleError(f"golden_sample must be s3://bucket/key.csv, got {request.golden_sample!r}.",
                                    hint="Upload the labelled CSV to S3 (batchorch run uploads a local one).")
        text = s3_object_text(self.hook.s3, request.golden_sample)
        report = evaluate_agent(AgentSpec.model_validate(self.agent), text, source=request.golden_sample,
                                input_mapping=request.input_mapping, fields=request.output_fields or None,
                                min_accuracy=request.golden_min_accuracy, timeout_seconds=request.timeout_seconds,
                                concurrency=request.concurrency)
        self.log.info("%s", report_text(report))
        check_gate(report)
        return GoldenGateResult(report=report).model_dump(mode="json")
