"""The ``chat_command`` DAG: a chat request in plain words -> a validated batch -> approval when it is big ->
the batch pipeline -> results in the Slack thread.

    agent_request -> analyze_csv -> validate_agent -> approve_batch -> configure_batch -> execute_batch
        -> monitor_batch + report_progress -> get_results -> merge_retry -> post_results

The Slack plugin (``plugins/slack.py``) triggers it with ``{"text", "user_id", "user_name", "team_id", "channel_id",
"response_url"}`` (who asked, from the verified Slack request: follow-ups act only on the asker's runs); it can be
triggered from the UI or the REST API with just ``{"text": "..."}`` too (such a run has no Slack owner).
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param, chain

from airflow_provider_batchorch.core import task_outputs as tasks
from airflow_provider_batchorch.core.cost_estimate import ApprovalThresholds
from airflow_provider_batchorch.core.chat.request_policy import RequestPolicy
from airflow_provider_batchorch.dag_builders.batch_options import BatchTaskOptions, batchorch_dag, split_options
from airflow_provider_batchorch.dag_builders.orchestrator import add_batch_pipeline_tasks
from airflow_provider_batchorch.dag_builders.xcom_templates import output_of
from airflow_provider_batchorch.notifications.slack import DEFAULT_SLACK_CONN_ID, notify_chat_run_failed
from airflow_provider_batchorch.operators.chat_agent import ChatAgentOperator
from airflow_provider_batchorch.operators.batch_approval import BatchApprovalOperator
from airflow_provider_batchorch.operators.chat_replies import SlackBatchProgressOperator, SlackBatchSummaryOperator
from airflow_provider_batchorch.operators.merge_retry import MergeRetriedRowsOperator

DAG_ID = "chat_command"

DOC_MD = """
# chat_command

A request in plain words, e.g. *enrich s3://my-data/companies.csv with industry and employee count, 25 parallel
workers*, becomes a validated `batch_orchestrator` run: `agent_request` turns it into the run conf (or asks a
clarifying question in Slack and ends the run), `approve_batch` estimates the cost and waits for a human's
approval when the batch is over the row or cost threshold, then the batch pipeline runs and `post_results`
posts the summary in the Slack thread.

Conf: `text` (the request), and from the Slack plugin `user_id`, `user_name`, `team_id`, `channel_id`,
`response_url` (who asked: only they, or a `BATCHORCH_SLACK_ADMINS` user, may follow up on the run);
`retry_of` (an earlier batch's `s3://.../batchorch/runs/<batch>/`) runs that batch's failed rows again.

What a request may use is configuration, not conversation: `BATCHORCH_CHAT_ALLOWED_BUCKETS`,
`BATCHORCH_CHAT_MAX_CONCURRENCY`, `BATCHORCH_CHAT_ALLOWED_AGENTS`, ...; approval thresholds:
`BATCHORCH_APPROVAL_MAX_ROWS`, `BATCHORCH_APPROVAL_MAX_COST_USD`; download links in the thread expire after
`BATCHORCH_SLACK_LINK_TTL_SECONDS` (default 900).
"""


def chat_params() -> dict[str, Param]:
    def optional(title: str, description: str) -> Param:
        return Param(None, type=["null", "string"], title=title, description=description)

    return {
        "text": Param(type="string", minLength=1, title="Request",
                      description="What to run, in plain words: the CSV (s3://...), the goal or agent, settings.",
                      examples=["enrich s3://batchorch-local/examples/companies.csv with industry and employee "
                                "count, 10 parallel workers"]),
        "user_id": optional("Slack user", "Who asked (Slack user id)."),
        "user_name": optional("Slack user name", "Who asked (Slack user name)."),
        "team_id": optional("Slack workspace", "Where the asker is (Slack team id)."),
        "channel_id": optional("Slack channel", "Where to reply (Slack channel id)."),
        "response_url": optional("Slack response URL", "The slash command's reply URL."),
        "retry_of": optional("Retry failed rows of", "s3://.../batchorch/runs/<batch>/ of a finished batch."),
        "thread_ts": optional("Slack thread", "A follow-up in this thread continues its conversation (LLM chat)."),
    }


def build_chat_command_dag(
    dag_id: str = DAG_ID,
    *,
    slack_conn_id: str | None = DEFAULT_SLACK_CONN_ID,
    llm_conn_id: str | None = None,
    policy: RequestPolicy | dict[str, Any] | None = None,
    thresholds: ApprovalThresholds | dict[str, Any] | None = None,
    progress_interval: float = 30.0,
    approval_timeout: timedelta = timedelta(hours=24),
    link_seconds: int | None = None,
    options: BatchTaskOptions | dict[str, Any] | None = None,
    **kwargs: Any,
) -> DAG:
    """Build the chat DAG.

    :param slack_conn_id: Slack API connection (bot token in ``password``); missing: no Slack replies.
    :param llm_conn_id: A ``pydanticai`` connection for the orchestrator agent; ``None``: ``BATCHORCH_CHAT_LLM_CONN_ID``,
        else ``pydanticai_default`` when it exists (read when the task runs), else the offline parser.
    :param policy: What requests may use (``RequestPolicy``); ``None``: ``BATCHORCH_CHAT_*`` when the DAG is parsed.
    :param thresholds: Approval thresholds; ``None``: ``BATCHORCH_APPROVAL_*`` when the DAG is parsed.
    :param progress_interval: Seconds between progress updates in the thread.
    :param approval_timeout: How long a batch waits for approval before it is rejected.
    :param link_seconds: How long the results' download links stay valid; ``None``:
        ``BATCHORCH_SLACK_LINK_TTL_SECONDS`` where ``post_results`` runs (default 900).
    :param options: ``BatchTaskOptions`` (its fields may be keyword arguments too); the trusted registry files
        default to the policy's registry (the chat conf carries it on). The other ``kwargs`` go to ``DAG``.
    """
    policy = policy if isinstance(policy, RequestPolicy) else RequestPolicy.from_env(**(policy or {}))
    thresholds = ApprovalThresholds.model_validate(thresholds or ApprovalThresholds.from_env())
    options, dag_kwargs = split_options(kwargs, options)
    if "registry_files" not in options.model_fields_set and policy.registry:
        options = BatchTaskOptions.of(options, registry_files=[policy.registry])
    names = options.processor_names
    default_args = {"on_failure_callback": functools.partial(notify_chat_run_failed, slack_conn_id=slack_conn_id),
                    **dag_kwargs.pop("default_args", {})}
    aws = {"aws_conn_id": options.aws_conn_id}
    reply_to = {"slack_conn_id": slack_conn_id, "channel": "{{ params.channel_id }}",
                "response_url": "{{ params.response_url }}"}
    in_thread = {**reply_to, "thread_ts": output_of(tasks.AGENT_REQUEST, "thread_ts")}

    with batchorch_dag(
        dag_id,
        description="A chat request in plain words -> approval when big -> the batch -> results in Slack.",
        doc_md=DOC_MD,
        params=chat_params(),
        tags=("batchorch", "chat"),
        default_args=default_args,
        **dag_kwargs,
    ) as dag:
        request = ChatAgentOperator(
            task_id=tasks.AGENT_REQUEST,
            text="{{ params.text }}",
            retry_of="{{ params.retry_of }}",
            user_id="{{ params.user_id }}",
            team_id="{{ params.team_id }}",
            policy=policy.model_dump(mode="json"),
            registry_table=options.registry_table,
            llm_conn_id=llm_conn_id,
            **reply_to,
            **aws,
        )
        pipeline = add_batch_pipeline_tasks(request=output_of(request, "request"), options=options)
        approve = BatchApprovalOperator(
            task_id=tasks.APPROVE_BATCH,
            profile=output_of(pipeline.analyze, "profile"),
            agent=output_of(pipeline.validate, "agent"),
            request=output_of(pipeline.analyze, "request"),
            thresholds=thresholds.model_dump(mode="json"),
            response_timeout=approval_timeout,
            **in_thread,
        )
        progress = SlackBatchProgressOperator(
            task_id=tasks.REPORT_PROGRESS,
            execution_arn=output_of(pipeline.execute),
            config=output_of(pipeline.configure, "config"),
            progress_table=names.progress_table,
            interval=progress_interval,
            **in_thread,
            **aws,
        )
        merge = MergeRetriedRowsOperator(
            task_id=tasks.MERGE_RETRY,
            retry_plan=output_of(request, "retry_plan"),
            summary=output_of(pipeline.results),
            **aws,
        )
        post_results = SlackBatchSummaryOperator(
            task_id=tasks.POST_RESULTS,
            summary=output_of(pipeline.results),
            retry_outcome=output_of(merge),
            link_seconds=link_seconds,
            **in_thread,
            **aws,
        )
        chain(request, pipeline.analyze, pipeline.validate, pipeline.gate, pipeline.golden_approval, approve,
              pipeline.configure, pipeline.batch_api,
              pipeline.execute, [pipeline.monitor, progress], pipeline.results, merge, post_results)
    return dag
