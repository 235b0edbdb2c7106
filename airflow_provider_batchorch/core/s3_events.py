"""Which CSVs landed in S3, from the S3 event notifications an SQS queue received.

Three shapes reach the queue: an S3 notification (``{"Records": [{"eventName": "ObjectCreated:Put", "s3": ...}]}``),
the same wrapped by SNS (``{"Type": "Notification", "Message": "<json>"}``), and an EventBridge event
(``{"detail-type": "Object Created", "detail": {"bucket": ..., "object": ...}}``). S3's ``s3:TestEvent`` and
anything else is ignored. Keys arrive URL-encoded (``+`` for a space) and are decoded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus


def created_object_uris(message_body: str | Mapping[str, Any]) -> list[str]:
    """The ``s3://`` URIs of the objects created according to one SQS message body, in record order."""
    try:
        body = json.loads(message_body) if isinstance(message_body, str) else message_body
    except ValueError:
        return []
    if not isinstance(body, Mapping):
        return []
    if body.get("Type") == "Notification" and isinstance(body.get("Message"), str):
        return created_object_uris(body["Message"])
    if body.get("detail-type") == "Object Created":
        detail = body.get("detail") or {}
        return [_uri(detail.get("bucket", {}).get("name"), detail.get("object", {}).get("key"))]
    return [
        _uri(record["s3"]["bucket"]["name"], record["s3"]["object"]["key"])
        for record in body.get("Records") or []
        if str(record.get("eventName", "")).startswith("ObjectCreated") and "s3" in record
    ]


def csv_uris_from_sqs_messages(messages: Iterable[Mapping[str, Any]], suffix: str = ".csv") -> list[str]:
    """The created objects ending with ``suffix`` (case-insensitive) in SQS messages (``receive_message`` items)."""
    uris = (uri for message in messages for uri in created_object_uris(message.get("Body", "")))
    return [uri for uri in uris if uri.lower().endswith(suffix.lower())]


def csv_uris_from_asset_event_extras(extras: Iterable[Mapping[str, Any] | None]) -> list[str]:
    """The CSVs named by the asset events an ``AssetWatcher`` created, oldest first. Airflow stores the trigger's
    event in ``extra["payload"]``: ``csv_uris`` from our ``NewCsvTrigger``, or the Amazon provider's
    ``SqsSensorTrigger``'s ``message_batch``."""
    uris: list[str] = []
    for extra in extras:
        payload = (extra or {}).get("payload") or {}
        uris += payload.get("csv_uris") or csv_uris_from_sqs_messages(payload.get("message_batch") or [])
    return uris


def _uri(bucket: str | None, key: str | None) -> str:
    return f"s3://{bucket}/{unquote_plus(key or '')}"
