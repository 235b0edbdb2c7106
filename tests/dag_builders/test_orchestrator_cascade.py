"""A cascade through the real batch_orchestrator DAG (dag.test, emulator, worker processes): a cheap fake model
(a real OpenAI-compatible HTTP server) is unsure on a known 20 % of the rows, exactly those go to the strong model,
the output CSV names the answering agent per row, and the summary's figures match what the server saw."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from airflow_provider_batchorch.core.cost_estimate import DEFAULT_PRICES
from airflow_provider_batchorch.core.registry_trust import REGISTRY_FILES_ENV
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from tests.support.dag_runs import return_value, task_states
from tests.support.openai_stub_server import OpenAIStubServer, StubRequest, answer

pytestmark = pytest.mark.e2e

ROWS = 20
UNSURE = {"4", "9", "12", "17"}  # 20 % of the rows
CHEAP, STRONG = "gpt-4.1-nano", "gpt-4.1"

REGISTRY = """
agents:
  - name: strong-labeler
    input_fields: [id, text]
    output_schema: &schema
      type: object
      properties: {{label: {{type: string}}, confidence_score: {{type: number}}}}
      required: [label, confidence_score]
    invocation: {{kind: llm, model: {strong}, base_url: "{base_url}", max_attempts: 1}}
  - name: cheap-labeler
    input_fields: [id, text]
    output_schema: *schema
    invocation: {{kind: llm, model: {cheap}, base_url: "{base_url}", max_attempts: 1}}
    escalate_to: strong-labeler
    escalate_when: {{confidence_below: 0.6}}
"""


def labeler_output(request: StubRequest) -> dict:
    row_id = str(request.row["id"])
    if request.body["model"] == STRONG:
        return {"label": f"strong-{row_id}", "confidence_score": 0.99}
    return {"label": f"cheap-{row_id}", "confidence_score": 0.3 if row_id in UNSURE else 0.9}


def approx_tokens(text: str) -> int:  # the stub server's usage count
    return max(1, math.ceil(len(text) / 4))


@pytest.fixture
def dag(airflow_db, aws_conn):
    from airflow_provider_batchorch.dag_builders.orchestrator import build_batch_orchestrator_dag

    return build_batch_orchestrator_dag(poll_interval=0.5)


def test_the_unsure_fifth_escalates_and_the_summary_matches_the_server(dag, aws_conn, upload_csv, tmp_path,
                                                                        monkeypatch):
    with OpenAIStubServer(lambda request: answer(labeler_output(request))) as server:
        registry = tmp_path / "registry.yaml"
        registry.write_text(REGISTRY.format(base_url=server.base_url, cheap=CHEAP, strong=STRONG))
        monkeypatch.setenv(REGISTRY_FILES_ENV, str(registry))
        csv_text = "id,text\n" + "".join(f"{i},text {i}\n" for i in range(1, ROWS + 1))
        run = dag.test(run_conf={"csv_uri": upload_csv(csv_text), "agent": "cheap-labeler", "chunk_rows": 7})
        requests = list(server.requests)

    assert str(run.state) == "success", task_states(run)
    by_model = {model: [r for r in requests if r.body["model"] == model] for model in (CHEAP, STRONG)}
    assert sorted(str(r.row["id"]) for r in by_model[CHEAP]) == sorted(str(i) for i in range(1, ROWS + 1))
    assert sorted(str(r.row["id"]) for r in by_model[STRONG]) == sorted(UNSURE)

    summary = return_value(run, "get_results")
    bucket, key = parse_s3_uri(summary["output_csv_uri"])
    body = aws_conn.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["id"] for row in rows] == [str(i) for i in range(1, ROWS + 1)]
    assert {row["id"] for row in rows if row["_agent"] == "strong-labeler"} == UNSURE
    assert all(row["_agent"] == "cheap-labeler" for row in rows if row["id"] not in UNSURE)
    assert all(row["label"] == f"{'strong' if row['id'] in UNSURE else 'cheap'}-{row['id']}" for row in rows)

    cascade = summary["cascade"]
    assert (cascade["rows"], cascade["rows_escalated"], cascade["strong_calls_saved"]) == (ROWS, 4, 16)
    assert (cascade["agent_calls"], cascade["strong_only_calls"], summary["agent_calls"]) == (24, ROWS, 24)
    assert cascade["escalation_rate"] == 20.0 and cascade["escalation_reasons"] == {"confidence_score below 0.6": 4}

    def tokens(request: StubRequest) -> tuple[int, int]:
        return approx_tokens(json.dumps(request.messages)), approx_tokens(json.dumps(labeler_output(request)))

    def usd(model: str, requests: list[StubRequest]) -> float:
        price = DEFAULT_PRICES[model]
        return sum(t_in * price.input_per_million + t_out * price.output_per_million
                   for t_in, t_out in map(tokens, requests)) / 1_000_000

    kept = [r for r in by_model[CHEAP] if str(r.row["id"]) not in UNSURE]
    actual = usd(CHEAP, by_model[CHEAP]) + usd(STRONG, by_model[STRONG])
    baseline = usd(STRONG, by_model[STRONG]) + usd(STRONG, kept)  # kept rows: cheap tokens at strong prices
    assert cascade["cost_usd"] == pytest.approx(actual, abs=1e-6)
    assert cascade["strong_only_cost_usd"] == pytest.approx(baseline, abs=1e-6)
    assert cascade["cost_saved_usd"] == pytest.approx(baseline - actual, abs=2e-6) and cascade["cost_saved_usd"] > 0
    assert summary["input_tokens"] == sum(tokens(r)[0] for r in requests)
