"""escalate_to resolves among trusted agents only: a run request's registry can neither be escalated to nor point
its own agents at an untrusted one, and an entry cannot bring the resolved spec itself."""

from __future__ import annotations

import pytest

from airflow_provider_batchorch.agents.registry_loader import assemble_registry
from airflow_provider_batchorch.core.errors import EscalationError, RegistryError, UntrustedAgentError
from airflow_provider_batchorch.core.registry import load_registry_text
from airflow_provider_batchorch.core.registry_trust import RegistryTrust

SCHEMA = "{type: object, properties: {label: {type: string}, confidence_score: {type: number}}}"


def _entry(name: str, invocation: str, extra: str = "", schema: str = SCHEMA) -> str:
    return f"""
  - name: {name}
    input_fields: [text]
    output_schema: {schema}
    invocation: {invocation}
{extra}"""


CHEAP_LLM = "{kind: llm, model: gpt-4.1-nano, base_url: 'https://llm.internal/v1'}"
STRONG_LLM = "{kind: llm, model: gpt-4.1, base_url: 'https://llm.internal/v1'}"
ESCALATE = "    escalate_to: {target}\n    escalate_when: {{confidence_below: 0.7}}\n"


@pytest.fixture
def trusted_file(tmp_path):
    path = tmp_path / "trusted.yaml"
    path.write_text("agents:" + _entry("strong-agent", STRONG_LLM)
                    + _entry("cheap-agent", CHEAP_LLM, ESCALATE.format(target="strong-agent"))
                    + _entry("lonely-agent", CHEAP_LLM, ESCALATE.format(target="brought-agent")))
    return str(path)


def _trust(trusted_file: str) -> RegistryTrust:
    return RegistryTrust(registry_files=[trusted_file], allowed_agent_targets=["gpt-4.1*", "https://llm.internal/*"])


def test_a_trusted_agent_gets_its_stronger_agent_resolved(trusted_file):
    spec = assemble_registry(trust=_trust(trusted_file)).validate("cheap-agent")
    assert spec.escalation_agent is not None and spec.escalation_agent.name == "strong-agent"
    assert spec.escalation_agent.escalate_to is None  # one level: the strong agent's own cascade is not followed


def test_a_conf_registry_may_escalate_to_a_trusted_agent_but_not_to_its_own(trusted_file, tmp_path):
    brought = tmp_path / "brought.yaml"
    brought.write_text("agents:" + _entry("my-cheap", CHEAP_LLM, ESCALATE.format(target="strong-agent")))
    spec = assemble_registry(str(brought), trust=_trust(trusted_file)).validate("my-cheap")
    assert spec.escalation_agent.name == "strong-agent"

    brought.write_text("agents:" + _entry("brought-agent", STRONG_LLM)
                       + _entry("my-cheap", CHEAP_LLM, ESCALATE.format(target="brought-agent")))
    with pytest.raises(UntrustedAgentError) as refused:
        assemble_registry(str(brought), trust=_trust(trusted_file))
    assert refused.value.details["reason"] == "escalates_to_untrusted_agent"


def test_a_conf_registry_cannot_supply_the_target_of_a_trusted_agent(trusted_file, tmp_path):
    brought = tmp_path / "brought.yaml"
    brought.write_text("agents:" + _entry("brought-agent", STRONG_LLM))
    registry = assemble_registry(str(brought), trust=_trust(trusted_file))
    with pytest.raises(EscalationError, match="'brought-agent', which is not a trusted agent"):
        registry.validate("lonely-agent")
    assert registry.validate("cheap-agent").escalation_agent.name == "strong-agent"  # the others stay usable


def test_an_entry_cannot_bring_the_resolved_stronger_agent(tmp_path):
    text = "agents:" + _entry("cheap-agent", CHEAP_LLM, ESCALATE.format(target="strong-agent")
                              + "    escalation_agent: {name: x, input_fields: [], invocation: {kind: python, "
                              "callable: 'os:system'}}\n")
    with pytest.raises(RegistryError, match="sets escalation_agent"):
        load_registry_text(text, "conf.yaml")


def test_the_stronger_agent_must_have_the_cheap_agents_output_fields(tmp_path):
    path = tmp_path / "trusted.yaml"
    path.write_text("agents:" + _entry("strong-agent", STRONG_LLM, schema="{type: object, properties: {label: {}}}")
                    + _entry("cheap-agent", CHEAP_LLM, ESCALATE.format(target="strong-agent")))
    with pytest.raises(EscalationError, match=r"lacks the output fields \['confidence_score'\]"):
        assemble_registry(trust=RegistryTrust(registry_files=[str(path)])).validate("cheap-agent")


def test_escalate_to_needs_a_rule_with_a_condition(tmp_path):
    with pytest.raises(RegistryError, match="escalate_to and escalate_when go together"):
        load_registry_text("agents:" + _entry("a", CHEAP_LLM, "    escalate_to: b\n"), "r.yaml")
    with pytest.raises(RegistryError, match="escalate_when needs a condition"):
        load_registry_text("agents:" + _entry("a", CHEAP_LLM, "    escalate_to: b\n    escalate_when: {}\n"), "r.yaml")
