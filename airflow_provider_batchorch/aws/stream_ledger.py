"""The stream ledger (one DynamoDB table): which ids are answered, which part holds each, and worker progress.

Items (``pk``, ``sk``):

- ``<stream>#<id>``, ``row``: the id's output row and ``sent``, written once its result is on the destination
  queue (a redelivery then sends nothing and writes this row to its part), and ``part`` once a part claimed it
  (a conditional write: one part per id);
- ``<stream>#<part uri>``, ``part``: the part's manifest, the ids it was meant to hold, written before any
  claim, so that anyone can rebuild a part whose writer died: the manifest's ids that the part claimed, with
  their kept rows, in manifest order, which is what the writer writes too;
- ``<stream>#workers``, ``<worker id>``: each worker's ``WorkerStreamStats``.
"""

from __future__ import annotations

import json

from botocore.exceptions import ClientError
from pydantic import BaseModel

from airflow_provider_batchorch.aws.dynamodb_tables import ensure_table
from airflow_provider_batchorch.core.stream.stats import WorkerStreamStats

ROW_SK = "row"
PART_SK = "part"
BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25


class LedgerEntry(BaseModel):
    row: list[str] | None = None
    sent: bool = False
    part: str | None = None


def ensure_ledger_table(ddb, table: str) -> str:
    return ensure_table(
        ddb,
        table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
    )


class StreamLedger:
    """The ledger's reads and writes, each for many ids at once (one stream worker batches its rows in flight)."""

    def __init__(self, ddb, table: str, stream_id: str) -> None:
        self.ddb, self.table, self.stream_id = ddb, table, stream_id

    def _key(self, name: str, sk: str) -> dict:
        return {"pk": {"S": f"{self.stream_id}#{name}"}, "sk": {"S": sk}}

    def entries(self, message_ids: list[str]) -> list[LedgerEntry | None]:
        """Each id's entry (None: never seen), in order."""
        found = self._rows(list(dict.fromkeys(message_ids)))
        return [found.get(message_id) for message_id in message_ids]

    def _rows(self, unique_ids: list[str]) -> dict[str, LedgerEntry]:
        found: dict[str, LedgerEntry] = {}
        for start in range(0, len(unique_ids), BATCH_GET_LIMIT):
            keys = [self._key(message_id, ROW_SK) for message_id in unique_ids[start:start + BATCH_GET_LIMIT]]
            request = {self.table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self.ddb.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.table, []):
                    found[item["pk"]["S"].split("#", 1)[1]] = _entry(item)
                request = response.get("UnprocessedKeys") or None
        return found

    def record_sent(self, answers: list[tuple[str, list[str]]]) -> list[None]:
        """Record that each id's row was sent to the destination: a redelivery sends it no more and writes this
        row to its part. (An item is written whole; this comes before any part claims the id.)"""
        items = {message_id: {**self._key(message_id, ROW_SK), "row": {"S": json.dumps(row)}, "sent": {"BOOL": True}}
                 for message_id, row in answers}
        pending = [{"PutRequest": {"Item": item}} for item in items.values()]
        while pending:
            batch, pending = pending[:BATCH_WRITE_LIMIT], pending[BATCH_WRITE_LIMIT:]
            response = self.ddb.batch_write_item(RequestItems={self.table: batch})
            pending = response.get("UnprocessedItems", {}).get(self.table, []) + pending
        return [None] * len(answers)

    def claim(self, message_ids: list[str], part: str) -> set[str]:
        """Put the id in ``part``; returns those it got (not those another part holds already: a concurrent
        duplicate delivery). One conditional write per id: DynamoDB has no conditional batch but transactions,
        which moto runs in time proportional to the table (docs/embedded_emulator.md)."""
        won = set()
        for message_id in dict.fromkeys(message_ids):
            try:
                self.ddb.update_item(TableName=self.table, Key=self._key(message_id, ROW_SK),
                                     UpdateExpression="SET part = :p",
                                     ConditionExpression="attribute_not_exists(part) OR part = :p",
                                     ExpressionAttributeValues={":p": {"S": part}})
                won.add(message_id)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        return won

    def write_manifest(self, part: str, message_ids: list[str]) -> None:
        self.ddb.put_item(TableName=self.table, Item={**self._key(part, PART_SK),
                                                      "ids": {"S": json.dumps(message_ids)}})

    def manifest(self, part: str) -> list[str]:
        item = self.ddb.get_item(TableName=self.table, Key=self._key(part, PART_SK), ConsistentRead=True).get("Item")
        return json.loads(item["ids"]["S"]) if item else []

    def claimed_rows(self, part: str) -> list[tuple[str, list[str]]]:
        """The part's rows as its writer writes them: the manifest's ids that it claimed, in manifest order."""
        ids = list(dict.fromkeys(self.manifest(part)))
        entries = self._rows(ids)
        return [(message_id, entries[message_id].row) for message_id in ids
                if message_id in entries and entries[message_id].part == part and entries[message_id].row is not None]

    def put_worker_stats(self, stats: WorkerStreamStats) -> None:
        self.ddb.put_item(TableName=self.table, Item={**self._key("workers", stats.worker_id),
                                                      "stats": {"S": stats.model_dump_json()}})

    def worker_stats(self) -> list[WorkerStreamStats]:
        found, start = [], None
        while True:
            kwargs = {"ExclusiveStartKey": start} if start else {}
            response = self.ddb.query(TableName=self.table, KeyConditionExpression="pk = :pk",
                                      ExpressionAttributeValues={":pk": {"S": f"{self.stream_id}#workers"}}, **kwargs)
            found += [WorkerStreamStats.model_validate_json(item["stats"]["S"]) for item in response["Items"]]
            start = response.get("LastEvaluatedKey")
            if not start:
                return found


def _entry(item: dict) -> LedgerEntry:
    return LedgerEntry(row=json.loads(item["row"]["S"]) if "row" in item else None,
                       sent=item.get("sent", {}).get("BOOL", False), part=item.get("part", {}).get("S"))
