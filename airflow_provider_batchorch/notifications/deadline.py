"""A deadline on a batch DAG (Airflow's deadline alerts): when a run has not finished by then, Slack is told.

    build_batch_orchestrator_dag(deadline=batch_deadline(timedelta(hours=2), channel="C0123"))

The DAG files' ``batch_enrichment_of_csv`` and managed-schedule DAGs take theirs from the environment of the
dag-processor (``deadline_from_env``): ``BATCHORCH_RECURRING_DEADLINE_MINUTES`` (unset: none),
``BATCHORCH_DEADLINE_SLACK_CHANNEL``, ``BATCHORCH_DEADLINE_SLACK_CONN_ID`` (default ``slack_api_default``).

The scheduler sees the missed deadline and queues the callback; the triggerer runs ``notify_deadline_missed``
with the run (``context["dag_run"]``) and the deadline's time. The message goes to the configured ``channel``
only; without one it is only logged. A run's conf never chooses it: any triggerer can put a ``channel_id`` in a
conf (``chat_command`` takes one as a plain param), so it would let them post into any channel (docs/security.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from airflow_provider_batchorch.core.chat.replies import deadline_missed_message
from airflow_provider_batchorch.core.env_number import env_number
from airflow_provider_batchorch.notifications.slack import DEFAULT_SLACK_CONN_ID, SlackThread, slack_client

log = logging.getLogger(__name__)


def batch_deadline(interval: timedelta, *, slack_conn_id: str = DEFAULT_SLACK_CONN_ID, channel: str | None = None,
                   from_queued: bool = True):
    """A ``DeadlineAlert`` ``interval`` after the run was queued (``from_queued=False``: after its logical date,
    for a scheduled DAG: "the 06:00 run must be done by 08:00") that posts ``notify_deadline_missed`` to Slack."""
    from airflow.sdk.definitions.callback import AsyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    reference = DeadlineReference.DAGRUN_QUEUED_AT if from_queued else DeadlineReference.DAGRUN_LOGICAL_DATE
    return DeadlineAlert(reference=reference, interval=interval,
                         callback=AsyncCallback(notify_deadline_missed,
                                                kwargs={"slack_conn_id": slack_conn_id, "channel": channel}))


DEADLINE_MINUTES_ENV = "BATCHORCH_RECURRING_DEADLINE_MINUTES"


def deadline_from_env(environ: Mapping[str, str] | None = None):
    """``batch_deadline`` of ``BATCHORCH_RECURRING_DEADLINE_MINUTES`` after a run is queued, or None when unset."""
    environ = os.environ if environ is None else environ
    minutes = env_number(environ, DEADLINE_MINUTES_ENV, float, low=0, low_inclusive=False, high=7 * 24 * 60,
                         expected="a number of minutes up to a week",
                         hint="Set it to e.g. 120, or unset it for no deadline.")
    if minutes is None:
        return None
    return batch_deadline(timedelta(minutes=minutes), channel=environ.get("BATCHORCH_DEADLINE_SLACK_CHANNEL") or None,
                          slack_conn_id=environ.get("BATCHORCH_DEADLINE_SLACK_CONN_ID") or DEFAULT_SLACK_CONN_ID)


async def notify_deadline_missed(*, slack_conn_id: str | None = DEFAULT_SLACK_CONN_ID, channel: str | None = None,
                                 context: dict[str, Any] | None = None) -> str | None:
    """Post that the run in ``context`` missed its deadline; returns the message's ``ts`` (None: not posted)."""
    dag_run = (context or {}).get("dag_run") or {}
    deadline = (context or {}).get("deadline") or {}
    text = deadline_missed_message(dag_run.get("dag_id"), dag_run.get("dag_run_id") or dag_run.get("run_id"),
                                   dag_run.get("state"), deadline.get("deadline_time"))
    if not channel:
        log.warning("%s (no Slack channel to tell)", text)
        return None

    def post() -> str | None:
        return SlackThread(slack_client(slack_conn_id), channel).post(text, fallback_to_command=False)

    return await asyncio.to_thread(post)
