"""The golden-sample gate in the real batch_orchestrator DAG (dag.test, emulator, worker processes), with LLM agents
on a real OpenAI-compatible HTTP server: a good agent passes and the batch runs; a bad one stops the run at
golden_gate, and the server sees the sample's rows and not one row more."""

from __future__ import annotations

import pytest

from airflow_provider_batchorch.core.registry_trust import REGISTRY_FILES_ENV
from tests.support.dag_runs import return_value, task_states
from tests.support.golden_agents import sentiment_registry
from tests.support.openai_stub_server import OpenAIStubServer, StubRequest, answer

pytestmark = pytest.mark.e2e

TRUTH = {"love it": "positive", "broken on arrival": "negative", "it is a chair": "neutral",
         "best purchase ever": "positive", "never again": "negative"}
GOLDEN = "review,sentiment\n" + "".join(f"{text},{label}\n" for text, label in TRUTH.items())
BATCH_ROWS = 12


def sentiment(request: StubRequest):
    text = request.row["text"]
    if request.body["model"] == "bad-model":
        return answer({"sentiment": "positive"})  # right on 2 of 5
    return answer({"sentiment": TRUTH.get(text, "neutral")})


@pytest.fixture
def dag(airflow_db, aws_conn):
    from airflow_provider_batchorch.dag_builders.orchestrator import build_batch_orchestrator_dag

    return build_batch_orchestrator_dag(poll_interval=0.5)


def test_a_good_agent_passes_the_gate_and_a_bad_one_stops_the_batch_after_the_sample(
        dag, aws_conn, upload_csv, tmp_path, monkeypatch, capfd):
    batch_csv = "review\n" + "".join(f"batch review {i}\n" for i in range(BATCH_ROWS))
    with OpenAIStubServer(sentiment) as server:
        registry = tmp_path / "registry.yaml"
        registry.write_text(sentiment_registry(server.base_url))
        monkeypatch.setenv(REGISTRY_FILES_ENV, str(registry))
        golden_uri, csv_uri = upload_csv(GOLDEN, "golden.csv"), upload_csv(batch_csv)

        bad = dag.test(run_conf={"csv_uri": csv_uri, "agent": "bad-sentiment", "golden_sample": golden_uri})
        bad_requests = [r for r in server.requests if r.body["model"] == "bad-model"]
        logged = "".join(capfd.readouterr())

        good = dag.test(run_conf={"csv_uri": csv_uri, "agent": "good-sentiment", "golden_sample": golden_uri,
                                  "golden_min_accuracy": 1.0})
        good_requests = [r for r in server.requests if r.body["model"] == "good-model"]

    states = task_states(bad)
    assert str(bad.state) == "failed" and states["golden_gate"] == "failed", states
    assert states["configure_batch"] == states["execute_batch"] == "upstream_failed"
    assert sorted(r.row["text"] for r in bad_requests) == sorted(TRUTH)  # the sample's 5 rows, not one batch row
    assert "GOLDEN_GATE_FAILED: the agent 'bad-sentiment' scored below 90%" in logged
    assert "FAIL sentiment" in logged and "40.0%  (2/5)" in logged  # the per-field report

    assert str(good.state) == "success", task_states(good)
    report = return_value(good, "golden_gate")["report"]
    assert [(f["field"], f["scored"], f["correct"], f["passed"]) for f in report["fields"]] == [
        ("sentiment", 5, 5, True)]
    assert len(good_requests) == len(TRUTH) + BATCH_ROWS
    assert return_value(good, "get_results")["rows_succeeded"] == BATCH_ROWS
