"""AgentRequestOperator on its own: the LLM path through a ``pydanticai`` connection, the fallback to the offline
parser, and ``retry-failed`` (the failed rows of a stored batch as the new input)."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest
from pydantic_ai.messages import ModelResponse, ToolCallPart
from pydantic_ai.models.function import FunctionModel

from airflow_provider_batchorch.aws.batch_store import batch_prefix, stage_batch
from airflow_provider_batchorch.core.models import METADATA_COLUMNS, BatchConfig
from airflow_provider_batchorch.builtin_agents import builtin_registry
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.operators import agent_request
from airflow_provider_batchorch.operators.agent_request import AgentRequestOperator


class FakeTi:
    map_index = -1

    def __init__(self) -> None:
        self.pushed: dict = {}

    def xcom_push(self, key, value) -> None:
        self.pushed[key] = value


def run(operator: AgentRequestOperator) -> dict:
    return operator.execute({"ti": FakeTi(), "run_id": "slack-0612-7"})


def in_a_dag(**kwargs) -> AgentRequestOperator:
    from airflow.sdk import DAG

    with DAG(f"chat_test_{uuid.uuid4().hex[:6]}", schedule=None):
        return AgentRequestOperator(task_id="agent_request", **kwargs)


def operator(text: str, bucket: str, slack, **kwargs) -> AgentRequestOperator:
    return in_a_dag(text=text, policy={"allowed_buckets": [bucket]}, channel="C1",
                    response_url=slack.response_url("op"), **kwargs)


@pytest.fixture
def llm_connection(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PYDANTICAI_DEFAULT", json.dumps(
        {"conn_type": "pydanticai", "password": "sk-test", "host": "http://127.0.0.1:9/v1",
         "extra": {"model": "gpt-4.1-mini"}}))


def test_with_an_llm_connection_the_model_reads_the_request(llm_connection, aws_conn, slack_conn, monkeypatch):
    models = []

    def model_for(conn_id: str):
        models.append(conn_id)
        return FunctionModel(lambda messages, info: ModelResponse(parts=[ToolCallPart(
            info.output_tools[0].name, {"csv_uri": "s3://batchorch-local/in/accounts.csv",
                                        "agent": "company-enrichment-agent", "concurrency": 7})]))

    monkeypatch.setattr(agent_request, "request_model", model_for)
    result = run(operator("please look up the firms in s3://batchorch-local/in/accounts.csv, seven at once",
                          aws_conn.bucket, slack_conn, llm_conn_id="pydanticai_default"))
    assert models == ["pydanticai_default"]
    assert result["request"]["agent"] == "company-enrichment-agent" and result["request"]["concurrency"] == 7
    (plan,) = slack_conn.of("chat.postMessage")  # the plan starts the run's thread
    assert result["thread_ts"] and plan.body["channel"] == "C1" and "s3://batchorch-local/in/accounts.csv" in plan.text


def test_when_the_llm_fails_the_offline_parser_answers(llm_connection, aws_conn, slack_conn, monkeypatch):
    def unreachable(messages, info):
        raise ConnectionError("model server unreachable")

    monkeypatch.setattr(agent_request, "request_model", lambda conn_id: FunctionModel(unreachable))
    result = run(operator("enrich s3://batchorch-local/in/companies.csv with industry, 6 parallel workers",
                          aws_conn.bucket, slack_conn, llm_conn_id="pydanticai_default"))
    assert result["request"]["concurrency"] == 6 and result["request"]["output_fields"] == ["industry"]


def test_the_model_connection_gives_the_model(llm_connection):
    from pydantic_ai.models.openai import OpenAIChatModel

    model = agent_request.request_model("pydanticai_default")
    assert isinstance(model, OpenAIChatModel) and model.model_name == "gpt-4.1-mini"


@pytest.fixture
def finished_batch(aws_conn):
    """A stored batch: its input, config.json and an output CSV in which rows 2 and 3 of 4 FAILED."""
    s3 = aws_conn.client("s3")
    batch_id = f"chat-retry-{uuid.uuid4().hex[:8]}"
    prefix = batch_prefix(aws_conn.bucket, batch_id)
    csv_key = f"tests/chat/{batch_id}/companies.csv"
    s3.put_object(Bucket=aws_conn.bucket, Key=csv_key, Body=(
        "company_name,website\nApple Inc.,apple.com\n=Evil(),\nZqxv Holdings,\nMicrosoft,microsoft.com\n").encode())
    config = BatchConfig(
        batch_id=batch_id, csv_uri=f"s3://{aws_conn.bucket}/{csv_key}", encoding="utf-8", delimiter=",",
        columns=["company_name", "website"], agent=builtin_registry().get("company-enrichment-agent"),
        input_mapping={"company_name": "company_name", "website": "website"}, output_fields=["industry"],
        concurrency=8, chunk_concurrency=1, row_concurrency=8, timeout_seconds=30, total_rows=4, chunk_count=1,
        prefix_uri=prefix, output_uri=f"{prefix}output/companies_enriched.csv")
    stage_batch(s3, config, [])
    header = ",".join(["company_name", "website", "industry", *METADATA_COLUMNS])
    rows = ["Apple Inc.,apple.com,Technology,SUCCEEDED,,,,,,",
            "'=Evil(),,,FAILED,Unable to identify company,,,,,",
            "Zqxv Holdings,,,FAILED,Unable to identify company,,,,,",
            "Microsoft,microsoft.com,Technology,SUCCEEDED,,,,,,"]
    s3.put_object(Bucket=aws_conn.bucket, Key=f"batchorch/runs/{batch_id}/output/companies_enriched.csv",
                  Body="\n".join([header, *rows, ""]).encode())
    return prefix


def test_retry_failed_runs_the_failed_rows_with_the_same_agent_and_fields(finished_batch, aws_conn, slack_conn):
    result = run(operator("retry-failed slack-0612-1", aws_conn.bucket, slack_conn, retry_of=finished_batch))
    request = result["request"]
    assert request["csv_uri"] == f"{finished_batch}retry/input.csv"
    assert (request["agent"], request["output_fields"], request["concurrency"], request["timeout_seconds"]) == (
        "company-enrichment-agent", ["industry"], 8, 30)
    assert result["retry_plan"]["selection"]["failed_rows"] == [1, 2]
    bucket, key = parse_s3_uri(request["csv_uri"])
    staged = aws_conn.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    assert staged == "company_name,website\n=Evil(),\nZqxv Holdings,\n"  # original values, not the neutralised ones
    assert "Retrying the 2 failed rows of 4" in slack_conn.of("chat.postMessage")[0].text


def test_retry_of_a_batch_in_a_bucket_that_is_not_allowed_is_refused(finished_batch, aws_conn, slack_conn):
    refused = in_a_dag(text="retry-failed x", retry_of=finished_batch, policy={"allowed_buckets": ["elsewhere"]},
                       response_url=slack_conn.response_url("op"))
    result = refused.execute({"ti": FakeTi(), "run_id": "r"})
    assert result["reason"] == "bucket_not_allowed"
    assert slack_conn.of("response_url")[0].text.startswith(f"I can't use s3://{aws_conn.bucket}")


def test_a_question_is_pushed_and_posted_without_a_slack_thread(aws_conn, slack_conn):
    ti = FakeTi()
    op = in_a_dag(text="score my customers", policy={"allowed_buckets": [aws_conn.bucket]}, channel="C1")
    assert op.execute({"ti": ti, "run_id": "r"})["reason"] == "missing_csv"
    assert ti.pushed["question"]["question"].startswith("I'll use customer-scorer-agent.")
    (posted,) = slack_conn.of("chat.postMessage")  # no response_url: the question goes to the channel
    assert posted.text == ti.pushed["question"]["question"]


def test_without_a_slack_connection_nothing_is_posted(aws_conn, monkeypatch, slack):
    slack.clear()
    monkeypatch.delenv("AIRFLOW_CONN_SLACK_API_DEFAULT", raising=False)
    result = run(operator("enrich s3://batchorch-local/in/companies.csv", aws_conn.bucket,
                          SimpleNamespace(response_url=lambda name: None)))
    assert result["thread_ts"] is None and slack.calls == []


def put_csv(aws_conn, text: str) -> str:
    key = f"tests/chat/{uuid.uuid4().hex[:8]}/export.csv"
    aws_conn.client("s3").put_object(Bucket=aws_conn.bucket, Key=key, Body=text.encode())
    return f"s3://{aws_conn.bucket}/{key}"


def test_a_vague_request_gets_the_menu_ordered_by_the_csv_columns(aws_conn, slack_conn):
    uri = put_csv(aws_conn, "subject,body,customer_email\nRefund,I was charged twice,a@example.com\n")
    ti = FakeTi()
    op = in_a_dag(text=f"process {uri}", policy={"allowed_buckets": [aws_conn.bucket]}, channel="C1")
    assert op.execute({"ti": ti, "run_id": "r"})["reason"] == "missing_agent"
    question = ti.pushed["question"]["question"]
    assert question.split("\n1. ")[1].startswith("*ticket-classifier-agent*")
    assert "Provides: category, priority" in question and "body &lt;- 'body'" in question


def test_the_csv_columns_choose_between_agents_the_words_fit(aws_conn, slack_conn):
    rows = "".join(f"Company {n},company{n}.example,Berlin\n" for n in range(4000))  # more than the head read
    uri = put_csv(aws_conn, "company_name,website,city\n" + rows)
    result = run(operator(f"classify {uri}", aws_conn.bucket, slack_conn))
    assert result["request"]["agent"] == "company-enrichment-agent"
