"""The DynamoDB AgentRegistry table, against moto in-process."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from airflow_provider_batchorch.aws.registry_table import (
    TABLE_NAME,
    create_registry_table,
    latest_version,
    load_registry_table,
    put_agent,
    put_agents,
)
from airflow_provider_batchorch.builtin_agents import builtin_specs
from airflow_provider_batchorch.core.errors import IncompatibleAgentError, RegistryError
from airflow_provider_batchorch.builtin_agents import builtin_registry


@pytest.fixture
def ddb(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_registry_table(client)
        yield client


def company_spec(version: str, description: str):
    spec = builtin_specs()[0]
    return spec.model_copy(update={"version": version, "description": description})


def test_create_table_is_idempotent_with_the_right_keys(ddb):
    assert create_registry_table(ddb) == TABLE_NAME
    table = ddb.describe_table(TableName=TABLE_NAME)["Table"]
    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {("agent_name", "HASH"),
                                                                                ("version", "RANGE")}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert create_registry_table(ddb, "OtherRegistry") == "OtherRegistry"


def test_put_agent_stores_spec_and_structured_output_map(ddb):
    spec = builtin_specs()[1]
    put_agent(ddb, spec)
    item = ddb.get_item(TableName=TABLE_NAME, Key={"agent_name": {"S": spec.name},
                                                   "version": {"S": spec.version}})["Item"]
    structured = item["structured_output"]["M"]
    assert structured["enabled"] == {"BOOL": True}
    assert json.loads(structured["schema"]["S"]) == spec.output_schema
    assert [f["S"] for f in structured["output_fields"]["L"]] == spec.output_fields
    assert json.loads(item["spec"]["S"])["name"] == spec.name
    assert item["description"]["S"] == spec.description


def test_round_trip_of_the_builtin_agents(ddb):
    assert put_agents(ddb, builtin_specs()) == 5
    loaded = load_registry_table(ddb)
    assert sorted(loaded.names()) == sorted(builtin_registry().names())
    for spec in builtin_specs():
        assert loaded.get(spec.name) == spec
    assert loaded.get("company-enrichment").name == "company-enrichment-agent"


@pytest.mark.parametrize(
    ("versions", "latest"),
    [(["1", "9", "10"], "10"), (["1.9.2", "1.10.0", "1.2"], "1.10.0"), (["v2", "v10"], "v10"),
     (["2.0.0-rc1", "2.0.0", "1.9"], "2.0.0"), (["2024-01-10", "2024-03-01"], "2024-03-01"),
     (["alpha", "beta"], "beta")],
)
def test_latest_version_wins(ddb, versions, latest):
    for version in versions:
        put_agent(ddb, company_spec(version, f"version {version}"))
    spec = load_registry_table(ddb).get("company-enrichment-agent")
    assert spec.version == latest and spec.description == f"version {latest}"


def test_latest_version_function():
    assert latest_version(["1.0.0-alpha", "1.0.0-beta"]) == "1.0.0-beta"
    assert latest_version(["3"]) == "3"


def test_disabled_structured_output_makes_the_agent_incompatible(ddb):
    put_agents(ddb, builtin_specs())
    ddb.update_item(
        TableName=TABLE_NAME,
        Key={"agent_name": {"S": "company-enrichment-agent"}, "version": {"S": "1.0.0"}},
        UpdateExpression="SET structured_output.enabled = :off",
        ExpressionAttributeValues={":off": {"BOOL": False}},
    )
    registry = load_registry_table(ddb)
    with pytest.raises(IncompatibleAgentError) as caught:
        registry.validate("company-enrichment-agent")
    assert "company-enrichment-agent" not in caught.value.details["compatible_agents"]


def test_item_without_spec_is_a_registry_error(ddb):
    ddb.put_item(TableName=TABLE_NAME, Item={"agent_name": {"S": "hand-made"}, "version": {"S": "1"}})
    with pytest.raises(RegistryError, match="agent 'hand-made' version '1' has no 'spec' attribute"):
        load_registry_table(ddb)


@pytest.mark.parametrize(
    ("spec_text", "fragment"),
    [("not json", "'spec' is not JSON text"), ("[1]", "'spec' must be a JSON object"),
     ('{"input_fields": []}', "is invalid: invocation: Field required"),
     ('{"input_fields": [], "invocation": {"kind": "python", "callable": "a:b"}, '
      '"output_schema": {"type": "strng"}}', "output_schema is not a valid JSON Schema")],
)
def test_malformed_items_are_registry_errors(ddb, spec_text, fragment):
    ddb.put_item(TableName=TABLE_NAME, Item={"agent_name": {"S": "broken"}, "version": {"S": "1"},
                                             "spec": {"S": spec_text}})
    with pytest.raises(RegistryError) as caught:
        load_registry_table(ddb)
    assert fragment in caught.value.message
    assert "DynamoDB table AgentRegistry: agent 'broken'" in caught.value.message


def test_missing_table_is_a_registry_error(ddb):
    with pytest.raises(RegistryError, match="DynamoDB table Nope not found"):
        load_registry_table(ddb, table="Nope")


def test_table_agents_merge_over_builtins(ddb):
    put_agent(ddb, company_spec("2.0.0", "from the table"))
    merged = builtin_registry().merged(load_registry_table(ddb))
    assert merged.get("company-enrichment-agent").description == "from the table"
    assert len(merged) == 5
