"""What arrives on a stream's source queue (``StreamMessage``) and what is answered on its destination
(``StreamResult``).

A message body is JSON: ``{"id": "order-17", "row": {"text": "..."}, "sent_at": 1767312000.25}``. ``id`` names
the row: it is answered exactly once, however often it is delivered or sent (an absent id: SQS's MessageId).
``sent_at`` (epoch seconds, by the producer) is where the row's latency is measured from; absent: SQS's
SentTimestamp. A body that is not such JSON is still answered: a FAILED row with INVALID_STREAM_MESSAGE, as a
batch returns a row it cannot process. Cells are data, never instructions (docs/security.md).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from airflow_provider_batchorch.core.errors import StreamMessageError

Cell = str | int | float | bool | None
MAX_ID_LENGTH = 128


class StreamMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=MAX_ID_LENGTH, description="The row's id, answered exactly once")
    row: dict[str, Cell] = Field(description="Column -> cell; numbers and booleans are written as text")
    sent_at: float | None = Field(None, description="When the producer sent it (epoch seconds)")

    def cells(self) -> dict[str, str]:
        """The row as a CSV row reads: every cell text, an absent or null cell empty."""
        return {key: "" if value is None else _text(value) for key, value in self.row.items()}


class StreamResult(BaseModel):
    """The destination queue's message body: the output row under the stream's output header."""

    id: str
    status: str
    result: dict[str, str] = Field(description="Output header -> cell, as in the output parts")
    sent_at: float | None = None
    answered_at: float


def _text(value: Cell) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_message(body: str, *, message_id: str, sent_timestamp: float | None) -> tuple[StreamMessage, str | None]:
    """The message, and ``None`` or the reason it is invalid (then its row is empty and the id is the body's
    ``id`` when there is one, else SQS's ``message_id``)."""
    try:
        data: Any = json.loads(body)
    except ValueError as exc:
        return _invalid(None, message_id, sent_timestamp, f"the body is not JSON ({exc.msg})")
    if not isinstance(data, dict):
        return _invalid(None, message_id, sent_timestamp, "the body is not a JSON object")
    data.setdefault("id", message_id)
    try:
        message = StreamMessage.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:3])
        return _invalid(data.get("id"), message_id, sent_timestamp, problems)
    if message.sent_at is None:
        message.sent_at = sent_timestamp
    return message, None


def _invalid(candidate: Any, message_id: str, sent_timestamp: float | None,
             reason: str) -> tuple[StreamMessage, str]:
    row_id = candidate if isinstance(candidate, str) and 0 < len(candidate) <= MAX_ID_LENGTH else message_id
    return StreamMessage(id=row_id, row={}, sent_at=sent_timestamp), reason


def invalid_message_error(reason: str) -> StreamMessageError:
    return StreamMessageError("Invalid stream message", detail=reason[:500])
