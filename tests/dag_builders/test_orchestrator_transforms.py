"""The real batch_orchestrator DAG under ``dag.test()`` on the emulator with workers, an llm agent over real HTTP
(the local OpenAI-compatible stub) and a rule of each kind on messy rows: some as the registry entry's defaults,
the rest in the run conf."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml

from airflow_provider_batchorch.core.registry_trust import REGISTRY_FILES_ENV
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from tests.support.dag_runs import return_value, task_states
from tests.support.openai_stub_server import OpenAIStubServer, ScriptedResponder, answer

pytestmark = pytest.mark.e2e

ROWS = [
    {"id": "1", "first": "Zoë", "last": "O'Brien", "profile": '{"address": {"city": "Köln"}}', "country": "DE",
     "amount": "1,200"},
    {"id": "2", "first": "{{ 7*7 }}", "last": "{__import__}", "profile": '{"address": {}}', "country": " de",
     "amount": "5"},
    {"id": "3", "first": "Jean", "last": "Dupont", "profile": '{"address": {"city": "Paris"}}', "country": "FR",
     "amount": "10"},
    {"id": "4", "first": "Ann", "last": "", "profile": "", "country": "DE", "amount": ""},
    {"id": "5", "first": "Bad", "last": "Json", "profile": "{nope", "country": "DE", "amount": "3"},
]
ENTRY_RULES = """\
input:
  - {kind: concat, columns: [first, last], separator: " ", into: name}
  - {kind: static, value: EMEA, into: region}
filter: "country | trim | lower == 'de'"
prompt_template: "Score {name}."
"""
CONF_RULES = """\
input:
  - {kind: jsonpath, column: profile, path: "$.address.city", into: city, default: unknown}
  - {kind: cast, column: amount, to: integer}
  - {kind: template, engine: jinja, template: "{{ name | upper }} / {{ country | trim }}", into: label}
prompt_template: "Score the customer {name} from {city} in {region}, label {label}."
output:
  derived:
    - {into: summary, template: "{name} scored {score}"}
    - {into: big, expression: "score > 50"}
  cast: {big: integer}
  keep: [name, summary, big, score]
  rename: {name: customer, score: points}
"""
SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "score": {"type": "integer"}},
          "required": ["name", "score"], "additionalProperties": False}


@pytest.fixture
def dag(airflow_db, aws_conn):
    from airflow_provider_batchorch.dag_builders.orchestrator import build_batch_orchestrator_dag

    return build_batch_orchestrator_dag(poll_interval=0.5)


def _registry(base_url: str) -> str:
    agent = {"name": "customer-llm", "description": "Scores customers", "prompt": "You score customers.",
             "input_fields": [{"name": "name"}, {"name": "city", "required": False},
                              {"name": "region", "required": False},
                              {"name": "amount", "type": "integer", "required": False},
                              {"name": "label", "required": False}],
             "output_schema": SCHEMA, "transforms": yaml.safe_load(ENTRY_RULES),
             "invocation": {"kind": "llm", "model": "stub-model", "base_url": base_url}}
    return json.dumps({"agents": [agent]})


def _csv_text() -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(ROWS[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(ROWS)
    return buffer.getvalue()


def _score(request):
    return answer({"name": request.row["name"], "score": 10 * len(request.row["name"])})


def test_a_rule_of_each_kind_from_the_entry_and_the_conf(dag, aws_conn, upload_csv, tmp_path, monkeypatch):
    with OpenAIStubServer(ScriptedResponder({}, default=_score)) as server:
        registry = tmp_path / "registry.json"
        registry.write_text(_registry(server.base_url), encoding="utf-8")
        monkeypatch.setenv(REGISTRY_FILES_ENV, str(registry))  # the operator's registry: its llm target is trusted
        run = dag.test(run_conf={"csv_uri": upload_csv(_csv_text(), "customers.csv"), "agent": "customer-llm",
                                 "transforms": yaml.safe_load(CONF_RULES), "chunk_rows": 2})
        requests = list(server.requests)
    assert str(run.state) == "success", task_states(run)
    summary = return_value(run, "get_results")
    bucket, key = parse_s3_uri(summary["output_csv_uri"])
    body = aws_conn.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig")
    produced = list(csv.DictReader(io.StringIO(body)))

    # rows in == rows out, in order, the input cells as read
    assert [{column: row[column] for column in ROWS[0]} for row in produced] == ROWS
    assert list(produced[0])[len(ROWS[0]):len(ROWS[0]) + 4] == ["customer", "summary", "big", "points"]
    assert [row["_status"] for row in produced] == ["SUCCEEDED", "SUCCEEDED", "SKIPPED", "SUCCEEDED", "FAILED"]
    assert (summary["rows_succeeded"], summary["rows_failed"], summary["rows_skipped"]) == (3, 1, 1)
    assert summary["output_fields"] == ["customer", "summary", "big", "points"]
    first, injected, skipped, empty, bad = produced
    assert (first["customer"], first["summary"], first["big"], first["points"]) == (
        "Zoë O'Brien", "Zoë O'Brien scored 110", "1", "110")
    assert (injected["customer"], injected["big"]) == ("{{ 7*7 }} {__import__}", "1")  # literal, never evaluated
    assert (empty["customer"], empty["points"], empty["big"]) == ("Ann", "30", "0")  # the empty last name left out
    assert skipped["customer"] == "" and skipped["_error_message"] == ""
    assert bad["_error_code"] == "TRANSFORM_FAILED" and "column 'profile' is not JSON" in bad["_error_message"]

    # what the model was sent: the conf's per-row prompt with every value quoted, then the record block
    sent = {request.row["name"]: request.body["messages"][1]["content"].splitlines()[0] for request in requests}
    assert sent["Zoë O'Brien"] == ('Score the customer "Zoë O\'Brien" from "Köln" in "EMEA", '
                                   'label "ZOË O\'BRIEN / DE".')
    assert sent["{{ 7*7 }} {__import__}"] == ('Score the customer "{{ 7*7 }} {__import__}" from "unknown" in '
                                              '"EMEA", label "{{ 7*7 }} {__IMPORT__} / de".')
    assert sent["Ann"].startswith('Score the customer "Ann" from "unknown"')
    rows_sent = {request.row["name"]: request.row for request in requests}
    assert rows_sent["Zoë O'Brien"]["amount"] == 1200 and rows_sent["Ann"]["amount"] is None
    assert len(requests) == 3  # the skipped and the failed rows called nothing

