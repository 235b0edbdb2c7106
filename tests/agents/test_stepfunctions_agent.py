"""Agent state machines on moto's Step Functions interpreter: start, poll, structured_output, failures, timeout."""

import asyncio
import json

import boto3
import pytest
from moto import mock_aws

from airflow_provider_batchorch.agents.agent_output import structured_output_of
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import AgentRowError
from airflow_provider_batchorch.agents.kinds import build_agent_call

REGION = "us-east-1"


@pytest.fixture
def sfn(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions", region_name=REGION)


def state_machine(sfn, name, states, start):
    definition = {"StartAt": start, "States": states}
    role = "arn:aws:iam::123456789012:role/agent"
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=role)["stateMachineArn"]


def agent_for(arn, **options):
    return build_agent_call(
        AgentSpec(
            name="company-enrichment-agent",
            input_fields=[{"name": "company_name"}],
            output_schema={"type": "object", "properties": {"industry": {"type": "string"}}},
            invocation={"kind": "stepfunctions", "state_machine_arn": arn, "region": REGION,
                        "poll_interval_seconds": 0.05, **options},
        )
    )


def test_structured_output_of_an_agent_state_machine(sfn):
    states = {
        "Enrich": {
            "Type": "Pass",
            "Parameters": {
                "structured_output": {"company_name.$": "$.company_name", "industry": "Technology"},
                "usage": {"input_tokens": 12, "output_tokens": 5},
                "trace": "agent internals the batch does not need",
            },
            "End": True,
        }
    }
    arn = state_machine(sfn, "company-agent", states, "Enrich")
    result = asyncio.run(agent_for(arn)({"company_name": "Acme"}))
    assert result.output == {"company_name": "Acme", "industry": "Technology"}
    assert (result.input_tokens, result.output_tokens) == (12, 5)
    executions = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert len(executions) == 1 and executions[0]["status"] == "SUCCEEDED"
    assert json.loads(sfn.describe_execution(executionArn=executions[0]["executionArn"])["input"]) == {
        "company_name": "Acme"
    }


def test_the_whole_output_when_there_is_no_structured_output_field(sfn):
    states = {"Answer": {"Type": "Pass", "Parameters": {"industry": "Retail", "name.$": "$.company_name"}, "End": True}}
    arn = state_machine(sfn, "plain-agent", states, "Answer")
    result = asyncio.run(agent_for(arn)({"company_name": "Shop"}))
    assert result.output == {"industry": "Retail", "name": "Shop"}


def test_concurrent_rows_each_get_their_own_execution(sfn):
    states = {"Echo": {"Type": "Pass", "Parameters": {"structured_output": {"name.$": "$.company_name"}}, "End": True}}
    arn = state_machine(sfn, "echo-agent", states, "Echo")
    agent = agent_for(arn)

    async def batch():
        return await asyncio.gather(*(agent({"company_name": f"c{i}"}) for i in range(6)))

    results = asyncio.run(batch())
    assert [r.output["name"] for r in results] == [f"c{i}" for i in range(6)]
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 6


def test_a_failed_execution_fails_the_row_with_its_error(sfn):
    states = {"Fail": {"Type": "Fail", "Error": "WebsiteInactive", "Cause": "Website no longer active"}}
    arn = state_machine(sfn, "failing-agent", states, "Fail")
    with pytest.raises(AgentRowError) as failed:
        asyncio.run(agent_for(arn)({"company_name": "Gone"}))
    assert failed.value.reason == "Agent state machine failed: WebsiteInactive"
    assert failed.value.detail == "Website no longer active"


def test_an_execution_that_outlives_the_timeout_is_stopped(sfn):
    states = {"Think": {"Type": "Wait", "Seconds": 30, "Next": "Done"}, "Done": {"Type": "Succeed"}}
    arn = state_machine(sfn, "slow-agent", states, "Think")
    with pytest.raises(AgentRowError) as failed:
        asyncio.run(agent_for(arn, timeout_seconds=0.5)({"company_name": "Slow"}))
    assert failed.value.reason == "Agent state machine did not finish within 0.5s"
    execution = sfn.list_executions(stateMachineArn=arn)["executions"][0]
    assert sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "ABORTED"


def test_a_row_cancelled_by_the_workers_timeout_stops_its_execution(sfn):
    states = {"Think": {"Type": "Wait", "Seconds": 30, "Next": "Done"}, "Done": {"Type": "Succeed"}}
    arn = state_machine(sfn, "slow-agent-2", states, "Think")
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(asyncio.wait_for(agent_for(arn)({"company_name": "Slow"}), timeout=0.3))
    execution = sfn.list_executions(stateMachineArn=arn)["executions"][0]
    assert sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "ABORTED"


def test_a_missing_state_machine_fails_the_row(sfn):
    arn = f"arn:aws:states:{REGION}:123456789012:stateMachine:missing"
    with pytest.raises(AgentRowError) as failed:
        asyncio.run(agent_for(arn, max_attempts=1)({"company_name": "Acme"}))
    assert failed.value.reason.startswith("Agent request rejected (HTTP 4")


def test_structured_output_of_accepts_text_and_envelopes():
    assert structured_output_of('{"structured_output": {"a": 1}}') == {"a": 1}
    assert structured_output_of({"structured_output": '{"a": 1}'}) == {"a": 1}
    assert structured_output_of({"statusCode": 200, "body": '{"structured_output": {"a": 1}}'}) == {"a": 1}
    assert structured_output_of({"a": 1}) == {"a": 1}
    with pytest.raises(AgentRowError):
        structured_output_of('{"a": ')
