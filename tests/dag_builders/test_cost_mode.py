"""Cost mode under ``dag.test()``: the rows go to a local fake of the OpenAI batch API first (files + batches on
127.0.0.1), the ones it does not answer (late, failed, expired, invalid) to the real-time path of the same fake;
every row comes back in order and the summary prices both parts."""

from __future__ import annotations

import csv
import io

import pytest

from airflow_provider_batchorch.core.registry_trust import REGISTRY_FILES_ENV
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from tests.support.dag_runs import return_value, task_states
from tests.support.openai_batch_stand_in import BatchScript, OpenAIBatchStandIn
from tests.support.openai_stub_server import ScriptedResponder, answer

pytestmark = pytest.mark.e2e

ROWS = 12
REGISTRY_YAML = """
agents:
  - name: batch-labeler
    description: Labels a text short or long.
    input_fields:
      - {name: id, type: string, required: true}
      - {name: text, type: string, required: true}
    output_schema:
      type: object
      properties: {text: {type: string}, label: {type: string, enum: [short, long]}}
      required: [text, label]
    invocation: {kind: llm, model: gpt-4.1-mini, base_url: "BASE_URL", max_retries: 1}
"""


@pytest.fixture
def dag(airflow_db, aws_conn):
    from airflow_provider_batchorch.dag_builders.orchestrator import build_batch_orchestrator_dag

    return build_batch_orchestrator_dag(poll_interval=0.3)


def run_cost_mode(dag, aws_conn, upload_csv, tmp_path, monkeypatch, server, **conf):
    registry = tmp_path / "registry.yaml"
    registry.write_text(REGISTRY_YAML.replace("BASE_URL", server.base_url))
    monkeypatch.setenv(REGISTRY_FILES_ENV, str(registry))
    csv_text = "id,text\n" + "".join(f"{i},text {i}\n" for i in range(ROWS))
    run = dag.test(run_conf={"csv_uri": upload_csv(csv_text), "agent": "batch-labeler", "chunk_rows": 4,
                             "execution_mode": "batch_api", **conf})
    assert str(run.state) == "success", task_states(run)
    summary = return_value(run, "get_results")
    bucket, key = parse_s3_uri(summary["output_csv_uri"])
    body = aws_conn.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["id"] for row in rows] == [str(i) for i in range(ROWS)]
    assert all(row["_status"] == "SUCCEEDED" and row["_error_message"] == "" for row in rows), rows
    assert [row["text"] for row in rows] == [f"text {i}" for i in range(ROWS)]
    return run, summary


def realtime_rows(server) -> set[str]:
    return {str(request.row["id"]) for request in server.requests}


def parts_of(summary) -> dict[str, dict]:
    return {part["mode"]: part for part in summary["execution_parts"]}


def test_a_late_partly_failed_job_leaves_only_its_stragglers_to_real_time(dag, aws_conn, upload_csv, tmp_path,
                                                                         monkeypatch):
    """The job ends after its first polls; rows 3 and 7 fail in it, row 5's answer breaks the schema: exactly
    those three are called in real time (row 5 asked afresh, with the re-ask rules of any row)."""
    responder = ScriptedResponder({"5": [answer({"text": "text 5", "label": "medium"})]})
    with OpenAIBatchStandIn(responder, script=BatchScript(finish_after=1.5, error_rows={"3", "7"})) as server:
        run, summary = run_cost_mode(dag, aws_conn, upload_csv, tmp_path, monkeypatch, server)

    assert server.batch_rows == [[str(i) for i in range(ROWS)]]
    assert realtime_rows(server) == {"3", "5", "7"}
    outcome = return_value(run, "batch_api_job")
    assert (outcome["status"], outcome["requests"], outcome["answered"], outcome["invalid"], outcome["failed"]) == \
        ("completed", ROWS, 9, 1, 2)
    parts = parts_of(summary)
    assert summary["execution_mode"] == "batch_api"
    assert (parts["batch_api"]["rows"], parts["realtime"]["rows"]) == (9, 3)
    assert summary["agent_calls"] == 3 and summary["rows_processed"] == ROWS
    assert parts["batch_api"]["input_tokens"] > 0 and parts["realtime"]["input_tokens"] > 0
    assert parts["batch_api"]["cost_usd"] > 0 and parts["realtime"]["cost_usd"] > 0
    # The batch price is half the list price: per input token the batch part costs less.
    batch, realtime = parts["batch_api"], parts["realtime"]
    assert batch["cost_usd"] / (batch["input_tokens"] + 4 * batch["output_tokens"]) < \
        realtime["cost_usd"] / (realtime["input_tokens"] + 4 * realtime["output_tokens"])


def test_an_expired_job_keeps_what_it_answered(dag, aws_conn, upload_csv, tmp_path, monkeypatch):
    with OpenAIBatchStandIn(script=BatchScript(finish_after=0.5, expire=True, answer_first=4)) as server:
        run, summary = run_cost_mode(dag, aws_conn, upload_csv, tmp_path, monkeypatch, server)

    assert realtime_rows(server) == {str(i) for i in range(4, ROWS)}
    assert return_value(run, "batch_api_job")["failure_reasons"] == {
        "batch API: batch_expired: This request could not be executed before the completion window expired.": 8}
    assert (parts_of(summary)["batch_api"]["rows"], parts_of(summary)["realtime"]["rows"]) == (4, 8)


def test_a_job_past_its_deadline_is_cancelled_and_every_row_runs_real_time(dag, aws_conn, upload_csv, tmp_path,
                                                                          monkeypatch):
    with OpenAIBatchStandIn(script=BatchScript(finish_after=600)) as server:
        run, summary = run_cost_mode(dag, aws_conn, upload_csv, tmp_path, monkeypatch, server,
                                     batch_api_deadline_seconds=1)

    assert server.cancelled == ["batch_1"]
    assert return_value(run, "batch_api_job")["status"] == "deadline"
    assert realtime_rows(server) == {str(i) for i in range(ROWS)}
    parts = parts_of(summary)
    assert (parts["batch_api"]["rows"], parts["batch_api"]["cost_usd"], parts["realtime"]["rows"]) == (0, 0.0, ROWS)
