"""The Bedrock path of LLM agents: Converse requests checked with botocore's Stubber (no network)."""

import asyncio
import json

import pytest
from botocore.stub import Stubber

from airflow_provider_batchorch.agents.bedrock import bedrock_model, bedrock_runtime_client
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import AgentRowError
from airflow_provider_batchorch.agents.llm_agent import ROW_BEGIN, ROW_END, LlmAgent, build_model, resolve_credentials
from airflow_provider_batchorch.core.backoff import RetryPolicy

MODEL_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"
SCHEMA = {
    "type": "object",
    "properties": {"industry": {"type": "string", "enum": ["Technology", "Retail"]}, "employee_count": {"type": "integer"}},
    "required": ["industry", "employee_count"],
    "additionalProperties": False,
}


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def spec(**invocation):
    return AgentSpec(
        name="company-enrichment-agent",
        input_fields=[{"name": "company_name"}],
        output_schema=SCHEMA,
        prompt="You enrich companies.",
        invocation={"kind": "llm", "model": f"bedrock:{MODEL_ID}", "region": "us-east-1", **invocation},
    )


def tool_use(arguments, tool_use_id="tooluse_1"):
    return {
        "output": {"message": {"role": "assistant", "content": [
            {"toolUse": {"toolUseId": tool_use_id, "name": "final_result", "input": arguments}}]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 120, "outputTokens": 18, "totalTokens": 138},
        "metrics": {"latencyMs": 250},
    }


class Recorder:
    """Captures the Converse parameters as the client sends them (Stubber checks them only for equality)."""

    def __init__(self, client):
        self.requests = []
        client.meta.events.register("provide-client-params.bedrock-runtime.Converse", self.record)

    def record(self, params, **kwargs):
        self.requests.append(json.loads(json.dumps(params)))


def stubbed_agent(**invocation):
    client = bedrock_runtime_client("us-east-1")
    recorder, stub = Recorder(client), Stubber(client)
    agent = LlmAgent(
        spec(**invocation),
        model=bedrock_model(MODEL_ID, client=client),
        retry_policy=RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.02, jitter=0.01),
    )
    return agent, stub, recorder


def test_converse_request_shape_and_usage():
    agent, stub, recorder = stubbed_agent(temperature=0.0, max_tokens=256)
    stub.add_response("converse", tool_use({"industry": "Technology", "employee_count": 120}))
    with stub:
        result = asyncio.run(agent({"company_name": "Acme"}))
    assert result.output == {"industry": "Technology", "employee_count": 120}
    assert (result.input_tokens, result.output_tokens) == (120, 18)

    [request] = recorder.requests
    assert request["modelId"] == MODEL_ID
    assert request["system"][0]["text"].startswith("You enrich companies.")
    assert "untrusted data" in request["system"][0]["text"]
    [message] = request["messages"]
    text = message["content"][0]["text"]
    assert message["role"] == "user" and f"{ROW_BEGIN}\n" in text and text.endswith(ROW_END)
    assert json.loads(text.split("\n")[-2]) == {"company_name": "Acme"}
    [tool] = request["toolConfig"]["tools"]
    assert tool["toolSpec"]["name"] == "final_result"
    assert tool["toolSpec"]["inputSchema"]["json"]["properties"] == SCHEMA["properties"]
    assert tool["toolSpec"]["inputSchema"]["json"]["required"] == SCHEMA["required"]
    assert request["toolConfig"]["toolChoice"] == {"any": {}}, "the model must answer with the output tool"
    assert request["inferenceConfig"] == {"maxTokens": 256, "temperature": 0.0}


def test_a_violation_is_reasked_as_a_tool_result_error():
    agent, stub, recorder = stubbed_agent()
    stub.add_response("converse", tool_use({"industry": "Space", "employee_count": 1}, "tooluse_1"))
    stub.add_response("converse", tool_use({"industry": "Retail", "employee_count": 1}, "tooluse_2"))
    with stub:
        result = asyncio.run(agent({"company_name": "Shop"}))
    assert result.output == {"industry": "Retail", "employee_count": 1}
    assert result.input_tokens == 240, "both requests are counted"
    reask = recorder.requests[1]["messages"]
    assert [m["role"] for m in reask] == ["user", "assistant", "user"]
    tool_result = reask[-1]["content"][0]["toolResult"]
    assert tool_result["toolUseId"] == "tooluse_1" and tool_result["status"] == "error"
    assert "industry" in json.dumps(tool_result["content"])


def test_throttling_exception_is_retried():
    agent, stub, recorder = stubbed_agent()
    stub.add_client_error("converse", "ThrottlingException", "Too many requests, please wait", 429)
    stub.add_response("converse", tool_use({"industry": "Retail", "employee_count": 3}))
    with stub:
        result = asyncio.run(agent({"company_name": "Shop"}))
    assert result.output["industry"] == "Retail"
    assert len(recorder.requests) == 2 and agent.limiter.throttles == 1


def test_a_validation_exception_fails_the_row_at_once():
    agent, stub, recorder = stubbed_agent()
    stub.add_client_error("converse", "ValidationException", "The provided model identifier is invalid.", 400)
    with stub, pytest.raises(AgentRowError) as failed:
        asyncio.run(agent({"company_name": "Shop"}))
    assert failed.value.reason == "Agent request rejected (HTTP 400)" and len(recorder.requests) == 1


def test_bedrock_model_strings_build_a_converse_model_with_our_retries_only():
    from pydantic_ai.models.bedrock import BedrockConverseModel

    invocation = spec(region="eu-west-1").invocation
    model = build_model(invocation, resolve_credentials(invocation), SCHEMA)
    assert isinstance(model, BedrockConverseModel) and model.model_name == MODEL_ID
    client = model.client
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.config.retries["total_max_attempts"] == 1, "botocore does not retry: core.backoff does"
    assert client.meta.config.max_pool_connections >= 200, "rows in flight reuse connections (botocore keeps 10)"
