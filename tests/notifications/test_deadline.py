"""A deadline on a batch DAG: Airflow's DeadlineAlert, serialised with our Slack callback, and the callback (as the
triggerer runs it, with the context the scheduler builds when the deadline is missed) posting to the Slack
stand-in."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from airflow_provider_batchorch.notifications.deadline import batch_deadline, notify_deadline_missed


def test_a_batch_dag_carries_the_deadline_with_the_slack_callback():
    from airflow.serialization.serialized_objects import DagSerialization

    from airflow_provider_batchorch.dag_builders.recurring import build_csv_enrichment_dag

    dag = build_csv_enrichment_dag(deadline=batch_deadline(timedelta(minutes=45), channel="C_OPS"))
    (alert,) = DagSerialization.serialize_dag(dag)["deadline"]  # what the scheduler reads
    assert alert["reference"] == {"reference_type": "DagRunQueuedAtDeadline"}
    assert alert["interval"]["__data__"] == 45 * 60
    callback = alert["callback"]
    assert callback["__classname__"] == "airflow.sdk.definitions.callback.AsyncCallback"  # run by the triggerer
    assert callback["__data__"] == {"path": "airflow_provider_batchorch.notifications.deadline.notify_deadline_missed",
                                    "kwargs": {"slack_conn_id": "slack_api_default", "channel": "C_OPS"}}


def test_a_missed_deadline_is_posted_to_the_configured_channel(slack_conn):
    context = {  # what Deadline.handle_miss gives the callback
        "dag_run": {"dag_id": "batch_enrichment_of_csv", "dag_run_id": "new_csv__a.csv__0123456789ab",
                    "state": "running", "conf": {"csv_uri": "s3://b/a.csv", "channel_id": "C1"}},
        "deadline": {"id": "d1", "deadline_time": "2026-01-05T08:00:00+00:00"},
    }
    ts = asyncio.run(notify_deadline_missed(slack_conn_id="slack_api_default", channel="C_OPS", context=context))

    (message,) = slack_conn.of("chat.postMessage")
    assert ts and message.body["channel"] == "C_OPS"
    assert "new_csv__a.csv__0123456789ab" in message.text and "2026-01-05T08:00:00+00:00" in message.text
    assert "misses its deadline" in message.text


def test_a_run_conf_cannot_choose_the_channel_of_the_alert(slack_conn):
    """Any triggerer can write ``channel_id`` into a conf (chat_command takes it as a plain param): without a
    configured channel the alert is only logged, never posted where the conf says."""
    run = {"dag_id": "chat_command", "dag_run_id": "r", "state": "queued", "conf": {"channel_id": "C_VICTIM"}}
    assert asyncio.run(notify_deadline_missed(context={"dag_run": run})) is None
    assert slack_conn.of("chat.postMessage") == []
    asyncio.run(notify_deadline_missed(channel="C_OPS", context={"dag_run": run}))
    assert [call.body["channel"] for call in slack_conn.of("chat.postMessage")] == ["C_OPS"]


def test_the_dag_files_deadline_comes_from_the_operators_environment():
    import pytest

    from airflow_provider_batchorch.core.errors import InvalidConfError
    from airflow_provider_batchorch.notifications.deadline import deadline_from_env

    assert deadline_from_env({}) is None
    alert = deadline_from_env({"BATCHORCH_RECURRING_DEADLINE_MINUTES": "90", "BATCHORCH_DEADLINE_SLACK_CHANNEL": "C9"})
    assert alert.interval == timedelta(minutes=90) and alert.callback.kwargs["channel"] == "C9"
    for bad in ("0", "-5", "soon", "20000"):
        with pytest.raises(InvalidConfError, match="BATCHORCH_RECURRING_DEADLINE_MINUTES"):
            deadline_from_env({"BATCHORCH_RECURRING_DEADLINE_MINUTES": bad})
