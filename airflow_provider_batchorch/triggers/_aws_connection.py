"""The AWS connection a trigger builds its hook from, kept and serialised the same way by every trigger.

A trigger's ``serialize()`` kwargs are stored in the Airflow DB (deferred tasks; an ``AssetWatcher``'s trigger is
also identified by them), so each trigger names the fields it has always serialised in ``aws_connection_fields``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_batchorch.hooks.batchorch import BatchorchHook


class AwsConnectionFields:
    """Mixin for triggers: ``aws_conn_id``, ``region_name``, ``verify``, ``botocore_config``, their kwargs and hook."""

    aws_connection_fields: ClassVar[tuple[str, ...]] = ("aws_conn_id", "region_name", "verify", "botocore_config")

    def set_aws_connection(self, *, aws_conn_id: str | None, region_name: str | None, verify: bool | str | None = None,
                           botocore_config: dict | None = None) -> None:
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = botocore_config

    def aws_connection_kwargs(self) -> dict[str, Any]:
        """The connection fields for ``serialize()``, as ``__init__`` takes them back."""
        return {name: getattr(self, name) for name in self.aws_connection_fields}

    def hook(self) -> BatchorchHook:
        return BatchorchHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify,
                             config=self.botocore_config)
