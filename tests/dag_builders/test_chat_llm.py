"""The chat_command DAG with the orchestrator agent: ``dag.test()`` on the embedded AWS with workers, the model a
real OpenAI-compatible server scripting its tool calls, configured by the ``pydanticai_default`` connection alone
(the factory gets no ``llm_conn_id``). Example 2: the menu ends the first run; the follow-up in the thread runs
ticket-classifier-agent on the CSV named earlier through the chat run's own pipeline; replies in the Slack thread.
The follow-up is a reply in the thread, delivered by Slack's Events API to the plugin's events route."""

from __future__ import annotations

import json

import pytest

from airflow_provider_batchorch.aws.processor import execution_name
from tests.support.scripted_tool_model import call, result, say, scripted_pydanticai_connection

pytestmark = pytest.mark.e2e

TICKETS_CSV = ("ticket_id,message,customer_email\n"
               "T-1,I was charged twice for my subscription,billing@example.com\n"
               "T-2,The app crashes when I upload a file,dev@example.com\n"
               "T-3,How do I change my password?,user@example.com\n")


@pytest.fixture
def script(monkeypatch):
    with scripted_pydanticai_connection(monkeypatch) as script:
        yield script


def thread_event(aws_conn, text: str, thread_ts: str) -> dict:
    """The conf of the chat run the Slack events route starts for a reply in the thread (signed like Slack)."""
    from fastapi.testclient import TestClient

    from airflow_provider_batchorch.orchestrator.conversations import S3ConversationStore
    from airflow_provider_batchorch.plugins.chat_follow_ups import ChatFollowUps
    from airflow_provider_batchorch.plugins.slack import EVENTS_PATH, SlackCommandSettings, create_slack_app
    from tests.plugins.test_slack import signed
    from tests.support.fake_airflow_api import FakeAirflowApi
    from tests.support.slack_fixtures import SIGNING_SECRET

    airflow = FakeAirflowApi()
    store = S3ConversationStore(aws_conn.client("s3"), aws_conn.bucket)
    app = create_slack_app(settings=lambda: SlackCommandSettings(signing_secret=SIGNING_SECRET),
                           follow_ups=lambda current: ChatFollowUps(airflow.client(), lambda: None, current.dag_id),
                           conversations=lambda current: lambda: store)
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event": {
        "type": "message", "user": "U1", "text": text, "channel": "C1", "ts": "1700009999.000100",
        "thread_ts": thread_ts}}).encode()
    assert TestClient(app).post(EVENTS_PATH, content=body, headers=signed(body)).json() == {"ok": True}
    (run,) = airflow.runs.values()
    return run["conf"]


def _states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def test_example_2_in_the_chat_dag(airflow_db, script, aws_conn, slack_conn):
    from airflow_provider_batchorch.dag_builders.chat import build_chat_command_dag

    dag = build_chat_command_dag(policy={"allowed_buckets": [aws_conn.bucket]},
                                 thresholds={"max_rows": 1000, "max_cost_usd": 100.0},
                                 poll_interval=0.5, progress_interval=0.5)
    csv_uri = f"s3://{aws_conn.bucket}/inputs/chat-dag/tickets.csv"
    aws_conn.client("s3").put_object(Bucket=aws_conn.bucket, Key="inputs/chat-dag/tickets.csv",
                                     Body=TICKETS_CSV.encode())
    conf = {"user_id": "U1", "user_name": "ada", "team_id": "T1", "channel_id": "C1",
            "response_url": slack_conn.response_url("run")}

    script.add(call("analyze_csv_structure", csv_uri=csv_uri),
               call("recommend_agents", csv_uri=csv_uri, goal="process support tickets"),
               lambda r: say("I'll help you process your support tickets. What would you like to do with them?\n"
                             "Available options with structured output support:\n" + "\n".join(
                                 f"{n}. {a['agent']}: {', '.join(a['available_fields'])}"
                                 for n, a in enumerate(result(r, "recommend_agents")["agents"], 1))))
    first = dag.test(run_conf={**conf, "text": f"I have a CSV of customer support tickets that need processing: {csv_uri}"})
    states = _states(first)
    assert str(first.state) == "success" and states.pop("agent_request") == "success"
    assert set(states.values()) == {"skipped"}  # a menu: nothing ran
    menu = slack_conn.of("chat.postMessage")[-1]
    thread_ts = menu.body["thread_ts"]
    assert "Available options with structured output support:\n1. ticket-classifier-agent" in menu.text

    script.add(call("validate_agent_compatibility", agent_name="ticket-classifier-agent"),
               lambda r: call("generate_batch_config", csv_uri=result(r, "analyze_csv_structure")["csv_uri"],
                              agent_name="ticket-classifier-agent", concurrency=4),
               lambda r: call("execute_batch_processor", **result(r, "generate_batch_config")),
               say("Perfect! I'll use the ticket-classifier-agent: categories, priorities and suggested responses."))
    slack_conn.clear()
    follow_up = thread_event(aws_conn, "<@UBOT> Let's classify them and generate responses", thread_ts)
    assert follow_up["thread_ts"] == thread_ts and follow_up["response_url"] is None
    second = dag.test(run_conf=follow_up)
    assert str(second.state) == "success", _states(second)
    assert {k: v for k, v in _states(second).items() if v != "success"} == {}
    in_thread = [c.text for c in slack_conn.of("chat.postMessage") if c.body.get("thread_ts") == thread_ts]
    assert in_thread[0].startswith("Perfect! I'll use the ticket-classifier-agent")
    texts = "\n".join(in_thread)
    assert "Progress: 3/3 rows processed (100%)" in texts and "Successfully processed: 3 rows" in texts
    sfn = aws_conn.client("stepfunctions")
    names = {e["name"] for e in sfn.list_executions(stateMachineArn=aws_conn.refs.state_machine_arn)["executions"]}
    assert execution_name("chat_command", second.run_id) in names  # the chat run's own pipeline ran it
