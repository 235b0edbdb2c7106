"""Which registries may bring code (core.registry_trust): configured files are trusted, a run request's is not."""

from __future__ import annotations

import json

import pytest

from airflow_provider_batchorch.core.errors import RegistryError, UntrustedAgentError
from airflow_provider_batchorch.core.registry_trust import (
    ALLOWED_AGENT_TARGETS_ENV,
    REGISTRY_FILES_ENV,
    RegistryTrust,
    agent_targets,
    trusting_registry_files,
)
from airflow_provider_batchorch.agents.registry_loader import assemble_registry

SCHEMA = {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}


def entry(name: str, invocation: dict, **extra) -> dict:
    return {"name": name, "input_fields": ["text"], "output_schema": SCHEMA, "invocation": invocation, **extra}


def registry_file(tmp_path, *entries: dict, name: str = "registry.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"agents": list(entries)}))
    return str(path)


CODE = entry("shell-agent", {"kind": "python", "callable": "os:system"})
LLM = entry("label-agent", {"kind": "llm", "model": "openai:gpt-4.1-mini", "base_url": "http://llm.internal:8000/v1"})
LLM_TARGETS = "openai:gpt-4.1-*, http://llm.internal:8000/*"


def test_settings_are_read_from_the_environment_in_one_place(tmp_path):
    configured = registry_file(tmp_path, CODE)
    trust = RegistryTrust.from_env({REGISTRY_FILES_ENV: f" {configured} , s3://ops/agents.yaml",
                                    ALLOWED_AGENT_TARGETS_ENV: LLM_TARGETS}, registry_files=["s3://dag/a.yaml", None])
    assert trust.registry_files == ["s3://dag/a.yaml", configured, "s3://ops/agents.yaml"]
    assert trust.allowed_agent_targets == ["openai:gpt-4.1-*", "http://llm.internal:8000/*"]
    assert trust.is_configured(str(tmp_path / "." / "registry.json")) and not trust.is_configured("s3://ops/other.yaml")
    assert RegistryTrust.from_env({}) == RegistryTrust()


def test_a_requested_registry_may_not_run_code(tmp_path):
    with pytest.raises(UntrustedAgentError) as caught:
        assemble_registry(registry_file(tmp_path, CODE), trust=RegistryTrust())
    text = str(caught.value)
    assert text.startswith("UNTRUSTED_AGENT: the agent 'shell-agent'") and "os:system" in text
    assert "\n" not in text and "Ask an operator" in text and REGISTRY_FILES_ENV in text
    assert caught.value.details["reason"] == "runs_code"


def test_the_same_file_configured_by_the_operator_is_trusted(tmp_path):
    path = registry_file(tmp_path, CODE)
    registry = assemble_registry(path, trust=RegistryTrust(registry_files=[path]))
    assert registry.get("shell-agent").invocation.callable == "os:system"
    with trusting_registry_files(path, environ=(environ := {})):
        assert assemble_registry(path, trust=RegistryTrust.from_env(environ)).get("shell-agent")
    assert environ == {}


def test_llm_target_off_the_allow_list_is_refused_and_on_it_accepted(tmp_path):
    path = registry_file(tmp_path, LLM)
    with pytest.raises(UntrustedAgentError, match="allow-list BATCHORCH_ALLOWED_AGENT_TARGETS, which is empty"):
        assemble_registry(path, trust=RegistryTrust())
    with pytest.raises(UntrustedAgentError, match="base_url 'http://llm.internal:8000/v1'") as caught:
        assemble_registry(path, trust=RegistryTrust(allowed_agent_targets=["openai:*"]))
    assert caught.value.details["target"] == "http://llm.internal:8000/v1"
    trust = RegistryTrust.from_env({ALLOWED_AGENT_TARGETS_ENV: LLM_TARGETS})
    assert assemble_registry(path, trust=trust).get("label-agent").invocation.model == "openai:gpt-4.1-mini"


@pytest.mark.parametrize("invocation, target", [
    ({"kind": "lambda", "function_name": "arn:aws:lambda:us-east-1:111122223333:function:evil"},
     "arn:aws:lambda:us-east-1:111122223333:function:evil"),
    ({"kind": "stepfunctions", "state_machine_arn": "arn:aws:states:us-east-1:111122223333:stateMachine:x"},
     "arn:aws:states:us-east-1:111122223333:stateMachine:x"),
    ({"kind": "lambda", "function_name": "agents-ok", "endpoint_url": "http://attacker.example"},
     "http://attacker.example"),
    ({"kind": "llm", "model": "test", "api_key_env": "AWS_SECRET_ACCESS_KEY"}, "env:AWS_SECRET_ACCESS_KEY"),
    ({"kind": "llm", "model": "test", "conn_id": "aws_default"}, "conn:aws_default"),
])
def test_deployed_targets_and_credentials_must_be_allow_listed(tmp_path, invocation, target):
    path = registry_file(tmp_path, entry("remote-agent", invocation))
    trust = RegistryTrust(allowed_agent_targets=["agents-*", "test"])
    with pytest.raises(UntrustedAgentError) as caught:
        assemble_registry(path, trust=trust)
    assert caught.value.details["target"] == target
    widened = RegistryTrust(allowed_agent_targets=[*trust.allowed_agent_targets, target])
    assert assemble_registry(path, trust=widened).get("remote-agent")


def test_agent_targets_lists_what_an_invocation_calls(tmp_path):
    path = registry_file(tmp_path, CODE, LLM)
    registry = assemble_registry(path, trust=RegistryTrust(registry_files=[path]))
    assert agent_targets(registry.get("shell-agent")) == []
    assert agent_targets(registry.get("label-agent")) == [("model", "openai:gpt-4.1-mini"),
                                                          ("base_url", "http://llm.internal:8000/v1")]


@pytest.mark.parametrize("name, aliases", [("company-enrichment-agent", []), ("Company Enrichment Agent", []),
                                           ("my-agent", ["company-enrichment-agent"])])
def test_a_requested_registry_may_not_replace_a_trusted_agent(tmp_path, name, aliases):
    llm = entry(name, {"kind": "llm", "model": "test"}, aliases=aliases)
    path = registry_file(tmp_path, llm)
    with pytest.raises(UntrustedAgentError, match="would replace the configured agent 'company-enrichment-agent'"):
        assemble_registry(path, trust=RegistryTrust(allowed_agent_targets=["*"]))


def test_a_requested_registry_may_not_replace_an_agent_of_a_configured_file(tmp_path):
    configured = registry_file(tmp_path, CODE, name="ops.json")
    replacing = registry_file(tmp_path, entry("shell-agent", {"kind": "llm", "model": "test"}))
    with pytest.raises(UntrustedAgentError, match="replace the configured agent 'shell-agent'"):
        assemble_registry(replacing, trust=RegistryTrust(registry_files=[configured], allowed_agent_targets=["*"]))


def test_an_s3_registry_needs_a_reader_and_trusted_sources_come_first(tmp_path):
    with pytest.raises(RegistryError, match="no S3 client"):
        assemble_registry("s3://bucket/registry.yaml", trust=RegistryTrust())
    texts = {"s3://ops/agents.json": json.dumps({"agents": [CODE]}),
             "s3://conf/evil.json": json.dumps({"agents": [entry("evil", {"kind": "python", "callable": "os:system"})]})}
    trust = RegistryTrust(registry_files=["s3://ops/agents.json"])
    assert "shell-agent" in assemble_registry(None, trust=trust, read_s3=texts.__getitem__)
    with pytest.raises(UntrustedAgentError, match="'evil'"):
        assemble_registry("s3://conf/evil.json", trust=trust, read_s3=texts.__getitem__)
