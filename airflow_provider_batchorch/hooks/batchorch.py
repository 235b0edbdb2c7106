"""One Airflow AWS connection, every boto3 client the batch needs."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook


class BatchorchHook(AwsBaseHook):
    """boto3 clients for S3, Step Functions, SQS and DynamoDB from ONE Airflow AWS connection.

    Credentials, region and ``endpoint_url`` (the embedded moto server, LocalStack, ...) come from the
    connection's extra, as for every Amazon provider hook; a per-service ``service_config`` endpoint wins.
    The hook's own ``conn`` is the Step Functions client, so ``conn_region_name`` and ``conn_partition``
    (used by console links) describe it.

    :param aws_conn_id: The Airflow AWS connection, ``aws_default`` by default.
    """

    hook_name = "Batchorch (AWS)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "stepfunctions"
        super().__init__(*args, **kwargs)

    def client_for(self, service: str, config: Any = None):
        """A new boto3 client for ``service`` built from this hook's connection (session, endpoint, config);
        ``config`` (a botocore ``Config``) is merged over the connection's."""
        session = self.get_session(region_name=self.region_name)
        return session.client(
            service_name=service,
            endpoint_url=self.conn_config.get_service_endpoint_url(service_name=service),
            config=self.config.merge(config) if config is not None else self.config,
            verify=self.verify,
        )

    @cached_property
    def s3(self):
        return self.client_for("s3")

    @cached_property
    def sfn(self):
        return self.conn

    @cached_property
    def sqs(self):
        return self.client_for("sqs")

    @cached_property
    def s3_links(self):
        """S3 for presigned download links: always SigV4, so a link says its lifetime (``X-Amz-Expires``)."""
        from botocore.config import Config

        return self.client_for("s3", Config(signature_version="s3v4"))

    @cached_property
    def dynamodb(self):
        return self.client_for("dynamodb")
