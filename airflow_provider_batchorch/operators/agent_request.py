"""The chat request as a validated batch run conf, or a clarifying question and a clean end of the run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.sdk.bases.skipmixin import SkipMixin
from botocore.exceptions import BotoCoreError, ClientError
from airflow_provider_batchorch.aws.registry_table import load_configured_registry_table
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.core.chat.replies import plan_message
from airflow_provider_batchorch.aws.s3_text import s3_object_text
from airflow_provider_batchorch.core.errors import BatchorchError
from airflow_provider_batchorch.core.registry import AgentRegistry
from airflow_provider_batchorch.core.registry_trust import RegistryTrust
from airflow_provider_batchorch.core.task_outputs import QUESTION_XCOM_KEY, AgentRequestResult
from airflow_provider_batchorch.core.chat.request_parser import input_csv_uri, parse_request
from airflow_provider_batchorch.core.chat.request_policy import (
    ParsedRequest,
    RequestDraft,
    RequestPolicy,
    ask,
    finalize_draft,
)
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook
from airflow_provider_batchorch.notifications.slack import DEFAULT_SLACK_CONN_ID, SlackThread, slack_client

if TYPE_CHECKING:
    from airflow.sdk import Context

class AgentRequestOperator(AwsBaseOperator[BatchorchHook], SkipMixin):
    """Turn a chat request into the ``batch_orchestrator`` run conf (a ``BatchRequest``).

    With ``llm_conn_id`` (a ``pydanticai`` connection: ``password`` = key, ``host`` = base URL, ``extra.model``)
    an LLM fills the request through structured output; without one, or when the LLM fails, the offline parser
    does. Either way ``RequestPolicy`` decides which agents, buckets and limits are allowed.

    When the request is unclear the operator asks (in Slack: the command's ``response_url``, else the channel),
    pushes the question as XCom ``question`` and skips everything downstream: the run ends without guessing.
    When it is clear it posts the plan, which starts the Slack thread of the run.

    :param text: The request, e.g. ``"enrich s3://my-data/companies.csv with industry, 25 parallel workers"``.
    :param retry_of: ``s3://.../batchorch/runs/<batch>/`` of an earlier batch: run its failed rows again.
    :param policy: ``RequestPolicy`` fields; ``None`` reads ``BATCHORCH_CHAT_*`` from the environment.
    :param registry_table: A DynamoDB AgentRegistry table whose agents may be requested too.
    :param llm_conn_id: A ``pydanticai`` connection; ``None``: the offline parser.
    :param slack_conn_id: The Slack API connection used to reply; a missing connection skips replies.
    :param channel: The Slack channel id the request came from; ``response_url``: the slash command's reply URL.
    :return: An ``AgentRequestResult`` dump (request, notes, thread_ts, schedule, retry_plan).
    """

    aws_hook_class = BatchorchHook
    template_fields: Sequence[str] = aws_template_fields("text", "retry_of", "channel", "response_url")
    ui_color = "#fdf2e8"

    def __init__(
        self,
        *,
        text: str,
        retry_of: str | None = None,
        policy: dict[str, Any] | None = None,
        registry_table: str | None = None,
        llm_conn_id: str | None = None,
        slack_conn_id: str | None = DEFAULT_SLACK_CONN_ID,
        channel: str | None = None,
        response_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.text = text
        self.retry_of = retry_of
        self.policy = policy
        self.registry_table = registry_table
        self.llm_conn_id = llm_conn_id
        self.slack_conn_id = slack_conn_id
        self.channel = channel
        self.response_url = response_url
        self.retry_plan: dict[str, Any] | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        self.text = "" if self.text is None else str(self.text)  # native rendering turns "25" into 25
        policy = RequestPolicy.model_validate(self.policy) if self.policy else RequestPolicy.from_env()
        registry = self.load_registry(policy)
        parsed = self.retry_request(registry, policy) if self.retry_of else self.parse(registry, policy)
        thread = SlackThread(slack_client(self.slack_conn_id), self.channel or None,
                             response_url=self.response_url or None)
        if not parsed.ready:
            self.log.info("Asking instead of guessing (%s): %s", parsed.reason, parsed.question)
            if not thread.reply_to_command(parsed.question):
                thread.post(parsed.question)
            context["ti"].xcom_push(key=QUESTION_XCOM_KEY, value=parsed.model_dump(mode="json"))
            self.skip(ti=context["ti"], tasks=self.get_direct_relatives(upstream=False))  # raises to end the run
            return {"question": parsed.question, "reason": parsed.reason}
        request = parsed.request
        self.log.info("Run conf: %s%s", request.model_dump_json(exclude_defaults=True),
                      "".join(f"\nNote: {note}" for note in parsed.notes))
        thread_ts = thread.post(plan_message(request, context["run_id"], parsed.notes))
        return AgentRequestResult(request=request, notes=parsed.notes, thread_ts=thread_ts, schedule=parsed.schedule,
                                  retry_plan=self.retry_plan).model_dump(mode="json")

    def parse(self, registry: AgentRegistry, policy: RequestPolicy) -> ParsedRequest:
        if self.llm_conn_id:
            try:
                from airflow_provider_batchorch.agents.llm_request_parser import parse_request_with_llm

                return parse_request_with_llm(self.text, registry, policy, request_model(self.llm_conn_id))
            except Exception as error:  # the model is down or answers nonsense: the offline parser still works
                self.log.warning("LLM request parsing failed (%s); using the offline parser", error)
        return parse_request(self.text, registry, policy, self.csv_columns(policy))

    def csv_columns(self, policy: RequestPolicy) -> list[str]:
        """The header of the CSV the request names (a ranged read of its head, only in an allowed bucket), so
        its columns weigh in on the agent; ``[]`` when there is none or it cannot be read (the batch's own
        analysis reports that)."""
        from airflow_provider_batchorch.aws.csv_source import analyze_s3_csv_head  # pyarrow, numpy: not at DAG parse

        uri = input_csv_uri(self.text, policy)
        if uri is None:
            return []
        try:
            return analyze_s3_csv_head(self.hook.s3, uri).columns
        except (BatchorchError, BotoCoreError, ClientError) as error:
            self.log.info("Choosing the agent without the columns of %s: %s", uri, error)
            return []

    def retry_request(self, registry: AgentRegistry, policy: RequestPolicy) -> ParsedRequest:
        """The failed rows of the batch at ``retry_of`` as a new input, with its agent, mapping, fields and limits
        (still subject to the policy). The plan to merge them back goes to the result as ``retry_plan``."""
        from airflow_provider_batchorch.aws.retry_failed import prepare_retry

        bucket, _ = parse_s3_uri(self.retry_of)
        if not policy.bucket_allowed(bucket):
            return ask("bucket_not_allowed", f"I can't use s3://{bucket}: chat requests may only use "
                       f"{policy.allowed_bucket_list()}.")
        plan = prepare_retry(self.hook.s3, self.retry_of)
        if not plan.selection.failed_rows:
            return ask("invalid_request", "That batch has no failed rows: nothing to retry.")
        retry = plan.request
        draft = RequestDraft(csv_uri=retry.csv_uri, agent=retry.agent, concurrency=retry.concurrency,
                             timeout_seconds=retry.timeout_seconds, output_fields=retry.output_fields,
                             input_mapping=retry.input_mapping)
        parsed = finalize_draft(draft, registry, policy)
        parsed.notes.append(f"Retrying the {len(plan.selection.failed_rows):,} failed rows of "
                            f"{plan.selection.total_rows:,}; the merged output goes to {plan.merged_output_uri}.")
        self.retry_plan = plan.model_dump(mode="json")
        return parsed

    def load_registry(self, policy: RequestPolicy) -> AgentRegistry:
        """The built-in agents, the configured registry files (the policy's registry, set by the deployment, and
        ``BATCHORCH_REGISTRY_FILES``), plus ``registry_table``. A chat request never adds a registry."""
        from airflow_provider_batchorch.agents.registry_loader import assemble_registry  # the built-in agents

        table = load_configured_registry_table(self.hook.dynamodb, self.registry_table,
                                               self.hook.conn_config.extra_config)
        trust = RegistryTrust.from_env(registry_files=[policy.registry])
        return assemble_registry(None, trust=trust, table=table,
                                 read_s3=lambda uri: s3_object_text(self.hook.s3, uri))


def request_model(llm_conn_id: str):
    """The pydantic-ai model of a ``pydanticai`` connection (``extra.model``; ``test`` answers offline)."""
    from pydantic_ai.models.test import TestModel

    from airflow_provider_batchorch.core.agent_spec import LlmInvocation
    from airflow_provider_batchorch.agents.llm_agent import build_model, resolve_credentials

    invocation = LlmInvocation(conn_id=llm_conn_id, output_mode="tool")
    credentials = resolve_credentials(invocation)
    if credentials.model == "test":
        return TestModel(custom_output_args={})
    return build_model(invocation, credentials, {})
