"""The judged golden gate in the real batch_orchestrator DAG (dag.test, emulator, worker processes): the agent and
a trusted judge are LLM agents on a real OpenAI-compatible HTTP server. The judge scores the agent's answers on the
first golden_judge_rows input rows: a good agent passes and the batch runs; a bad one stops the run before any row
beyond the sample is called, or -- golden_on_fail: ask -- waits for a person who rejects (stopped) or approves
(the batch runs)."""

from __future__ import annotations

import pytest

from airflow_provider_batchorch.core.registry_trust import REGISTRY_FILES_ENV
from tests.support.dag_runs import return_value, task_states
from tests.support.golden_agents import sentiment_registry
from tests.support.hitl_answers import answer_hitl
from tests.support.openai_stub_server import OpenAIStubServer, StubRequest, answer

pytestmark = pytest.mark.e2e

WORDS = ["love it", "never again", "it is a chair"]
BATCH_ROWS, JUDGED_ROWS = 12, 6

JUDGE = """  - name: sentiment-judge
    input_fields: [inputs, answer, fields]
    output_schema: {{type: object, properties: {{sentiment: {{type: boolean}}}}, required: [sentiment]}}
    invocation: {{kind: llm, model: judge-model, base_url: "{base_url}", max_attempts: 1}}
"""


def truth(text: str) -> str:
    return "positive" if "love" in text else "negative" if "never" in text else "neutral"


def responder(request: StubRequest):
    model = request.body["model"]
    if model == "judge-model":  # the judge sees the agent's inputs and answer as row data
        row = request.row
        return answer({"sentiment": row["answer"]["sentiment"] == truth(row["inputs"]["text"])})
    return answer({"sentiment": "positive" if model == "bad-model" else truth(request.row["text"])})


@pytest.fixture
def dag(airflow_db, aws_conn):
    from airflow_provider_batchorch.dag_builders.orchestrator import build_batch_orchestrator_dag

    return build_batch_orchestrator_dag(poll_interval=0.5)


@pytest.fixture
def server(tmp_path, monkeypatch):
    with OpenAIStubServer(responder) as server:
        registry = tmp_path / "registry.yaml"
        registry.write_text(sentiment_registry(server.base_url, JUDGE))
        monkeypatch.setenv(REGISTRY_FILES_ENV, str(registry))
        yield server


@pytest.fixture
def csv_uri(upload_csv):
    return upload_csv("review\n" + "".join(f"{WORDS[i % 3]} {i}\n" for i in range(BATCH_ROWS)))


def calls(server, model: str) -> list[str]:
    return [r.row["text"] for r in server.requests if r.body["model"] == model]


def judged_conf(csv_uri: str, agent: str, **extra) -> dict:
    return {"csv_uri": csv_uri, "agent": agent, "golden_judge": "sentiment-judge", "golden_judge_rows": JUDGED_ROWS,
            "concurrency": 2, **extra}


def test_the_judge_passes_a_good_agent_and_stops_a_bad_one_after_the_first_rows(dag, server, csv_uri, capfd):
    bad = dag.test(run_conf=judged_conf(csv_uri, "bad-sentiment"))
    logged = "".join(capfd.readouterr())
    states = task_states(bad)
    assert str(bad.state) == "failed" and states["golden_gate"] == "failed", states
    assert states["configure_batch"] == states["execute_batch"] == "upstream_failed"
    first_rows = [f"{WORDS[i % 3]} {i}" for i in range(JUDGED_ROWS)]
    assert sorted(calls(server, "bad-model")) == sorted(first_rows)  # the sample, not one row beyond it
    assert len([r for r in server.requests if r.body["model"] == "judge-model"]) == JUDGED_ROWS
    assert "GOLDEN_GATE_FAILED: the agent 'bad-sentiment' scored below 90%" in logged
    assert "judged by sentiment-judge" in logged and "33.3%  (2/6)" in logged

    good = dag.test(run_conf=judged_conf(csv_uri, "good-sentiment"))
    assert str(good.state) == "success", task_states(good)
    report = return_value(good, "golden_gate")["report"]
    assert (report["judge"], report["judge_calls"], report["fields"][0]["correct"]) == ("sentiment-judge", 6, 6)
    assert len(calls(server, "good-model")) == JUDGED_ROWS + BATCH_ROWS
    assert return_value(good, "get_results")["rows_succeeded"] == BATCH_ROWS


def test_ask_waits_for_a_person_who_rejects_or_approves_with_the_report(dag, server, csv_uri):
    rejecting = answer_hitl("golden_approval", "Reject")
    rejected = dag.test(run_conf=judged_conf(csv_uri, "bad-sentiment", golden_on_fail="ask"))
    rejecting.join(5)
    states = task_states(rejected)
    assert str(rejected.state) == "failed" and states["golden_gate"] == "success", states
    assert states["golden_approval"] == "failed"  # rejected: stopped as with golden_on_fail: stop
    assert states["configure_batch"] == states["execute_batch"] == "upstream_failed"
    assert len(calls(server, "bad-model")) == JUDGED_ROWS  # nothing beyond the sample
    (asked,) = rejecting.answered
    assert "bad-sentiment scored below 90% on sentiment" in asked["subject"]
    assert "FAIL sentiment" in asked["body"] and "33.3%  (2/6)" in asked["body"]

    approving = answer_hitl("golden_approval", "Approve")
    approved = dag.test(run_conf=judged_conf(csv_uri, "bad-sentiment", golden_on_fail="ask"))
    approving.join(5)
    assert str(approved.state) == "success", task_states(approved)
    assert return_value(approved, "golden_approval")["automatic"] is False
    assert return_value(approved, "get_results")["rows_succeeded"] == BATCH_ROWS
    assert len(calls(server, "bad-model")) == 2 * JUDGED_ROWS + BATCH_ROWS
