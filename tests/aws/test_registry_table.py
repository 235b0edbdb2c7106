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
    spec_from_item,
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
    specs = builtin_specs()
    put_agents(ddb, specs)
    version = next(spec.version for spec in specs if spec.name == "company-enrichment-agent")
    ddb.update_item(
        TableName=TABLE_NAME,
        Key={"agent_name": {"S": "company-enrichment-agent"}, "version": {"S": version}},
        UpdateExpression="SET structured_output.enabled = :off",
        ExpressionAttributeValues={":off": {"BOOL": False}},
    )
    registry = load_registry_table(ddb)
    with pytest.raises(IncompatibleAgentError) as caught:
        registry.validate("company-enrichment-agent")
    assert "company-enrichment-agent" not in caught.value.details["compatible_agents"]


def test_item_without_spec_or_invocation_is_a_registry_error(ddb):
    item = {"agent_name": {"S": "hand-made"}, "version": {"S": "1"}}
    with pytest.raises(RegistryError, match="agent 'hand-made' version '1' says neither how to call the agent"):
        spec_from_item(item)


@pytest.mark.parametrize(
    ("spec_text", "fragment"),
    [("not json", "'spec' is not JSON text"), ("[1]", "'spec' must be a JSON object"),
     ('{"input_fields": []}', "is invalid: invocation: Field required"),
     ('{"input_fields": [], "invocation": {"kind": "python", "callable": "a:b"}, '
      '"output_schema": {"type": "strng"}}', "output_schema is not a valid JSON Schema")],
)
def test_malformed_items_are_registry_errors(ddb, spec_text, fragment):
    item = {"agent_name": {"S": "broken"}, "version": {"S": "1"}, "spec": {"S": spec_text}}
    with pytest.raises(RegistryError) as caught:
        spec_from_item(item)
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


# --- items in the origin's shapes, bad items, the table setting (issue 12) -----------------------------------

ORIGIN_SCHEMA = {"type": "object", "properties": {"exchange_station": {"type": "string"},
                                                   "download_speed": {"type": "number"}},
                 "required": ["exchange_station"]}
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:broadband-checker"


def put_raw(ddb, **attributes):
    ddb.put_item(TableName=TABLE_NAME, Item={key: {"S": value} for key, value in attributes.items()})


def test_origin_items_with_structured_output_as_json_text_are_agents(ddb):
    put_raw(ddb, agent_name="broadband-checker", version="v1.0", description="Broadband availability",
            system_prompt="You check broadband.", state_machine_arn=ARN,
            structured_output=json.dumps({"enabled": True, "schemas": {"broadband_data": {"schema": ORIGIN_SCHEMA}},
                                          "output_fields": ["download_speed", "exchange_station"]}),
            metadata=json.dumps({"supports_batch_processing": True}))
    put_raw(ddb, agent_name="camel-checker", version="v2.0", agentArn=ARN,
            structuredOutput=json.dumps({"enabled": True, "defaultSchema": "b",
                                         "schemas": {"a": {"schema": {"type": "object", "properties": {"x": {}}}},
                                                     "b": {"schema": ORIGIN_SCHEMA}}}))
    registry = load_registry_table(ddb)
    spec = registry.validate("broadband-checker")
    assert spec.version == "v1.0" and spec.prompt == "You check broadband."
    assert spec.invocation.kind == "stepfunctions" and spec.invocation.state_machine_arn == ARN
    assert spec.output_fields == ["download_speed", "exchange_station"]  # the item's output_fields order
    assert registry.validate("camel-checker").output_schema == ORIGIN_SCHEMA  # defaultSchema picked


def test_an_origin_item_with_only_metadata_type_is_listed_but_not_structured(ddb):
    put_raw(ddb, agent_name="broadband-checker-v2", version="v2.0", agentArn=ARN,
            metadata=json.dumps({"type": "structured-output-agent", "llm_type": "unified-rust"}))
    registry = load_registry_table(ddb)
    assert "broadband-checker-v2" in registry
    with pytest.raises(IncompatibleAgentError):
        registry.validate("broadband-checker-v2")


def test_a_bad_item_is_skipped_with_a_warning_naming_it_and_the_others_still_load(ddb, caplog):
    put_agent(ddb, builtin_specs()[0])
    put_raw(ddb, agent_name="broken-agent", version="3", spec="{not json")
    put_raw(ddb, agent_name="armless-agent", version="1", structured_output=json.dumps({"enabled": True}))
    with caplog.at_level("WARNING", logger="airflow_provider_batchorch.aws.registry_table"):
        registry = load_registry_table(ddb)
    assert builtin_specs()[0].name in registry
    assert "broken-agent" not in registry and "armless-agent" not in registry
    warnings = " | ".join(r.getMessage() for r in caplog.records)
    assert "agent 'broken-agent' version '3'" in warnings and "'spec' is not JSON text" in warnings
    assert "agent 'armless-agent' version '1'" in warnings and "state machine" in warnings


def test_the_table_is_an_operator_setting_dag_argument_then_env_then_connection_extra():
    from airflow_provider_batchorch.aws.registry_table import configured_registry_table

    extra = {"batchorch_registry_table": "FromConnection"}
    env = {"BATCHORCH_REGISTRY_TABLE": "FromEnv"}
    assert configured_registry_table("FromDag", extra, env) == "FromDag"
    assert configured_registry_table(None, extra, env) == "FromEnv"
    assert configured_registry_table(None, extra, {}) == "FromConnection"
    assert configured_registry_table(None, {}, {"BATCHORCH_REGISTRY_TABLE": "  "}) is None
