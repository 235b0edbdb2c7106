"""Lambda agents: request/response on moto (its Lambda runs no code without Docker: results are queued), and the
payload shapes (FunctionError, throttling) with botocore's Stubber."""

import asyncio
import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from airflow_provider_batchorch.agents.lambda_agent import LambdaAgent, lambda_client
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import AgentRowError
from airflow_provider_batchorch.agents.kinds import build_agent_call
from airflow_provider_batchorch.core.backoff import RetryPolicy

REGION = "us-east-1"
FAST = RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.02, jitter=0.01)
OUTPUT = {"industry": "Technology", "employee_count": 120}


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)


def spec(function_name="company-agent", qualifier=None):
    return AgentSpec(
        name="company-enrichment-agent",
        input_fields=[{"name": "company_name"}],
        output_schema={"type": "object", "properties": {"industry": {"type": "string"}}},
        invocation={"kind": "lambda", "function_name": function_name, "qualifier": qualifier, "region": REGION},
    )


def create_function(name="company-agent"):
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="agent-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": b"not run by moto without docker"},
    )


def queue_results(*payloads):
    from moto.awslambda_simple.models import lambda_simple_backends

    backend = lambda_simple_backends[DEFAULT_ACCOUNT_ID][REGION]
    backend.lambda_simple_results_queue.extend(json.dumps(p) for p in payloads)


@mock_aws(config={"lambda": {"use_docker": False}})
def test_invoke_on_moto_with_structured_output_or_the_whole_payload():
    create_function()
    queue_results({"structured_output": OUTPUT, "usage": {"input_tokens": 30, "output_tokens": 9}}, OUTPUT)
    agent = build_agent_call(spec())
    first = asyncio.run(agent({"company_name": "Acme"}))
    second = asyncio.run(agent({"company_name": "Beta"}))
    assert first.output == OUTPUT and (first.input_tokens, first.output_tokens) == (30, 9)
    assert second.output == OUTPUT and second.input_tokens == 0


@mock_aws(config={"lambda": {"use_docker": False}})
def test_moto_echo_shows_the_payload_is_the_mapped_row():
    create_function()
    result = asyncio.run(build_agent_call(spec())({"company_name": "Acme", "website": "acme.com"}))
    assert result.output == {"company_name": "Acme", "website": "acme.com"}  # moto echoes the request payload


def streaming(payload):
    data = json.dumps(payload).encode()
    return StreamingBody(io.BytesIO(data), len(data))


def stubbed(qualifier=None):
    client = lambda_client(REGION)
    return client, Stubber(client), LambdaAgent(spec(qualifier=qualifier), client=client, retry_policy=FAST)


def test_request_shape():
    client, stub, agent = stubbed(qualifier="live")
    expected = {
        "FunctionName": "company-agent",
        "InvocationType": "RequestResponse",
        "Qualifier": "live",
        "Payload": json.dumps({"company_name": "Acmé"}, ensure_ascii=False).encode(),
    }
    stub.add_response("invoke", {"StatusCode": 200, "Payload": streaming({"structured_output": OUTPUT})}, expected)
    with stub:
        assert asyncio.run(agent({"company_name": "Acmé"})).output == OUTPUT
    stub.assert_no_pending_responses()


def test_function_error_fails_the_row_with_the_functions_message():
    client, stub, agent = stubbed()
    error = {"errorMessage": "Website no longer active", "errorType": "ValueError", "stackTrace": []}
    stub.add_response("invoke", {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": streaming(error)})
    with stub, pytest.raises(AgentRowError) as failed:
        asyncio.run(agent({"company_name": "Gone Inc"}))
    assert failed.value.reason == "Website no longer active"
    assert "ValueError" in failed.value.detail


def test_throttling_is_retried_and_lowers_the_concurrency_limit():
    client, stub, agent = stubbed()
    stub.add_client_error("invoke", "TooManyRequestsException", "Rate exceeded", 429,
                          response_meta={"HTTPHeaders": {"retry-after": "0"}})
    stub.add_response("invoke", {"StatusCode": 200, "Payload": streaming(OUTPUT)})
    with stub:
        assert asyncio.run(agent({"company_name": "Acme"})).output == OUTPUT
    assert agent.limiter.throttles == 1


def test_persistent_throttling_fails_the_row():
    client, stub, agent = stubbed()
    for _ in range(FAST.max_attempts):
        stub.add_client_error("invoke", "TooManyRequestsException", "Rate exceeded", 429)
    with stub, pytest.raises(AgentRowError) as failed:
        asyncio.run(agent({"company_name": "Acme"}))
    assert failed.value.reason == "Agent rate limited"


def test_a_missing_function_fails_the_row_without_retries():
    client, stub, agent = stubbed()
    stub.add_client_error("invoke", "ResourceNotFoundException", "Function not found: company-agent", 404)
    with stub, pytest.raises(AgentRowError) as failed:
        asyncio.run(agent({"company_name": "Acme"}))
    assert failed.value.reason == "Agent request rejected (HTTP 404)"
    stub.assert_no_pending_responses()


def test_a_payload_that_is_not_a_json_object_fails_the_row():
    client, stub, agent = stubbed()
    data = b"OK, done"
    stub.add_response("invoke", {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(data), len(data))})
    with stub, pytest.raises(AgentRowError) as failed:
        asyncio.run(agent({"company_name": "Acme"}))
    assert failed.value.code == "INVALID_JSON"
