"""ChatAgentOperator (the chat DAG's agent_request): a configured ``pydanticai_default`` connection alone switches
the chat to the orchestrator agent (a real OpenAI-compatible server scripting its tool calls); a batch it starts is
this chat run's pipeline (so the approval step still gates it); a menu ends the run; no connection: offline."""

from __future__ import annotations

import uuid

import pytest

from airflow_provider_batchorch.aws.processor import execution_name
from airflow_provider_batchorch.operators.chat_agent import REPLY_XCOM_KEY, ChatAgentOperator
from airflow_provider_batchorch.orchestrator.conversations import Conversation, ConversationKey
from tests.support.scripted_tool_model import call, result, say, scripted_pydanticai_connection

RUN_ID = "slack-0612-9"


class FakeTi:
    map_index = -1

    def __init__(self, dag_id: str) -> None:
        self.dag_id = dag_id
        self.pushed: dict = {}

    def xcom_push(self, key, value) -> None:
        self.pushed[key] = value


def _operator(bucket: str, slack, text: str, **kwargs) -> ChatAgentOperator:
    from airflow.sdk import DAG

    with DAG(f"chat_agent_test_{uuid.uuid4().hex[:6]}", schedule=None):
        return ChatAgentOperator(task_id="agent_request", text=text, channel="C9", user_id="U9", team_id="T9",
                                 policy={"allowed_buckets": [bucket], "max_concurrency": 20},
                                 response_url=slack.response_url("op"), **kwargs)


@pytest.fixture
def scripted_llm(monkeypatch):
    with scripted_pydanticai_connection(monkeypatch) as script:
        yield script


def _csv(aws, key: str) -> str:
    aws.client("s3").put_object(Bucket=aws.bucket, Key=key, Body=(
        "company_name,website,location\nApple Inc.,apple.com,\"Cupertino, CA\"\nStripe,stripe.com,SF\n").encode())
    return f"s3://{aws.bucket}/{key}"


def test_the_connection_alone_switches_to_the_orchestrator_and_its_batch_is_this_run(scripted_llm, aws_conn,
                                                                                      slack_conn):
    csv_uri = _csv(aws_conn, "inputs/chat-op/companies.csv")
    scripted_llm.add(call("analyze_csv_structure", csv_uri=csv_uri),
                     call("validate_agent_compatibility", agent_name="company-enrichment-agent"),
                     call("generate_batch_config", csv_uri=csv_uri, agent_name="company-enrichment-agent", concurrency=10),
                     lambda r: call("execute_batch_processor", **result(r, "generate_batch_config")),
                     lambda r: say(f"Starting batch processing of {result(r, 'analyze_csv_structure')['row_count']} "
                                   f"companies with company-enrichment-agent, 10 parallel executions."))
    operator = _operator(aws_conn.bucket, slack_conn, f"enrich {csv_uri} with industry and employee data")
    ti = FakeTi(operator.dag_id)
    out = operator.execute({"ti": ti, "run_id": RUN_ID})

    assert out["request"]["csv_uri"] == csv_uri and out["request"]["agent"] == "company-enrichment-agent"
    assert out["request"]["concurrency"] == 10  # the pipeline (approve_batch first) runs this request
    posted = [c for c in slack_conn.of("chat.postMessage") if c.body.get("thread_ts") == out["thread_ts"]]
    assert posted[-1].text.startswith("Starting batch processing of 2 companies")
    stored = Conversation.model_validate_json(aws_conn.client("s3").get_object(
        Bucket=aws_conn.bucket, Key=ConversationKey(team_id="T9", channel_id="C9", thread_ts=out["thread_ts"])
        .object_key())["Body"].read())
    (batch,) = stored.batches
    assert batch.batch_id == execution_name(operator.dag_id, RUN_ID) and batch.run_id == RUN_ID
    assert stored.owner_user_id == "U9" and stored.messages


def test_a_menu_is_posted_and_the_run_ends(scripted_llm, aws_conn, slack_conn):
    csv_uri = _csv(aws_conn, "inputs/chat-op/tickets.csv")
    scripted_llm.add(call("recommend_agents", csv_uri=csv_uri, goal="process support tickets"),
                     lambda r: say("Available options with structured output support:\n" + "\n".join(
                         f"{n}. {a['agent']}" for n, a in enumerate(result(r, "recommend_agents")["agents"], 1))))
    operator = _operator(aws_conn.bucket, slack_conn, f"I have a CSV of support tickets: {csv_uri}")
    ti = FakeTi(operator.dag_id)
    out = operator.execute({"ti": ti, "run_id": RUN_ID})
    assert "request" not in out and out["reply"].startswith("Available options with structured output support:\n1. ")
    assert ti.pushed[REPLY_XCOM_KEY]["thread_ts"] == out["thread_ts"]


def test_without_a_connection_the_offline_parser_answers(aws_conn, slack_conn, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_PYDANTICAI_DEFAULT", raising=False)
    monkeypatch.delenv("BATCHORCH_CHAT_LLM_CONN_ID", raising=False)
    operator = _operator(aws_conn.bucket, slack_conn,
                         f"enrich s3://{aws_conn.bucket}/in/companies.csv with industry, 6 parallel workers")
    out = operator.execute({"ti": FakeTi(operator.dag_id), "run_id": RUN_ID})
    assert out["request"]["concurrency"] == 6 and out["request"]["output_fields"] == ["industry"]
