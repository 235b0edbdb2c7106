"""ValidateAgentOperator: built-ins, configured registry files (local or S3), the AgentRegistry table, and the
conf's untrusted registry."""

from __future__ import annotations

import uuid
from unittest import mock

import pytest

from airflow_provider_batchorch.aws.registry_table import create_registry_table, put_agent
from airflow_provider_batchorch.core.errors import (
    IncompatibleAgentError,
    RegistryError,
    UnknownAgentError,
    UntrustedAgentError,
)
from airflow_provider_batchorch.core.registry import load_registry_text
from airflow_provider_batchorch.core.registry_trust import ALLOWED_AGENT_TARGETS_ENV, REGISTRY_FILES_ENV
from airflow_provider_batchorch.operators.validate_agent import ValidateAgentOperator

REGISTRY_YAML = """
agents:
  - name: greeter-agent
    description: Greets companies
    input_fields: [{name: company_name, type: string, required: true}]
    output_schema: {type: object, properties: {greeting: {type: string}}, required: [greeting]}
    invocation: {kind: python, callable: "json:dumps"}
  - name: chatty-agent
    description: Free text only, no schema
    structured_output: false
    input_fields: [{name: company_name}]
    invocation: {kind: python, callable: "json:dumps"}
"""
LLM_REGISTRY_YAML = """
agents:
  - name: labeler-agent
    input_fields: [company_name]
    output_schema: {type: object, properties: {label: {type: string}}, required: [label]}
    invocation: {kind: llm, model: "openai:gpt-4.1-mini"}
"""
CONTEXT = {"ti": mock.Mock(dag_id="d"), "run_id": "r"}


def validate(agent: str, **kwargs):
    return ValidateAgentOperator(task_id="validate_agent", agent=agent, **kwargs).execute(CONTEXT)


def test_builtin_agent_by_alias(aws_conn):
    result = validate("company-enrichment")
    assert result["agent"]["name"] == "company-enrichment-agent"
    assert result["description"]["compatible"] is True and "industry" in result["description"]["available_fields"]


def put_registry(aws_conn, text: str) -> str:
    key = f"registries/{uuid.uuid4().hex[:8]}.yaml"
    aws_conn.client("s3").put_object(Bucket=aws_conn.bucket, Key=key, Body=text.encode())
    return f"s3://{aws_conn.bucket}/{key}"


def test_registry_file_from_s3_configured_by_the_operator_adds_agents(aws_conn, monkeypatch):
    uri = put_registry(aws_conn, REGISTRY_YAML)
    monkeypatch.setenv(REGISTRY_FILES_ENV, uri)
    result = validate("greeter-agent")
    assert result["agent"]["output_schema"]["required"] == ["greeting"]
    assert validate("greeter-agent", registry=uri)["agent"]["name"] == "greeter-agent"  # the conf may name it
    assert validate("ticket-classifier-agent", registry=uri)["agent"]["name"]


def test_registry_file_from_a_local_path_in_the_dag_factory(tmp_path, aws_conn):
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY_YAML)
    assert validate("greeter-agent", registry_files=[str(path)])["agent"]["name"] == "greeter-agent"
    with pytest.raises(RegistryError, match="not found"):
        validate("greeter-agent", registry=str(tmp_path / "missing.yaml"))


@pytest.mark.parametrize("where", ["s3", "local"])
def test_a_conf_registry_with_python_code_is_refused(tmp_path, aws_conn, where):
    text = REGISTRY_YAML.replace("json:dumps", "os:system")
    if where == "s3":
        registry = put_registry(aws_conn, text)
    else:
        (tmp_path / "registry.yaml").write_text(text)
        registry = str(tmp_path / "registry.yaml")
    with pytest.raises(UntrustedAgentError) as caught:
        validate("greeter-agent", registry=registry)
    assert str(caught.value).startswith("UNTRUSTED_AGENT: the agent 'greeter-agent'") and "os:system" in str(caught.value)
    with pytest.raises(UntrustedAgentError):
        validate("company-enrichment-agent", registry=registry)  # nothing of that file gets in


def test_a_conf_llm_agent_runs_only_with_an_allow_listed_target(aws_conn, monkeypatch):
    uri = put_registry(aws_conn, LLM_REGISTRY_YAML)
    with pytest.raises(UntrustedAgentError, match="model 'openai:gpt-4.1-mini'"):
        validate("labeler-agent", registry=uri)
    monkeypatch.setenv(ALLOWED_AGENT_TARGETS_ENV, "openai:gpt-4.1-*")
    assert validate("labeler-agent", registry=uri)["agent"]["invocation"]["model"] == "openai:gpt-4.1-mini"


def test_a_conf_agent_may_not_replace_a_table_agent(aws_conn, monkeypatch):
    ddb = aws_conn.client("dynamodb")
    table = create_registry_table(ddb, f"AgentRegistry-{uuid.uuid4().hex[:6]}")
    put_agent(ddb, load_registry_text(LLM_REGISTRY_YAML, "t").get("labeler-agent"), table)
    monkeypatch.setenv(ALLOWED_AGENT_TARGETS_ENV, "*")
    uri = put_registry(aws_conn, LLM_REGISTRY_YAML)
    with pytest.raises(UntrustedAgentError, match="replace the configured agent 'labeler-agent'"):
        validate("labeler-agent", registry=uri, registry_table=table)


def test_agent_without_structured_output_is_incompatible(tmp_path, aws_conn):
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY_YAML)
    with pytest.raises(IncompatibleAgentError) as caught:
        validate("chatty-agent", registry_files=[str(path)])
    assert str(caught.value).startswith("INCOMPATIBLE_AGENT:") and "greeter-agent" in str(caught.value)


def test_registry_table_adds_agents(aws_conn):
    ddb = aws_conn.client("dynamodb")
    table = create_registry_table(ddb, f"AgentRegistry-{uuid.uuid4().hex[:6]}")
    put_agent(ddb, load_registry_text(REGISTRY_YAML, "t").get("greeter-agent"), table)
    assert validate("greeter-agent", registry_table=table)["agent"]["name"] == "greeter-agent"
    with pytest.raises(UnknownAgentError, match="greeter-agent"):
        validate("greeter-agent")


def test_with_the_csv_analysis_the_cost_is_estimated_logged_and_returned_before_any_row(tmp_path, aws_conn, capfd):
    from airflow_provider_batchorch.core.models import BatchRequest, CsvProfile
    from airflow_provider_batchorch.core.task_outputs import AnalyzeResult

    path = tmp_path / "agents.yaml"
    path.write_text(LLM_REGISTRY_YAML)
    profile = CsvProfile(uri="s3://b/c.csv", size_bytes=10, columns=["company_name"], data_types={}, row_count=20_000,
                         header_end=13, chunk_rows=100, sample_rows=[{"company_name": "Acme Robotics"}])
    analysis = AnalyzeResult(request=BatchRequest(csv_uri="s3://b/c.csv", agent="labeler-agent"), profile=profile,
                             profile_uri="s3://b/p.json", batch_id="b", prefix_uri="s3://b/runs/b/")
    result = validate("labeler-agent", registry_files=[str(path)], analysis=analysis.model_dump(mode="json"))
    estimate = result["cost_estimate"]
    assert estimate["rows"] == 20_000 and estimate["model"] == "openai:gpt-4.1-mini"
    realtime, batch = estimate["cost_usd_by_mode"]["realtime"], estimate["cost_usd_by_mode"]["batch_api"]
    assert estimate["cost_usd"] == realtime > 0 and batch == pytest.approx(realtime / 2, abs=1e-4)
    assert f"Cost estimate: 20,000 rows with labeler-agent, estimated cost ${realtime:,.2f} in realtime mode, " \
           f"${batch:,.2f} in batch_api" in capfd.readouterr().out
    assert validate("labeler-agent", registry_files=[str(path)])["cost_estimate"] is None  # no analysis, no estimate
