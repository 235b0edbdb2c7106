import asyncio

import boto3
import pytest
from moto import mock_aws

from airflow_provider_batchorch.core.result_cache import (
    CachedAgentCall,
    InMemoryResultCache,
    LocalDirResultCache,
    S3ResultCache,
    cache_key,
)
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import AgentRowError
from airflow_provider_batchorch.core.agent_call import AgentResult

SCHEMA = {"type": "object", "properties": {"industry": {"type": "string"}}, "required": ["industry"]}


def spec(**changes):
    base = dict(
        name="company-enrichment-agent",
        version="1",
        input_fields=[{"name": "company_name"}],
        output_schema=SCHEMA,
        prompt="Enrich.",
        invocation={"kind": "python", "callable": "json:dumps"},
    )
    base.update(changes)
    return AgentSpec.model_validate(base)


class CountingAgent:
    def __init__(self, output=None, error=None, delay=0.01):
        self.calls = []
        self.output, self.error, self.delay = output, error, delay

    async def __call__(self, inputs):
        self.calls.append(dict(inputs))
        await asyncio.sleep(self.delay)
        if self.error:
            raise self.error
        output = self.output if self.output is not None else {"industry": f"for {inputs['company_name']}"}
        return AgentResult(output=output, input_tokens=100, output_tokens=10)


def test_cache_key_is_stable_and_covers_what_changes_the_answer():
    inputs = {"company_name": "Acme", "website": "acme.com"}
    key = cache_key(spec(), inputs)
    assert len(key) == 64 and key == cache_key(spec(), dict(reversed(list(inputs.items()))))
    different = [
        cache_key(spec(version="2"), inputs),
        cache_key(spec(prompt="Enrich better."), inputs),
        cache_key(spec(output_schema={**SCHEMA, "required": []}), inputs),
        cache_key(spec(name="other"), inputs),
        cache_key(spec(invocation={"kind": "llm", "model": "test"}), inputs),
        cache_key(spec(), {**inputs, "website": "acme.org"}),
    ]
    assert key not in different and len(set(different)) == len(different)


def test_identical_rows_in_a_batch_are_called_once():
    agent = CountingAgent()
    cached = CachedAgentCall(agent, spec())
    rows = [{"company_name": name} for name in ["Acme", "Beta", "Acme", "Acme", "Beta", "Gamma"]]

    async def main():
        return await asyncio.gather(*(cached(row) for row in rows))

    results = asyncio.run(main())
    assert [r.output["industry"] for r in results] == [f"for {row['company_name']}" for row in rows]
    assert len(agent.calls) == 3
    assert cached.stats.calls_made == 3 and cached.stats.deduplicated == 3 and cached.stats.calls_saved == 3
    assert sum(r.input_tokens for r in results) == 300, "reused results cost no tokens"


def test_a_failure_is_shared_within_the_batch_but_never_stored():
    store = InMemoryResultCache()
    agent = CountingAgent(error=AgentRowError("Website no longer active"))
    cached = CachedAgentCall(agent, spec(), store)

    async def main():
        return await asyncio.gather(*(cached({"company_name": "Gone"}) for _ in range(3)), return_exceptions=True)

    results = asyncio.run(main())
    assert all(isinstance(r, AgentRowError) for r in results)
    assert len(agent.calls) == 1 and store.items == {}


def test_a_cancelled_call_lets_the_waiting_row_call_itself():
    agent = CountingAgent(delay=0.05)
    cached = CachedAgentCall(agent, spec())

    async def main():
        first = asyncio.create_task(cached({"company_name": "Acme"}))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(cached({"company_name": "Acme"}))
        await asyncio.sleep(0.01)
        first.cancel()
        result = await second
        with pytest.raises(asyncio.CancelledError):
            await first
        return result

    assert asyncio.run(main()).output == {"industry": "for Acme"}
    assert len(agent.calls) == 2


def test_results_are_reused_across_batches_through_a_local_dir(tmp_path):
    store = LocalDirResultCache(tmp_path / "cache")
    rows = [{"company_name": "Acme"}, {"company_name": "Beta"}]

    async def batch(cached):
        return await asyncio.gather(*(cached(r) for r in rows))

    first_agent = CountingAgent()
    first = CachedAgentCall(first_agent, spec(), store)
    asyncio.run(batch(first))
    assert first.stats.calls_made == 2 and len(list((tmp_path / "cache").rglob("*.json"))) == 2

    second_agent = CountingAgent()
    second = CachedAgentCall(second_agent, spec(), store)
    results = asyncio.run(batch(second))
    assert second_agent.calls == [] and second.stats.cache_hits == 2 and second.stats.calls_saved == 2
    assert [r.output for r in results] == [{"industry": "for Acme"}, {"industry": "for Beta"}]

    bumped = CachedAgentCall(CountingAgent(), spec(version="2"), store)
    asyncio.run(bumped(rows[0]))
    assert bumped.stats.calls_made == 1, "a new agent version does not reuse old answers"


def test_outputs_that_violate_the_schema_are_not_stored(tmp_path):
    store = LocalDirResultCache(tmp_path)
    cached = CachedAgentCall(CountingAgent(output={"industry": 42}), spec(), store)
    asyncio.run(cached({"company_name": "Acme"}))
    assert list(tmp_path.rglob("*.json")) == []


def test_the_batch_memory_is_bounded():
    cached = CachedAgentCall(CountingAgent(delay=0), spec(), max_entries=10)

    async def main():
        for i in range(50):
            await cached({"company_name": f"c{i}"})

    asyncio.run(main())
    assert len(cached._batch) == 10


@mock_aws
def test_s3_result_cache():
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="results")
    store = S3ResultCache(s3, "results", prefix="cache/v1/")
    key = cache_key(spec(), {"company_name": "Acme"})
    assert store.get(key) is None
    store.put(key, {"output": {"industry": "tech"}})
    assert store.get(key) == {"output": {"industry": "tech"}}
    listed = s3.list_objects_v2(Bucket="results")["Contents"]
    assert [o["Key"] for o in listed] == [f"cache/v1/{key[:2]}/{key}.json"]

    agent = CountingAgent()
    cached = CachedAgentCall(agent, spec(), store)
    assert asyncio.run(cached({"company_name": "Acme"})).output == {"industry": "tech"}
    assert agent.calls == [] and cached.stats.cache_hits == 1


def test_cache_key_of_a_builtin_agent_is_pinned(monkeypatch):
    """Incremental runs find the results of earlier batches: the key of a built-in agent's row must not change when
    the built-in agents move (their callable path is part of the hashed invocation). It changes with the agent's
    version: 2.0.0 (outputs only from the row or shipped data) must not reuse 1.x answers."""
    from airflow_provider_batchorch.builtin_agents import builtin_specs

    monkeypatch.delenv("BATCHORCH_LLM_MODEL", raising=False)
    company = next(s for s in builtin_specs() if s.name == "company-enrichment-agent")
    key = cache_key(company, {"company_name": "Acme Corp", "website": "acme.com"})
    assert key == "329d7577ff195fbc8119401015a93c0e64b2265da26b62dfb4d7b1283bc7060a"
