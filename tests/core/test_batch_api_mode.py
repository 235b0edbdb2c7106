"""``execution_mode``: auto's rule (rows, price table, batch API of the model) and batch_api's refusal."""

import pytest

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.batch_api.mode import AUTO_MIN_ROWS, batch_provider, choose_execution_mode
from airflow_provider_batchorch.core.errors import BatchApiUnavailableError


def llm(model: str, base_url: str | None = None) -> AgentSpec:
    return AgentSpec.model_validate({
        "name": "a", "input_fields": [{"name": "text"}],
        "output_schema": {"type": "object", "properties": {"label": {"type": "string"}}},
        "invocation": {"kind": "llm", "model": model, "base_url": base_url},
    })


def test_which_models_have_a_batch_api():
    assert batch_provider(llm("openai:gpt-4.1-mini")) == "openai"
    assert batch_provider(llm("my-model", "http://127.0.0.1:8000/v1")) == "openai"
    assert batch_provider(llm("bedrock:us.anthropic.claude-3-5-haiku-20241022-v1:0")) == "bedrock"
    assert batch_provider(llm("bedrock:amazon.nova-lite-v1:0")) is None  # its body is not built here
    assert batch_provider(llm("test")) is None and batch_provider(llm("anthropic:claude-3-5-haiku")) is None


def test_auto_picks_the_batch_api_only_for_large_batches_that_save_money():
    agent = llm("openai:gpt-4.1")
    assert choose_execution_mode("auto", agent, rows=AUTO_MIN_ROWS - 1)[0] == "realtime"
    mode, reason = choose_execution_mode("auto", agent, rows=100_000)
    assert mode == "batch_api" and "saves" in reason
    # Cheap model, few rows over the minimum: the saving is below the threshold.
    assert choose_execution_mode("auto", llm("openai:gpt-4.1-nano"), rows=AUTO_MIN_ROWS)[0] == "realtime"
    # No price known: no saving can be shown.
    assert choose_execution_mode("auto", llm("my-model", "http://h/v1"), rows=10**6)[0] == "realtime"
    assert choose_execution_mode("auto", llm("test"), rows=10**6)[0] == "realtime"


def test_batch_api_for_a_model_without_one_is_refused_with_the_fix():
    with pytest.raises(BatchApiUnavailableError, match="realtime"):
        choose_execution_mode("batch_api", llm("test"), rows=10)
    assert choose_execution_mode("batch_api", llm("my-model", "http://h/v1"), rows=1)[0] == "batch_api"
