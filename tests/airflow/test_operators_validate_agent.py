"""ValidateAgentOperator: built-ins, a registry file (local or S3), the DynamoDB AgentRegistry table."""

from __future__ import annotations

import uuid
from unittest import mock

import pytest

from airflow_provider_batchorch.aws.registry_table import create_registry_table, put_agent
from airflow_provider_batchorch.core.errors import IncompatibleAgentError, RegistryError, UnknownAgentError
from airflow_provider_batchorch.core.registry import load_registry_text
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
CONTEXT = {"ti": mock.Mock(dag_id="d"), "run_id": "r"}


def validate(agent: str, **kwargs):
    return ValidateAgentOperator(task_id="validate_agent", agent=agent, **kwargs).execute(CONTEXT)


def test_builtin_agent_by_alias(aws_conn):
    result = validate("company-enrichment")
    assert result["agent"]["name"] == "company-enrichment-agent"
    assert result["description"]["compatible"] is True and "industry" in result["description"]["available_fields"]


def test_registry_file_from_s3_adds_agents(aws_conn):
    key = f"registries/{uuid.uuid4().hex[:8]}.yaml"
    aws_conn.client("s3").put_object(Bucket=aws_conn.bucket, Key=key, Body=REGISTRY_YAML.encode())
    result = validate("greeter-agent", registry=f"s3://{aws_conn.bucket}/{key}")
    assert result["agent"]["output_schema"]["required"] == ["greeting"]
    assert validate("ticket-classifier-agent", registry=f"s3://{aws_conn.bucket}/{key}")["agent"]["name"]


def test_registry_file_from_a_local_path(tmp_path, aws_conn):
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY_YAML)
    assert validate("greeter-agent", registry=str(path))["agent"]["name"] == "greeter-agent"
    with pytest.raises(RegistryError, match="not found"):
        validate("greeter-agent", registry=str(tmp_path / "missing.yaml"))


def test_agent_without_structured_output_is_incompatible(tmp_path, aws_conn):
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY_YAML)
    with pytest.raises(IncompatibleAgentError) as caught:
        validate("chatty-agent", registry=str(path))
    assert str(caught.value).startswith("INCOMPATIBLE_AGENT:") and "greeter-agent" in str(caught.value)


def test_registry_table_adds_agents(aws_conn):
    ddb = aws_conn.client("dynamodb")
    table = create_registry_table(ddb, f"AgentRegistry-{uuid.uuid4().hex[:6]}")
    put_agent(ddb, load_registry_text(REGISTRY_YAML, "t").get("greeter-agent"), table)
    assert validate("greeter-agent", registry_table=table)["agent"]["name"] == "greeter-agent"
    with pytest.raises(UnknownAgentError, match="greeter-agent"):
        validate("greeter-agent")
