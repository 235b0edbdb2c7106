"""The OpenAI-compatible path of LLM agents: direct chat completions over one shared aiohttp pool."""

import asyncio

from airflow_provider_batchorch.agents.llm_agent import LlmAgent
from airflow_provider_batchorch.agents.openai_chat import shared_session
from airflow_provider_batchorch.aws.worker_processes import argv_without_processes
from tests.agents.test_llm_agent import good, spec
from tests.support.openai_stub_server import OpenAIStubServer, ScriptedResponder, answer


def test_openai_compatible_agents_skip_pydantic_ai_and_share_one_pool_per_endpoint():
    script = {str(i): [answer(good(f"C{i}"))] for i in range(6)}
    with OpenAIStubServer(ScriptedResponder(script, key=lambda row: str(row.get("id")))) as server:
        first, second = LlmAgent(spec(server.base_url)), LlmAgent(spec(server.base_url))
        assert first.agent is None and first.chat is not None  # no pydantic-ai Agent built for this path

        async def rows():
            results = await asyncio.gather(*(first({"id": str(i), "company_name": f"C{i}"}) for i in range(3)),
                                           *(second({"id": str(i), "company_name": f"C{i}"}) for i in range(3, 6)))
            assert shared_session(first.chat.base_url) is shared_session(second.chat.base_url)
            await first.aclose()
            return results

        results = asyncio.run(rows())
    assert [r.output["company_name"] for r in results] == [f"C{i}" for i in range(6)]
    bodies = [request.body for request in server.requests]
    constant = [{k: v for k, v in body.items() if k != "messages"} for body in bodies]
    assert all(part == constant[0] for part in constant) and constant[0]["tools"][0]["function"]["name"]
    assert all(body["messages"][0] == bodies[0]["messages"][0] for body in bodies)  # one system prompt


def test_worker_copies_get_the_command_line_without_processes():
    argv = ["worker", "--queue", "q", "--processes", "4", "--max-chunks", "8", "--processes=2"]
    assert argv_without_processes(argv) == ["worker", "--queue", "q", "--max-chunks", "8"]
