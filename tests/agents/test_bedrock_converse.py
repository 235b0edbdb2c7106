"""The direct Bedrock path of LLM agents (agents.bedrock_converse) over real HTTP against a fake Converse server."""

import asyncio

import pytest

from airflow_provider_batchorch.agents.bedrock_converse import BedrockConverseRows
from airflow_provider_batchorch.agents.llm_agent import ROW_BEGIN, ROW_END, LlmAgent
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.backoff import RetryPolicy
from airflow_provider_batchorch.core.errors import AgentRowError
from benchmarks.peers.fake_bedrock_server import FakeBedrockServer

MODEL_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"
SCHEMA = {
    "type": "object",
    "properties": {
        "row_id": {"type": "string"},
        "industry": {"type": "string", "enum": ["Technology", "Retail"]},
        "employee_count": {"type": "integer"},
    },
    "required": ["row_id", "industry", "employee_count"],
    "additionalProperties": False,
}
FAST = RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.02, jitter=0.01)


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("BATCHORCH_LLM_VIA_PYDANTIC_AI", raising=False)


def agent_for(server, **invocation):
    spec = AgentSpec(
        name="company-enrichment-agent",
        input_fields=[{"name": "row_id"}, {"name": "company_name"}],
        output_schema=SCHEMA,
        prompt="You enrich companies.",
        invocation={"kind": "llm", "model": f"bedrock:{MODEL_ID}", "base_url": server.url, "region": "eu-west-1",
                    **invocation},
    )
    return LlmAgent(spec, retry_policy=FAST)


def assert_signed_by_sigv4(server, region):
    """Verify each request's SigV4 signature the way AWS does: recompute it from what arrived, with the secret."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    for raw_path, headers, body in server.signed:
        authorization = headers["Authorization"]
        scope = authorization.split("Credential=")[1].split(",")[0]
        assert scope.split("/")[2:] == [region, "bedrock", "aws4_request"], scope
        signed_names = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
        kept = {name: value for name, value in headers.items() if name.lower() in signed_names}
        request = AWSRequest("POST", server.url + raw_path, data=body, headers=kept)
        request.context["timestamp"] = headers["X-Amz-Date"]
        signer = SigV4Auth(Credentials("AKIATESTING", "testing"), "bedrock", region)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        assert authorization.endswith(f"Signature={expected}"), "the signature does not match the request"


async def answer(agent, row):
    try:
        return await agent(row)
    finally:
        await agent.aclose()


def test_schema_valid_output_tokens_and_the_request_pydantic_ai_would_send():
    with FakeBedrockServer(0.0, script={"ROW-1": ["ok"]}) as server:
        agent = agent_for(server, temperature=0.0, max_tokens=256)
        assert isinstance(agent.chat, BedrockConverseRows), "bedrock: models take the direct path"
        result = asyncio.run(answer(agent, {"row_id": "ROW-1", "company_name": "Acme"}))
    assert result.output == {"row_id": "ROW-1", "industry": "Technology", "employee_count": 1}
    assert (result.input_tokens, result.output_tokens) == (50, 10)
    [request] = server.requests
    assert server.paths == [f"/model/{MODEL_ID.replace(':', '%3A')}/converse"]
    assert_signed_by_sigv4(server, "eu-west-1")
    system = request["system"][0]["text"]
    assert system.startswith("You enrich companies.") and "untrusted data" in system
    [message] = request["messages"]
    text = message["content"][0]["text"]
    assert message["role"] == "user" and f"{ROW_BEGIN}\n" in text and text.endswith(ROW_END)
    [tool] = request["toolConfig"]["tools"]
    assert tool["toolSpec"]["name"] == "final_result" and tool["toolSpec"]["inputSchema"]["json"] == SCHEMA
    assert request["toolConfig"]["toolChoice"] == {"any": {}}
    assert request["inferenceConfig"] == {"maxTokens": 256, "temperature": 0.0}


def test_a_violation_is_reasked_as_a_tool_result_error_and_both_answers_are_counted():
    with FakeBedrockServer(0.0, script={"ROW-2": ["violation", "ok"]}) as server:
        result = asyncio.run(answer(agent_for(server), {"row_id": "ROW-2", "company_name": "Shop"}))
    assert result.output["row_id"] == "ROW-2"
    assert (result.input_tokens, result.output_tokens) == (100, 20)
    reask = server.requests[1]["messages"]
    assert [m["role"] for m in reask] == ["user", "assistant", "user"]
    tool_use = reask[1]["content"][0]["toolUse"]
    tool_result = reask[2]["content"][0]["toolResult"]
    assert tool_result["toolUseId"] == tool_use["toolUseId"] and tool_result["status"] == "error"
    assert "row_id" in tool_result["content"][0]["text"]


def test_a_violation_after_the_last_reask_fails_the_row_with_the_validator_reason():
    with FakeBedrockServer(0.0, script={"ROW-3": ["violation", "violation"]}) as server:
        with pytest.raises(AgentRowError) as failed:
            asyncio.run(answer(agent_for(server), {"row_id": "ROW-3", "company_name": "Shop"}))
    assert "row_id" in str(failed.value) and len(server.requests) == 2
    assert failed.value.input_tokens == 100, "tokens of a failed row are still counted"


def test_throttling_exception_is_retried_and_slows_the_limiter():
    with FakeBedrockServer(0.0, script={"ROW-4": ["throttle", "ok"]}) as server:
        agent = agent_for(server)
        result = asyncio.run(answer(agent, {"row_id": "ROW-4", "company_name": "Shop"}))
    assert result.output["row_id"] == "ROW-4"
    assert len(server.requests) == 2 and agent.limiter.throttles == 1


def test_a_validation_exception_fails_the_row_at_once_with_its_message():
    with FakeBedrockServer(0.0, script={"ROW-5": ["invalid", "ok"]}) as server:
        with pytest.raises(AgentRowError) as failed:
            asyncio.run(answer(agent_for(server), {"row_id": "ROW-5", "company_name": "Shop"}))
    assert failed.value.reason == "Agent request rejected (HTTP 400)" and len(server.requests) == 1
    assert "ValidationException" in str(failed.value) and "model identifier is invalid" in str(failed.value)


def test_the_env_switch_sends_bedrock_through_pydantic_ai_with_the_same_answer(monkeypatch):
    monkeypatch.setenv("BATCHORCH_LLM_VIA_PYDANTIC_AI", "1")
    with FakeBedrockServer(0.0, script={"ROW-6": ["ok"]}) as server:
        agent = agent_for(server)
        assert agent.chat is None
        result = asyncio.run(answer(agent, {"row_id": "ROW-6", "company_name": "Acme"}))
    assert result.output == {"row_id": "ROW-6", "industry": "Technology", "employee_count": 1}
    assert server.paths == [f"/model/{MODEL_ID.replace(':', '%3A')}/converse"], "boto3 sends the same path"
    assert_signed_by_sigv4(server, "eu-west-1")  # the check itself agrees with botocore's own signing


def test_a_bedrock_api_key_goes_through_botocore_which_sends_it(monkeypatch):
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key")
    with FakeBedrockServer(0.0, script={}) as server:
        assert agent_for(server).chat is None  # botocore sends the key; SigV4 would sign with other credentials


def test_the_region_comes_from_aws_region_when_the_entry_has_none(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with FakeBedrockServer(0.0, script={}) as server:
        assert agent_for(server, region=None).chat.region == "ap-south-1"
