"""A recurring schedule in words -> a cron expression (UTC), validated with ``croniter``.

No maintained library turns English into cron, so this reads the phrases below and nothing else (any other
wording is not a schedule). Times are 24-hour or am/pm, in UTC.

    every day / daily [at 6:00]            -> 0 6 * * *      (no time: midnight)
    every weekday [at 6:00]                -> 0 6 * * 1-5
    every weekend [at 9am]                 -> 0 9 * * 0,6
    every monday [and thursday] [at 18:30] -> 30 18 * * 1,4  (weekday names, plural too: "every mondays")
    every week / weekly [at ...]           -> on mondays
    every month / monthly [on the 15th] [at ...]
    every hour / hourly                    -> 0 * * * *
    every 2 hours / every 15 minutes       -> 0 */2 * * * / */15 * * * *   (hours 1-23, minutes 1-59)
    at noon / at midnight                  -> 12:00 / 00:00
"""

from __future__ import annotations

import re

from croniter import croniter
from pydantic import BaseModel, Field

from airflow_provider_batchorch.core.errors import SchedulePhraseError

_DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
_DAY = r"(?:sun|mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?)(?:day)?s?"
_TIME = r"(?:\s+at\s+(?P<time>noon|midnight|\d{1,2}(?::\d{2})?\s*(?:am|pm)?))?(?:\s*utc)?"
_PATTERNS = [
    ("every", re.compile(rf"\bevery\s+(?P<count>\d{{1,2}})\s+(?P<unit>minutes?|hours?)\b", re.I)),
    ("hourly", re.compile(r"\b(?:every\s+hour|hourly)\b", re.I)),
    ("weekday", re.compile(rf"\bevery\s+(?:weekday|work\s*day|business\s+day)s?{_TIME}", re.I)),
    ("weekend", re.compile(rf"\bevery\s+weekends?{_TIME}", re.I)),
    ("days", re.compile(rf"\bevery\s+(?P<days>{_DAY}(?:\s*(?:,|and|&)\s*{_DAY})*){_TIME}", re.I)),
    ("daily", re.compile(rf"\b(?:every\s+day|daily|every\s+morning|every\s+night|nightly){_TIME}", re.I)),
    ("weekly", re.compile(rf"\b(?:every\s+week|weekly){_TIME}", re.I)),
    ("monthly", re.compile(rf"\b(?:every\s+month|monthly)(?:\s+on\s+the\s+(?P<dom>\d{{1,2}})(?:st|nd|rd|th)?)?{_TIME}",
                           re.I)),
]


class SchedulePhrase(BaseModel):
    """Where a schedule phrase is in a text, and its cron."""

    phrase: str = Field(description="The words as written, e.g. 'every weekday at 6:00'")
    cron: str = Field(description="Five-field cron, UTC")
    start: int
    end: int


def find_schedule(text: str) -> SchedulePhrase | None:
    """The first schedule phrase in ``text`` (the earliest, longest match), or None when it names none.

    :raises SchedulePhraseError: A phrase with an impossible time ("at 25:00") or count ("every 90 minutes").
    """
    found = [(match.start(), -match.end(), kind, match) for kind, pattern in _PATTERNS
             if (match := pattern.search(text or ""))]
    if not found:
        return None
    _, _, kind, match = min(found, key=lambda item: item[:2])
    cron = _cron(kind, match)
    if not croniter.is_valid(cron):
        raise SchedulePhraseError(f"{match.group(0)!r} gives {cron!r}, which is not a valid schedule.",
                                  hint="Say e.g. 'every weekday at 6:00' or 'every day at 18:30'.")
    return SchedulePhrase(phrase=match.group(0).strip(), cron=cron, start=match.start(), end=match.end())


def schedule_cron(text: str) -> str:
    """The cron of the schedule phrase in ``text``; refused when there is none."""
    found = find_schedule(text)
    if found is None:
        raise SchedulePhraseError(f"{text!r} names no schedule I can read.",
                                  hint="Say e.g. 'every weekday at 6:00', 'every day at 18:30', 'every monday', "
                                       "'every 2 hours' (UTC).")
    return found.cron


def _cron(kind: str, match: re.Match) -> str:
    if kind == "every":
        count, unit = int(match.group("count")), match.group("unit").lower()
        top = 59 if unit.startswith("minute") else 23
        if not 1 <= count <= top:
            raise SchedulePhraseError(f"{match.group(0)!r}: every 1 to {top} {unit.rstrip('s')}s.",
                                      hint="Say e.g. 'every 15 minutes' or 'every 2 hours'.")
        return f"*/{count} * * * *" if unit.startswith("minute") else f"0 */{count} * * *"
    if kind == "hourly":
        return "0 * * * *"
    minute, hour = _time(match)
    day_of_month, days = "*", "*"
    if kind == "weekday":
        days = "1-5"
    elif kind == "weekend":
        days = "0,6"
    elif kind == "weekly":
        days = "1"
    elif kind == "days":
        days = ",".join(str(n) for n in sorted({_day_number(word) for word in re.findall(_DAY, match.group("days"),
                                                                                          re.I)}))
    elif kind == "monthly":
        day_of_month = str(int(match.group("dom") or 1))
        if not 1 <= int(day_of_month) <= 31:
            raise SchedulePhraseError(f"{match.group(0)!r}: a day of the month is 1 to 31.",
                                      hint="Say e.g. 'every month on the 1st at 6:00'.")
    return f"{minute} {hour} {day_of_month} * {days}"


def _day_number(word: str) -> int:
    word = word.lower()
    return next(index for index, day in enumerate(_DAYS) if day.startswith(word[:3]))


def _time(match: re.Match) -> tuple[int, int]:
    raw = (match.groupdict().get("time") or "midnight").lower().replace(" ", "")
    if raw in ("noon", "midnight"):
        return 0, 12 if raw == "noon" else 0
    suffix = raw[-2:] if raw.endswith(("am", "pm")) else ""
    hours, _, minutes = raw.removesuffix(suffix).partition(":")
    hour, minute = int(hours), int(minutes or 0)
    if suffix and not 1 <= hour <= 12:
        hour = 99
    elif suffix:
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise SchedulePhraseError(f"{match.group(0)!r}: {raw} is not a time of day.",
                                  hint="Say e.g. 'at 6:00', 'at 18:30' or 'at 6pm' (UTC).")
    return minute, hour
