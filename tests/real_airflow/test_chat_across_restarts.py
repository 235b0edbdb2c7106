"""A chat conversation in a real Airflow outlives its components: turn 1, a signed slash command to the Slack
plugin on the api-server, starts a batch through chat_command; while the batch runs (monitor_batch deferred in
the triggerer) the api-server, scheduler and triggerer are killed and started again; the batch finishes, and
turn 2, a reply in the thread through the plugin's Events API route, is answered from the S3 conversation store
about the same batch. The model is conftest's ``chat_model``: a ToolScript behind an OpenAI-compatible server in
this process, the cluster's ``pydanticai_default``."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from airflow_provider_batchorch.aws.batch_store import batch_prefix, load_summary
from airflow_provider_batchorch.aws.processor import execution_name
from airflow_provider_batchorch.orchestrator.conversations import ConversationKey, S3ConversationStore
from tests.real_airflow.test_batch_orchestrator_on_postgres import (
    RunWatch,
    executions_named,
    read_csv,
    unpause,
    upload,
)
from tests.support.scripted_tool_model import arns_in, call, last_user_text, result, results, say
from tests.support.slack_fixtures import SIGNING_SECRET

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

CHAT = "chat_command"
ROWS, DELAY = 320, "0.5"


def post_signed(url: str, body: bytes, content_type: str) -> httpx.Response:
    """A request as Slack sends it: the body signed with the app's signing secret."""
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=timestamp, body=body)
    return httpx.post(url, content=body, timeout=30, headers={
        "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature, "Content-Type": content_type})


def chat_runs(api) -> list[dict]:
    response = api.get(f"/api/v2/dags/{CHAT}/dagRuns", params={"order_by": "run_after"})
    return response.json().get("dag_runs", []) if response.status_code == 200 else []


def wait_for_runs(api, count: int, cluster) -> list[dict]:
    deadline = time.monotonic() + 60
    while len(runs := chat_runs(api)) < count:
        assert time.monotonic() < deadline, f"{len(runs)} {CHAT} runs, not {count}\n{cluster.tail()}"
        time.sleep(0.5)
    return runs


def test_a_conversation_continues_after_the_api_server_scheduler_and_triggerer_restart(
        airflow_cluster, real_aws, workers, slack, chat_model):
    script, _ = chat_model
    workers()
    s3 = real_aws.client("s3")
    csv_uri = upload(real_aws, "name,delay_seconds\n" + "".join(f"row-{i:04d},{DELAY}\n" for i in range(ROWS)),
                     "slow.csv")
    script.add(call("analyze_csv_structure", csv_uri=csv_uri),
               call("validate_agent_compatibility", agent_name="slow-echo-agent"),
               call("generate_batch_config", csv_uri=csv_uri, agent_name="slow-echo-agent", concurrency=4,
                    chunk_rows=10),
               lambda r: call("execute_batch_processor", **result(r, "generate_batch_config")),
               say("Started slow-echo-agent on slow.csv, 4 parallel."))
    with airflow_cluster.rest() as api:
        unpause(api, CHAT)
        form = urlencode({"command": "/enrich", "text": f"echo the names in {csv_uri}", "user_id": "U1",
                          "user_name": "ada", "team_id": "T1", "channel_id": "C1",
                          "response_url": slack.response_url("turn-1")}).encode()
        answer = post_signed(f"{airflow_cluster.api_url}/batchorch/slack/commands", form,
                             "application/x-www-form-urlencoded")
        assert answer.status_code == 200 and "On it: run" in answer.json()["text"], answer.text
        (first,) = wait_for_runs(api, 1, airflow_cluster)
        watch = RunWatch(api, first["dag_run_id"], CHAT)
        watch.wait_until(lambda states: states.get("monitor_batch") == "deferred", 240,
                         "monitor_batch never deferred", airflow_cluster)
        (execution,) = executions_named(real_aws, execution_name(CHAT, watch.run_id))
        sfn = real_aws.client("stepfunctions")
        monitor_logs = (airflow_cluster.home / "logs" / f"dag_id={CHAT}" / f"run_id={watch.run_id}"
                        / "task_id=monitor_batch")
        deadline = time.monotonic() + 60
        while not list(monitor_logs.glob("attempt=1.log.trigger.*.log")):  # the first triggerer has it
            assert time.monotonic() < deadline, f"no triggerer ran monitor_batch's trigger\n{airflow_cluster.tail()}"
            time.sleep(0.5)

        def batch_still_running() -> None:
            assert sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "RUNNING", \
                "the batch ended before the components were down: make it slower"

        airflow_cluster.restart("api-server", "scheduler", "triggerer", while_down=batch_still_running)
    with airflow_cluster.rest() as api:  # the restarted api-server
        watch.api = api
        states = watch.wait_finished(300, airflow_cluster)
        if not (watch.state == "success" and set(states.values()) == {"success"}):
            pytest.fail(f"run {watch.state}, tasks {watch.seen}\n{airflow_cluster.tail()}", pytrace=False)

        store = S3ConversationStore(s3, real_aws.bucket)
        thread_ts = next(c.body["thread_ts"] for c in slack.of("chat.postMessage")
                         if c.text.startswith("Started slow-echo-agent"))
        key = ConversationKey(team_id="T1", channel_id="C1", thread_ts=thread_ts)
        (batch,) = store.find(key).batches
        assert (batch.run_id, batch.execution_arn) == (watch.run_id, execution["executionArn"])
        assert len(list(monitor_logs.glob("attempt=1.log.trigger.*.log"))) == 2  # the restarted triggerer took over

        script.add(lambda r: call("get_batch_results", execution_arn=arns_in(last_user_text(r))[-1]),
                   lambda r: say("{rows_failed} of {rows_processed} rows failed.".format(
                       **result(r, "get_batch_results"))))
        event = json.dumps({"type": "event_callback", "team_id": "T1", "event": {
            "type": "message", "user": "U1", "text": "how many failed?", "channel": "C1",
            "ts": f"{float(thread_ts) + 100:.6f}", "thread_ts": thread_ts}}).encode()
        answer = post_signed(f"{airflow_cluster.api_url}/batchorch/slack/events", event, "application/json")
        assert answer.status_code == 200 and answer.json() == {"ok": True}, answer.text
        runs = wait_for_runs(api, 2, airflow_cluster)
        follow_up = RunWatch(api, runs[1]["dag_run_id"], CHAT)
        follow_up.wait_finished(180, airflow_cluster)
        assert follow_up.state == "success", f"{follow_up.seen}\n{airflow_cluster.tail()}"
        assert len(chat_runs(api)) == 2  # one run per message

    in_thread = [c.text for c in slack.of("chat.postMessage") if c.body.get("thread_ts") == thread_ts]
    assert f"Successfully processed: {ROWS} rows" in "\n".join(in_thread)  # turn 1's results, after the restart
    assert in_thread[-1] == f"0 of {ROWS} rows failed."  # turn 2, about turn 1's batch
    turn_2 = script.seen[-1]  # what the model was sent: turn 1 from the store, then the question
    assert "Started slow-echo-agent on slow.csv" in turn_2.text()
    answered = results(turn_2)["get_batch_results"]
    assert (answered["execution_arn"], answered["rows_processed"]) == (batch.execution_arn, ROWS)
    conversation = store.find(key)
    assert [b.execution_arn for b in conversation.batches] == [execution["executionArn"]]
    assert len(executions_named(real_aws, execution_name(CHAT, watch.run_id))) == 1  # not started again
    assert executions_named(real_aws, execution_name(CHAT, follow_up.run_id)) == []  # the follow-up started none
    summary = load_summary(s3, batch_prefix(real_aws.bucket, batch.batch_id))
    _, rows = read_csv(real_aws, summary.output_csv_uri)
    assert [r["echo"] for r in rows] == [f"row-{i:04d}" for i in range(ROWS)]  # every row once, in order
