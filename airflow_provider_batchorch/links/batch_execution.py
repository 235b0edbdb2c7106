"""Console link to the batch's Step Functions execution."""

from __future__ import annotations

from urllib.parse import quote_plus

from airflow.providers.amazon.aws.links.base_aws import BASE_AWS_CONSOLE_LINK, BaseAwsLink


class BatchExecutionLink(BaseAwsLink):
    """The batch's execution in the Step Functions console (map run, chunk states, errors)."""

    name = "Step Functions Execution"
    key = "_batchorch_execution"
    format_str = (
        BASE_AWS_CONSOLE_LINK + "/states/home?region={region_name}#/v2/executions/details/{execution_arn}"
    )

    def format_link(self, *, execution_arn: str | None = None, **kwargs) -> str:
        if not execution_arn:
            return ""
        return super().format_link(execution_arn=quote_plus(execution_arn), **kwargs)

    @classmethod
    def persist_for(cls, context, operator, execution_arn: str | None) -> None:
        """Record the link of ``operator`` (an AWS operator or sensor: its hook gives region and partition)."""
        cls.persist(
            context=context,
            operator=operator,
            region_name=operator.hook.conn_region_name,
            aws_partition=operator.hook.conn_partition,
            execution_arn=execution_arn,
        )
