"""Step 2b: run the agent on the batch's golden sample (or the judged first rows); stop the batch unless every
field is accurate enough, or leave it to ``golden_approval``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow_provider_batchorch.aws.s3_text import s3_object_text, s3_text_reader
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.batch_estimate import estimate_batch
from airflow_provider_batchorch.core.cost_estimate import CostEstimate, describe_estimate
from airflow_provider_batchorch.core.errors import GoldenSampleError
from airflow_provider_batchorch.core.golden_gate.evaluate import check_gate
from airflow_provider_batchorch.core.golden_gate.judge import csv_text_encoding, read_judge_sample
from airflow_provider_batchorch.core.golden_gate.report import GoldenReport, report_text
from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.core.task_outputs import AnalyzeResult, GoldenGateResult
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook
from airflow_provider_batchorch.hooks.llm_connection import connection_model
from airflow_provider_batchorch.operators.validate_agent import deployment_registry

if TYPE_CHECKING:
    from airflow.sdk import Context


class GoldenGateOperator(AwsBaseOperator[BatchorchHook]):
    """Without ``golden_sample`` or ``golden_judge`` in the request: nothing. With ``golden_sample``: the agent (its
    cascade included) answers the labelled rows here, before any batch row. With ``golden_judge``: it answers the
    first ``golden_judge_rows`` rows of ``csv_uri`` and the judge -- a trusted agent, resolved among the
    deployment's agents only -- scores each answer (``core/golden_gate/judge.py``). Unless every scored field
    reaches ``golden_min_accuracy`` the task fails with ``GOLDEN_GATE_FAILED`` and the per-field report or, with
    ``golden_on_fail: ask``, returns ``needs_approval`` for ``golden_approval``.

    :param request: ``analyze_csv``'s ``request``. :param agent: ``validate_agent``'s ``agent``.
    :param registry_files: / :param registry_table: The trusted registries, as for ``validate_agent``; not templated.
    :param analysis: ``analyze_csv``'s output. :param cost_estimate: ``validate_agent``'s, passed on to
        ``configure_batch`` -- for a cascade agent priced again at the rate its sample rows escalated.
    :return: A ``GoldenGateResult`` dump.
    """

    aws_hook_class = BatchorchHook
    template_fields: Sequence[str] = aws_template_fields("request", "agent", "analysis", "cost_estimate")
    ui_color = "#f3eaf7"

    def __init__(self, *, request: dict[str, Any] | str, agent: dict[str, Any] | str,
                 registry_files: Sequence[str] = (), registry_table: str | None = None,
                 analysis: dict[str, Any] | str | None = None, cost_estimate: dict[str, Any] | str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request = request
        self.agent = agent
        self.analysis = analysis
        self.cost_estimate = cost_estimate
        self.registry_files = list(registry_files)
        self.registry_table = registry_table

    def execute(self, context: Context) -> dict[str, Any]:
        request = BatchRequest.model_validate(self.request)
        estimate = CostEstimate.model_validate(self.cost_estimate) if self.cost_estimate else None
        if request.golden_sample is None and request.golden_judge is None:
            self.log.info("No golden_sample or golden_judge: the batch goes on without a gate")
            return GoldenGateResult(cost_estimate=estimate).model_dump(mode="json")
        spec = AgentSpec.model_validate(self.agent)
        report = self._judged(request, spec) if request.golden_judge else self._labelled(request, spec)
        self.log.info("%s", report_text(report))
        estimate = self._with_escalation_rate(spec, report) or estimate
        result = GoldenGateResult(report=report, cost_estimate=estimate)
        if not report.passed and request.golden_on_fail == "ask":
            self.log.info("golden_on_fail is ask: golden_approval asks a person before the batch runs")
            return result.model_copy(update={"needs_approval": True}).model_dump(mode="json")
        check_gate(report)
        return result.model_dump(mode="json")

    def _with_escalation_rate(self, spec: AgentSpec, report: GoldenReport) -> CostEstimate | None:
        """A cascade's estimate again, at the rate its rows escalated on the sample (else the range stands)."""
        if spec.escalation_agent is None or not self.analysis:
            return None
        analysis = AnalyzeResult.model_validate(self.analysis)
        estimate = estimate_batch(analysis.request, analysis.profile, spec, model=connection_model(spec),
                                  escalation_rate=report.escalation_rate)
        self.log.info("Cost estimate at the sample's escalation rate: %s", describe_estimate(estimate))
        return estimate

    def _labelled(self, request: BatchRequest, spec: AgentSpec) -> GoldenReport:
        from airflow_provider_batchorch.agents.golden_evaluation import evaluate_agent  # the agent kinds

        if not request.golden_sample.startswith("s3://"):  # never a file on the Airflow worker: conf is untrusted
            raise GoldenSampleError(f"golden_sample must be s3://bucket/key.csv, got {request.golden_sample!r}.",
                                    hint="Upload the labelled CSV to S3 (batchorch run uploads a local one).")
        text = s3_object_text(self.hook.s3, request.golden_sample)
        return evaluate_agent(spec, text, source=request.golden_sample, input_mapping=request.input_mapping,
                              fields=request.output_fields or None, min_accuracy=request.golden_min_accuracy,
                              timeout_seconds=request.timeout_seconds, concurrency=request.concurrency,
                              transforms=request.transforms)

    def _judged(self, request: BatchRequest, spec: AgentSpec) -> GoldenReport:
        from airflow_provider_batchorch.agents.golden_evaluation import judge_agent  # the agent kinds

        # the trusted agents only: a judge from the conf's registry would be the conf bringing its own verdicts
        judge = deployment_registry(self.hook, self.registry_files, self.registry_table).validate(request.golden_judge)
        source = f"first {request.golden_judge_rows} rows of {request.csv_uri}"
        # the CSV as analyze_csv found it (encoding, delimiter, quote char), the batch's transforms on its rows
        profile = AnalyzeResult.model_validate(self.analysis).profile if self.analysis else None
        with s3_text_reader(self.hook.s3, request.csv_uri, csv_text_encoding(profile)) as lines:
            sample = read_judge_sample(lines, spec, request.golden_judge_rows, source=source,
                                       input_mapping=request.input_mapping, profile=profile,
                                       transforms=request.transforms)
        return judge_agent(spec, judge, sample, fields=request.output_fields or None,
                           min_accuracy=request.golden_min_accuracy, timeout_seconds=request.timeout_seconds,
                           concurrency=request.concurrency)
