"""BatchorchHook: every boto3 client from one Airflow AWS connection; the console link to the execution."""

from __future__ import annotations

from airflow_provider_batchorch.hooks.batchorch import BatchorchHook
from airflow_provider_batchorch.links.batch_execution import BatchExecutionLink


def test_one_connection_gives_every_client(aws_conn):
    hook = BatchorchHook(aws_conn_id="aws_default")
    clients = {"s3": hook.s3, "stepfunctions": hook.sfn, "sqs": hook.sqs, "dynamodb": hook.dynamodb}
    for service, client in clients.items():
        assert client.meta.service_model.service_name == service
        assert client.meta.endpoint_url == aws_conn.endpoint_url
    assert hook.s3 is hook.s3 and hook.sfn is hook.conn
    assert (hook.conn_region_name, hook.conn_partition) == ("us-east-1", "aws")
    assert aws_conn.bucket in [b["Name"] for b in hook.s3.list_buckets()["Buckets"]]


def test_execution_link_points_at_the_console():
    arn = "arn:aws:states:eu-west-1:123456789012:execution:batchorch-processor:run-1"
    url = BatchExecutionLink().format_link(region_name="eu-west-1", aws_domain="aws.amazon.com", execution_arn=arn)
    assert url == (
        "https://console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/"
        "arn%3Aaws%3Astates%3Aeu-west-1%3A123456789012%3Aexecution%3Abatchorch-processor%3Arun-1"
    )
    assert BatchExecutionLink().format_link(region_name="eu-west-1", aws_domain="aws.amazon.com") == ""
