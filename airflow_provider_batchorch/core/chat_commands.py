"""What a chat message asks for: a follow-up on an earlier run, help, or a new batch request (free text).

    parse_chat_command("status slack-1a2b3c")      -> ChatCommand(kind="status", run_id="slack-1a2b3c")
    parse_chat_command("why did run slack-1a2b3c fail?") -> kind="failures"
    parse_chat_command("enrich s3://b/c.csv ...")  -> kind="request", text=...
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

CommandKind = Literal["request", "status", "failures", "retry_failed", "help"]

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

HELP_TEXT = """\
Run an agent with structured output over every row of a CSV:
- `/enrich s3://my-data/companies.csv with industry and employee count, 25 parallel workers`
- `/enrich classify the tickets in s3://support/tickets.csv by category and priority`
Follow up on a run:
- `status <run>`: where it is, or its results
- `failures <run>`: why rows failed
- `retry-failed <run>`: run the failed rows again"""


class ChatCommand(BaseModel):
    kind: CommandKind
    text: str = ""
    run_id: str | None = Field(None, description="None: the latest run this user started in this channel")


def parse_chat_command(text: str) -> ChatCommand:
    text = (text or "").strip()
    if _HELP.match(text):
        return ChatCommand(kind="help", text=text)
    for kind, pattern in _FOLLOW_UPS:
        match = pattern.match(text)
        if match:
            return ChatCommand(kind=kind, text=text, run_id=match.group("run"))
    return ChatCommand(kind="request", text=text)
