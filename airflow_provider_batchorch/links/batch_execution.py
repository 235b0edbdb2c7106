"""The "Step Functions Execution" extra link: the AWS console, or the local dashboard on an emulator.

On AWS the link opens the execution in the Step Functions console (map run, chunk states, errors). When the
task's AWS connection has an ``endpoint_url`` (the embedded moto server, ``batchorch local up``, LocalStack)
there is no console to open: the link goes to the batch's row on the dashboard plugin
(``/batchorch-dashboard/#batch-<batch_id>``), under the API server's ``[api] base_url`` when one is set.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, quote_plus

from airflow.providers.amazon.aws.links.base_aws import BASE_AWS_CONSOLE_LINK, BaseAwsLink

# The dashboard plugin's mount point and row anchors (plugins/dashboard.py, templates/dashboard.html).
DASHBOARD_URL_PREFIX = "/batchorch-dashboard"
DASHBOARD_ROW_ANCHOR = "batch-"


def dashboard_job_url(batch_id: str | None, base_url: str = "") -> str:
    """The dashboard page, scrolled to ``batch_id``'s row (the page itself when the batch is not known)."""
    page = f"{base_url.rstrip('/')}{DASHBOARD_URL_PREFIX}/"
    return f"{page}#{DASHBOARD_ROW_ANCHOR}{quote(batch_id, safe='')}" if batch_id else page


def _api_base_url() -> str:
    from airflow.configuration import conf

    return conf.get("api", "base_url", fallback="") or ""


class BatchExecutionLink(BaseAwsLink):
    """The batch's execution in the Step Functions console, or its row on the local dashboard."""

    name = "Step Functions Execution"
    key = "_batchorch_execution"
    format_str = (
        BASE_AWS_CONSOLE_LINK + "/states/home?region={region_name}#/v2/executions/details/{execution_arn}"
    )

    def format_link(self, *, execution_arn: str | None = None, endpoint_url: str | None = None,
                    batch_id: str | None = None, **kwargs: Any) -> str:
        if not execution_arn:
            return ""
        if endpoint_url:
            return dashboard_job_url(batch_id, _api_base_url())
        return super().format_link(execution_arn=quote_plus(execution_arn), **kwargs)

    @classmethod
    def persist_for(cls, context, operator, execution_arn: str | None) -> None:
        """Record the link of ``operator`` (an AWS operator or sensor of a batch: its hook gives region,
        partition and endpoint; its ``config``, the ``BatchConfig`` dump, the batch id)."""
        cls.persist(
            context=context,
            operator=operator,
            region_name=operator.hook.conn_region_name,
            aws_partition=operator.hook.conn_partition,
            execution_arn=execution_arn,
            endpoint_url=operator.hook.conn_config.get_service_endpoint_url(service_name="stepfunctions"),
            batch_id=_batch_id_of(operator),
        )


def _batch_id_of(operator) -> str | None:
    config = getattr(operator, "config", None)
    if hasattr(config, "batch_id"):
        return config.batch_id
    return config.get("batch_id") if isinstance(config, dict) else None
