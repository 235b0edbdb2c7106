"""A managed schedule: a recurring enrichment created from chat (or by an operator), kept in DynamoDB
(``aws/schedule_records.py``) and turned into one DAG per schedule by ``dag_builders/managed_schedules.py``.

It is bound to who created it, as runs are: the Slack user and workspace of the verified request. Only they (or a
``BATCHORCH_SLACK_ADMINS`` user) see and remove it from chat; the CLI (an operator) sees and removes all.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from typing import Any

from croniter import croniter
from pydantic import BaseModel, Field, field_validator

from airflow_provider_batchorch.core.chat.commands import Requester

SCHEDULES_TABLE_ENV = "BATCHORCH_SCHEDULES_TABLE"
DAG_ID_PREFIX = "batch_schedule_"
_SCHEDULE_ID = re.compile(r"^sched-[a-z0-9]{10}$")


class ManagedSchedule(BaseModel):
    """One recurring enrichment."""

    schedule_id: str = Field(description="sched-<10 hex>: derived from the request that created it")
    cron: str = Field(description="Five-field cron, UTC")
    phrase: str = Field("", description="The words it was asked with ('every weekday at 6:00'); shown, never parsed again")
    request: dict[str, Any] = Field(description="The policy-checked BatchRequest each run enriches (JSON)")
    owner: Requester = Field(default_factory=Requester, description="Who created it (from the verified Slack request)")
    created_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))

    @field_validator("schedule_id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _SCHEDULE_ID.match(value):
            raise ValueError(f"schedule_id {value!r} is not sched-<10 lowercase hex>")
        return value

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a five-field cron expression")
        return value

    @property
    def dag_id(self) -> str:
        return DAG_ID_PREFIX + self.schedule_id.replace("-", "_")

    def line(self) -> str:
        """One line for a list: id, cron, phrase, CSV, agent."""
        words = f" ({self.phrase})" if self.phrase else ""
        return (f"`{self.schedule_id}`  `{self.cron}`{words}  {self.request.get('csv_uri')} with "
                f"{self.request.get('agent')}  (DAG `{self.dag_id}`)")


def schedule_id_for(request_id: str) -> str:
    """The schedule id a request creates: the same for a replay of the same signed request."""
    return "sched-" + hashlib.sha256(request_id.encode()).hexdigest()[:10]
