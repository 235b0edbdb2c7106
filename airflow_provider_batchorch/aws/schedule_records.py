"""Managed schedules in a DynamoDB table (``BATCHORCH_SCHEDULES_TABLE``, e.g. ``batchorch-schedules``):
partition key ``schedule_id``, the ``ManagedSchedule`` JSON in ``record``."""

from __future__ import annotations

import os

from botocore.exceptions import ClientError

from airflow_provider_batchorch.aws.dynamodb_tables import ensure_table
from airflow_provider_batchorch.core.managed_schedule import SCHEDULES_TABLE_ENV, ManagedSchedule


def schedules_table_name() -> str | None:
    """The table, or None when managed schedules are not configured (no DynamoDB call is made then)."""
    return os.environ.get(SCHEDULES_TABLE_ENV) or None


class ScheduleStore:
    """Read and write the managed schedules of one table."""

    def __init__(self, ddb, table: str) -> None:
        self.ddb, self.table = ddb, table

    def ensure(self) -> "ScheduleStore":
        ensure_table(self.ddb, self.table, KeySchema=[{"AttributeName": "schedule_id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "schedule_id", "AttributeType": "S"}])
        return self

    def add(self, schedule: ManagedSchedule) -> bool:
        """Store ``schedule`` unless one with its id exists (a replayed request). ``False``: it existed."""
        try:
            self.ddb.put_item(TableName=self.table, Item={"schedule_id": {"S": schedule.schedule_id},
                                                           "record": {"S": schedule.model_dump_json()}},
                              ConditionExpression="attribute_not_exists(schedule_id)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, schedule_id: str) -> ManagedSchedule | None:
        item = self.ddb.get_item(TableName=self.table, Key={"schedule_id": {"S": schedule_id}},
                                 ConsistentRead=True).get("Item")
        return ManagedSchedule.model_validate_json(item["record"]["S"]) if item else None

    def list(self) -> list[ManagedSchedule]:
        """Every schedule, oldest first. A table that does not exist yet has none."""
        schedules, request = [], {"TableName": self.table, "ConsistentRead": True}
        try:
            while True:
                page = self.ddb.scan(**request)
                schedules += [ManagedSchedule.model_validate_json(item["record"]["S"]) for item in page["Items"]]
                if "LastEvaluatedKey" not in page:
                    break
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return []
            raise
        return sorted(schedules, key=lambda schedule: (schedule.created_at, schedule.schedule_id))

    def remove(self, schedule_id: str) -> bool:
        """``False``: there was no such schedule."""
        answer = self.ddb.delete_item(TableName=self.table, Key={"schedule_id": {"S": schedule_id}},
                                      ReturnValues="ALL_OLD")
        return "Attributes" in answer
