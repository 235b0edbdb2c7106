"""Slack replies over real HTTP to a local Slack stand-in: the thread, progress, the summary, a failed run, and
slash-command response_url answers."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import boto3
from slack_sdk import WebClient

from airflow_provider_batchorch.core.chat.replies import plan_message, summary_message
from airflow_provider_batchorch.core.models import BatchRequest, BatchSummary, Progress
from airflow_provider_batchorch.notifications.slack import SlackThread, notify_chat_run_failed, presigned_url
from tests.support.slack_stand_in import NOT_IN_CHANNEL, TOKEN

SUMMARY = BatchSummary(
    status="COMPLETED_WITH_ERRORS", message="Processed 485 rows successfully, 15 failed", batch_id="b1",
    agent="company-enrichment-agent", rows_processed=500, rows_succeeded=485, rows_failed=15, success_rate=97.0,
    output_csv_uri="s3://my-data/results/companies_enriched.csv",
    output_fields=["industry", "employee_count", "revenue_estimate", "confidence_score"],
    processing_time_seconds=272.0,
    failure_reasons={"Website no longer active": 8, "Unable to identify company from provided name": 5,
                     "Timeout during data gathering": 2},
)


def thread_in(slack, channel: str = "C1", **kwargs) -> SlackThread:
    return SlackThread(WebClient(token=TOKEN, base_url=slack.api_url), channel, **kwargs)


def test_plan_starts_a_thread_and_the_summary_goes_into_it(slack):
    slack.clear()
    thread = thread_in(slack)
    request = BatchRequest(csv_uri="s3://my-data/companies.csv", agent="company-enrichment-agent", concurrency=25,
                           output_fields=["industry", "employee_count"])
    first = thread.post(plan_message(request, "slack-0612-1"))
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    url = presigned_url(s3, SUMMARY.output_csv_uri, expires_seconds=3600)
    thread.post(summary_message(SUMMARY, "slack-0612-1", url))

    plan, summary = slack.of("chat.postMessage")
    assert plan.body["channel"] == "C1" and plan.body.get("thread_ts") is None
    assert "company-enrichment-agent" in plan.text and "25 parallel calls" in plan.text
    assert summary.body["thread_ts"] == first
    text = summary.text
    for expected in ("Successfully processed: 485 rows (97%)", "Failed: 15 rows (3%)", "Processing time: 4m 32s",
                     "- 8 rows: Website no longer active", "`failures slack-0612-1`", "`retry-failed slack-0612-1`"):
        assert expected in text
    link = text.split("Output file: <", 1)[1].split("|", 1)[0]
    assert urlsplit(link).path == "/results/companies_enriched.csv"
    assert {"Signature", "X-Amz-Signature"} & set(parse_qs(urlsplit(link).query))  # signed (SigV2 or SigV4)
    assert "|s3://my-data/results/companies_enriched.csv>" in text


def test_text_from_a_csv_or_an_agent_cannot_mention_or_link():
    from airflow_provider_batchorch.core.chat.replies import estimate_message
    from airflow_provider_batchorch.core.cost_estimate import estimate_cost
    from airflow_provider_batchorch.core.models import CsvProfile
    from airflow_provider_batchorch.builtin_agents import builtin_registry

    profile = CsvProfile(uri="s3://b/x.csv", size_bytes=10, columns=["<!channel>", "<https://evil|click me>"],
                         data_types={}, row_count=2, header_end=1, chunk_rows=100)
    text = estimate_message(profile, estimate_cost(builtin_registry().get("company-enrichment-agent"), rows=2),
                            needs_approval=False)
    assert "&lt;!channel&gt;, &lt;https://evil|click me&gt;" in text and "<!" not in text
    summary = SUMMARY.model_copy(update={"failure_reasons": {"Bad value <@U123> & more": 2}})
    assert "- 2 rows: Bad value &lt;@U123&gt; &amp; more" in summary_message(summary, "r1")


def test_progress_is_one_message_updated_in_the_thread(slack):
    slack.clear()
    thread = thread_in(slack, thread_ts="1699999999.000001")
    for done in (100, 250, 500):
        status = "SUCCEEDED" if done == 500 else "RUNNING"
        thread.report_progress(Progress(status=status, total_rows=500, rows_processed=done, rows_succeeded=done,
                                        percent=100.0 * done / 500, eta_seconds=300 if done < 500 else None,
                                        elapsed_seconds=60))
    assert not thread.report_progress(Progress(status="RUNNING", total_rows=500), min_interval=3600)

    (posted,) = slack.of("chat.postMessage")
    updates = slack.of("chat.update")
    assert posted.body["thread_ts"] == "1699999999.000001"
    assert [u.body["ts"] for u in updates] == [thread.progress_ts] * 2
    assert "Progress: 100/500 rows processed (20%)" in posted.text and "Estimated completion: 5m 0s" in posted.text
    assert "Progress: 250/500 rows processed (50%)" in updates[0].text
    assert "500/500 rows processed (100%)" in updates[1].text


def test_response_url_reply_is_ephemeral_and_a_channel_the_bot_is_not_in_falls_back_to_it(slack):
    slack.clear()
    thread = thread_in(slack, channel=NOT_IN_CHANNEL, response_url=slack.response_url("q1"))
    assert thread.reply_to_command("Which CSV should I process?")
    assert thread.post("results...") is None  # not_in_channel: answered through the response_url

    question, fallback = slack.of("response_url")
    assert question.path == "/response/q1" and question.body == {"text": "Which CSV should I process?",
                                                                 "response_type": "ephemeral"}
    assert fallback.body["response_type"] == "in_channel" and fallback.text == "results..."
    # Progress is too frequent for a response_url (five answers at most): it is dropped instead.
    thread.report_progress(Progress(status="RUNNING", total_rows=10, rows_processed=5, percent=50.0))
    assert len(slack.of("response_url")) == 2


def test_a_failed_task_says_which_step_failed_in_the_thread(slack_conn):
    plans = {"agent_request": {"thread_ts": "1699999999.000042"}}
    context = {
        "params": {"channel_id": "C1", "response_url": None},
        "ti": SimpleNamespace(task_id="execute_batch", xcom_pull=lambda task_ids: plans[task_ids]),
        "run_id": "slack-0612-9",
        "exception": RuntimeError("EXECUTION_FAILED: execution ... is FAILED: chunk 3: worker died\nTraceback..."),
    }
    notify_chat_run_failed(context)

    (message,) = slack_conn.of("chat.postMessage")
    assert message.body["thread_ts"] == "1699999999.000042"
    assert message.text.startswith(":x: Run `slack-0612-9` failed at *execute_batch*: EXECUTION_FAILED")
    assert "Traceback" not in message.text
