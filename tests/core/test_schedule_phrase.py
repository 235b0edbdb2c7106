"""Schedule phrases in words -> cron (UTC), validated with croniter; a phrase with an impossible time is refused."""

from __future__ import annotations

import pytest

from airflow_provider_batchorch.core.chat.commands import parse_chat_command
from airflow_provider_batchorch.core.errors import SchedulePhraseError
from airflow_provider_batchorch.core.schedule_phrase import find_schedule, schedule_cron


@pytest.mark.parametrize("text, cron", [
    ("every weekday at 6:00", "0 6 * * 1-5"),
    ("enrich s3://b/c.csv every weekday at 06:30 with industry", "30 6 * * 1-5"),
    ("every day at 18:30", "30 18 * * *"),
    ("daily", "0 0 * * *"),
    ("every day at noon", "0 12 * * *"),
    ("every night at 11pm", "0 23 * * *"),
    ("every weekend at 9am", "0 9 * * 0,6"),
    ("every monday and thursday at 6pm", "0 18 * * 1,4"),
    ("every fridays at 12am", "0 0 * * 5"),
    ("every week", "0 0 * * 1"),
    ("every month on the 15th at 7:05", "5 7 15 * *"),
    ("monthly", "0 0 1 * *"),
    ("hourly", "0 * * * *"),
    ("every 2 hours", "0 */2 * * *"),
    ("every 15 minutes", "*/15 * * * *"),
])
def test_documented_phrases(text, cron):
    assert schedule_cron(text) == cron


@pytest.mark.parametrize("text", ["every day at 25:00", "every weekday at 6:75", "every 90 minutes",
                                  "every day at 13pm", "every month on the 32nd"])
def test_an_impossible_time_is_refused_naming_it(text):
    with pytest.raises(SchedulePhraseError) as refused:
        find_schedule(text)
    assert refused.value.code == "INVALID_SCHEDULE" and "e.g." in refused.value.hint


def test_text_without_a_phrase_is_no_schedule():
    assert find_schedule("enrich s3://b/every-day.csv with industry") is None
    with pytest.raises(SchedulePhraseError):
        schedule_cron("whenever you like")


@pytest.mark.parametrize("text, kind, schedule_id", [
    ("every weekday at 6:00 enrich s3://b/c.csv", "schedule", None),
    ("enrich s3://b/c.csv every day at 25:00", "schedule", None),  # creating it says why not
    ("schedules", "schedules", None),
    ("list my schedules", "schedules", None),
    ("unschedule sched-0a1b2c3d4e", "unschedule", "sched-0a1b2c3d4e"),
    ("remove schedule SCHED-0A1B2C3D4E", "unschedule", "sched-0a1b2c3d4e"),
    ("enrich s3://b/c.csv", "request", None),
    ("status slack-0612-1", "status", None),
])
def test_chat_commands_for_schedules(text, kind, schedule_id):
    command = parse_chat_command(text)
    assert (command.kind, command.schedule_id) == (kind, schedule_id)
