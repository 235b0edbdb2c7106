"""What a chat message asks for: a follow-up on an earlier run, help, or a new batch request (free text).

    parse_chat_command("status slack-1a2b3c")      -> ChatCommand(kind="status", run_id="slack-1a2b3c")
    parse_chat_command("why did run slack-1a2b3c fail?") -> kind="failures"
    parse_chat_command("enrich s3://b/c.csv ...")  -> kind="request", text=...
    parse_chat_command("every weekday at 6:00 enrich s3://b/c.csv") -> kind="schedule" (a managed schedule)
    parse_chat_command("schedules") -> kind="schedules";  "unschedule sched-0a1b2c3d4e" -> kind="unschedule"
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field

CommandKind = Literal["request", "status", "failures", "retry_failed", "help", "schedule", "schedules",
                      "unschedule"]
SCHEDULE_KINDS = ("schedule", "schedules", "unschedule")

# An Airflow run id (letters, digits and _ . ~ : + -) with a letter and a digit, so "15" in "why did 15
# companies fail?" is not taken for one.
_RUN_ID = r"(?P<run>(?=[\w.~:+-]*\d)(?=[\w.~:+-]*[A-Za-z])[\w.~:+-]{4,})"
_RUN = rf"(?:\s+(?:of\s+|for\s+|in\s+)?(?:run\s+)?{_RUN_ID})?"
_FOLLOW_UPS: list[tuple[CommandKind, re.Pattern]] = [
    ("retry_failed", re.compile(rf"^(?:retry|rerun|reprocess)(?:[- _]?failed)?(?:\s+rows)?{_RUN}\s*[.!?]?$", re.I)),
    ("failures", re.compile(rf"^(?:failures?|errors?|failed\s+rows){_RUN}\s*[.!?]?$", re.I)),
    ("failures", re.compile(r"^why\b(?:.*?\b(?:run\s+)?" + _RUN_ID + r"\b)?.*\bfail", re.I)),
    ("status", re.compile(rf"^(?:status|progress){_RUN}\s*[.!?]?$", re.I)),
]
_HELP = re.compile(r"^\s*(?:help|\?|usage)?\s*$", re.I)
_SCHEDULES = re.compile(r"^(?:list\s+)?(?:my\s+)?schedules\s*[.!?]?$", re.I)
_UNSCHEDULE = re.compile(r"^(?:unschedule|(?:remove|delete|stop|cancel)\s+schedule)\s+(?P<id>sched-[a-z0-9]{10})\s*[.!?]?$",
                         re.I)

HELP_TEXT = """\
Run an agent with structured output over every row of a CSV:
- `/enrich s3://my-data/companies.csv with industry and employee count, 25 parallel workers`
- `/enrich classify the tickets in s3://support/tickets.csv by category and priority`
Follow up on a run:
- `status <run>`: where it is, or its results
- `failures <run>`: why rows failed
- `retry-failed <run>`: run the failed rows again
Recurring runs (UTC):
- `/enrich every weekday at 6:00 s3://my-data/companies.csv with industry`: a managed schedule
- `schedules`: yours; `unschedule <schedule>`: remove one"""


class ChatCommand(BaseModel):
    kind: CommandKind
    text: str = ""
    run_id: str | None = Field(None, description="None: the latest run this user started in this channel")
    schedule_id: str | None = Field(None, description="The managed schedule an unschedule names")


def parse_chat_command(text: str) -> ChatCommand:
    text = (text or "").strip()
    if _HELP.match(text):
        return ChatCommand(kind="help", text=text)
    for kind, pattern in _FOLLOW_UPS:
        match = pattern.match(text)
        if match:
            return ChatCommand(kind=kind, text=text, run_id=match.group("run"))
    if _SCHEDULES.match(text):
        return ChatCommand(kind="schedules", text=text)
    if match := _UNSCHEDULE.match(text):
        return ChatCommand(kind="unschedule", text=text, schedule_id=match.group("id").lower())
    if _names_a_schedule(text):
        return ChatCommand(kind="schedule", text=text)
    return ChatCommand(kind="request", text=text)


def _names_a_schedule(text: str) -> bool:
    from airflow_provider_batchorch.core.errors import SchedulePhraseError
    from airflow_provider_batchorch.core.schedule_phrase import find_schedule

    try:
        return find_schedule(text) is not None
    except SchedulePhraseError:
        return True  # asked for a schedule with an impossible time: creating it tells why


def request_run_id(timestamp: str, signature: str) -> str:
    """The run id a signed Slack request starts: ``slack-0612-143055-1a2b3c4d``, short enough to type.

    Derived from the request's timestamp and signature only, so a replay of the same request (same timestamp, same
    signature) names the same run and Airflow's unique run id refuses the second one, across API server workers
    and restarts. A different request (another body or another second) gets another id.
    """
    digest = hashlib.sha256(f"{timestamp}:{signature}".encode()).hexdigest()[:8]
    sent = datetime.fromtimestamp(int(timestamp), tz=timezone.utc)
    return f"slack-{sent:%m%d-%H%M%S}-{digest}"


class Requester(BaseModel):
    """Who sent a chat request, from the verified Slack payload (never from the message text)."""

    user_id: str | None = None
    team_id: str | None = None
    channel_id: str | None = None

    @classmethod
    def of_run(cls, conf: Mapping[str, Any] | None) -> "Requester":
        """Who started a run, as the Slack plugin recorded it in the run's conf."""
        conf = conf or {}
        return cls(**{name: conf.get(name) or None for name in cls.model_fields})

    def owns(self, run: "Requester") -> bool:
        """The same Slack user in the same workspace (a run started outside Slack has no owner)."""
        return bool(self.user_id and self.team_id) and (self.user_id, self.team_id) == (run.user_id, run.team_id)

    def may_follow_up(self, run: "Requester", admins: Iterable[str] = ()) -> bool:
        """Whether this requester may look at or act on ``run``: its owner, or a user on the admin list."""
        return self.owns(run) or (self.user_id is not None and self.user_id in set(admins))


def id_set(text: str | None) -> frozenset[str]:
    """A comma separated list of Slack ids (``"U1, U2"``) as a set."""
    return frozenset(part.strip() for part in (text or "").split(",") if part.strip())
