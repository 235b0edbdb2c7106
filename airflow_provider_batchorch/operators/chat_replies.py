"""Chat replies of a batch run: progress in the Slack thread while it runs, the results when it is done."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow_provider_batchorch.aws.polling import poll
from airflow_provider_batchorch.aws.progress import read_progress
from airflow_provider_batchorch.core.chat.replies import retry_message, summary_message
from airflow_provider_batchorch.core.execution_status import is_final
from airflow_provider_batchorch.core.models import BatchConfig, BatchSummary
from airflow_provider_batchorch.core.retry_failed import RetryOutcome
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook
from airflow_provider_batchorch.notifications.slack import (
    DEFAULT_SLACK_CONN_ID,
    SlackThread,
    link_ttl_seconds,
    presigned_url,
    slack_client,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

_THREAD_FIELDS = ("channel", "thread_ts", "response_url")


class _ChatReplyOperator(AwsBaseOperator[BatchorchHook]):
    """Where a chat run's replies go: the Slack connection, the channel, the thread, the response_url."""

    aws_hook_class = BatchorchHook

    def __init__(
        self,
        *,
        slack_conn_id: str | None = DEFAULT_SLACK_CONN_ID,
        channel: str | None = None,
        thread_ts: str | None = None,
        response_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.slack_conn_id = slack_conn_id
        self.channel = channel
        self.thread_ts = thread_ts
        self.response_url = response_url

    def thread(self) -> SlackThread:
        return SlackThread(slack_client(self.slack_conn_id), self.channel or None, thread_ts=self.thread_ts or None,
                           response_url=self.response_url or None)


class SlackBatchProgressOperator(_ChatReplyOperator):
    """Keep one progress message in the thread up to date while the batch runs (``interval`` seconds apart).

    It holds a worker slot for the length of the batch; it never fails the run (a problem reading progress or
    posting ends it early with a warning). It is retried (``retries`` 3 by default, 10 s apart): a restarted
    scheduler resets it (the LocalExecutor's worker died with the old one) and its new try may start before the
    restarted api-server answers, which fails the try without running it (tests/real_airflow/test_chat_across_restarts.py).

    :param execution_arn: ``execute_batch``'s return value. :param config: ``configure_batch``'s ``config``.
    :param progress_table: The processor's DynamoDB progress table.
    :return: The last ``Progress`` dump, or ``None``.
    """

    template_fields: Sequence[str] = aws_template_fields("execution_arn", "config", *_THREAD_FIELDS)

    def __init__(self, *, execution_arn: str, config: dict[str, Any] | str, progress_table: str,
                 interval: float = 30.0, **kwargs: Any) -> None:
        kwargs.setdefault("retries", 3)
        kwargs.setdefault("retry_delay", timedelta(seconds=10))
        super().__init__(**kwargs)
        self.execution_arn = execution_arn
        self.config = config
        self.progress_table = progress_table
        self.interval = interval

    def execute(self, context: Context) -> dict[str, Any] | None:
        thread = self.thread()
        if thread.client is None or not thread.channel:
            self.log.info("No Slack channel to report progress to")
            return None
        config = BatchConfig.model_validate(self.config)
        progress = None
        try:
            for progress in poll(lambda: read_progress(self.hook.sfn, self.hook.dynamodb, self.progress_table,
                                                       self.execution_arn, config),
                                 interval=self.interval, what=self.execution_arn, log=self.log):
                thread.report_progress(progress)
                if is_final(progress.status):
                    break
        except Exception as error:  # progress is a courtesy: the monitor task decides the run's outcome
            self.log.warning("Stopped reporting progress: %s", error)
        return progress.model_dump(mode="json") if progress else None


class SlackBatchSummaryOperator(_ChatReplyOperator):
    """Post the batch summary in the thread: counts, success rate, time, a download link, failure reasons.

    :param summary: ``get_results``' return value (a ``BatchSummary`` dump).
    :param retry_outcome: A retry's ``RetryOutcome`` dump (``merge_retry``): the merged output is linked too.
    :param link_seconds: How long the presigned download links stay valid; ``None``:
        ``BATCHORCH_SLACK_LINK_TTL_SECONDS`` where the task runs (default 900).
    """

    template_fields: Sequence[str] = aws_template_fields("summary", "retry_outcome", *_THREAD_FIELDS)

    def __init__(self, *, summary: dict[str, Any] | str, retry_outcome: dict[str, Any] | str | None = None,
                 link_seconds: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.summary = summary
        self.retry_outcome = retry_outcome
        self.link_seconds = link_seconds

    def execute(self, context: Context) -> str | None:
        summary = BatchSummary.model_validate(self.summary)
        seconds = self.link_seconds or link_ttl_seconds()
        text = summary_message(summary, context["run_id"],
                               presigned_url(self.hook.s3_links, summary.output_csv_uri, seconds), seconds)
        if self.retry_outcome:
            outcome = RetryOutcome.model_validate(self.retry_outcome)
            text += "\n" + retry_message(outcome, presigned_url(self.hook.s3_links, outcome.output, seconds))
        return self.thread().post(text)
