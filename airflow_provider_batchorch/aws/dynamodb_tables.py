"""Create a DynamoDB table unless it exists (emulator and local use; on AWS the CloudFormation stack does it)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


def ensure_table(ddb, table: str, **create_kwargs: Any) -> str:
    """Create ``table`` on demand billing with ``create_kwargs`` (KeySchema, AttributeDefinitions, ...) unless it
    exists, and wait until it is active. Safe when another process creates it at the same time."""
    try:
        ddb.describe_table(TableName=table)
        return table
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    try:
        ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST", **create_kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return table
