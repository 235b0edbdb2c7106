"""Agent lookup, INCOMPATIBLE_AGENT, describe(), and loading registry files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from airflow_provider_batchorch.core.agent_spec import AgentSpec, InputField, PythonInvocation
from airflow_provider_batchorch.core.errors import IncompatibleAgentError, RegistryError, UnknownAgentError
from airflow_provider_batchorch.agents.kinds import build_agent_call
from airflow_provider_batchorch.core.registry import AgentRegistry, load_registry_file, load_registry_text
from airflow_provider_batchorch.builtin_agents import builtin_registry
from airflow_provider_batchorch.agents.registry_loader import resolve_registry

EXAMPLE_REGISTRY = Path(__file__).resolve().parents[2] / "examples" / "registry.yaml"
BUILTINS = ["company-enrichment-agent", "ticket-classifier-agent", "address-validator-agent",
            "product-analyzer-agent", "customer-scorer-agent"]

GOOD_ENTRY = """
agents:
  - name: sleepy-agent
    description: Sleeps, then enriches companies
    input_fields: [{name: company_name, type: string, required: true}]
    output_schema: {type: object, properties: {industry: {type: string}}, required: [industry]}
    invocation: {kind: python, callable: "airflow_provider_batchorch.builtin_agents.company_enrichment:run"}
"""


def spec(name: str, *, description: str = "", structured: bool = True, aliases: list[str] | None = None,
         version: str = "1") -> AgentSpec:
    return AgentSpec(
        name=name,
        version=version,
        description=description,
        aliases=aliases or [],
        input_fields=[InputField(name="text")],
        structured_output=structured,
        output_schema={"type": "object", "properties": {"label": {"type": "string"}}} if structured else None,
        invocation=PythonInvocation(callable="m:f"),
    )


@pytest.fixture(scope="module")
def registry() -> AgentRegistry:
    return resolve_registry(EXAMPLE_REGISTRY)


# --- lookup -----------------------------------------------------------------------------------------------


def test_builtin_registry_lists_the_five_agents():
    builtin = builtin_registry()
    assert builtin.names() == BUILTINS
    assert [s.name for s in builtin.compatible()] == BUILTINS
    assert len(builtin) == 5 and [s.name for s in builtin] == BUILTINS


@pytest.mark.parametrize("name", ["company-enrichment-agent", "COMPANY-ENRICHMENT-AGENT", "company-enrichment",
                                  "Company Enrichment", "company_enrichment_agent", "  company-enrichment-agent "])
def test_get_by_name_alias_and_case(name):
    assert builtin_registry().get(name).name == "company-enrichment-agent"
    assert name in builtin_registry()


def test_unknown_agent_names_the_closest_and_lists_all():
    with pytest.raises(UnknownAgentError) as caught:
        builtin_registry().get("company-enrichmnt")
    error = caught.value
    assert error.code == "UNKNOWN_AGENT"
    assert error.message == "Unknown agent 'company-enrichmnt'. Did you mean 'company-enrichment-agent'?"
    assert error.details["closest_agent"] == "company-enrichment-agent"
    assert error.details["available_agents"] == BUILTINS
    assert all(name in error.hint for name in BUILTINS)


def test_unknown_agent_closest_by_description_words():
    with pytest.raises(UnknownAgentError) as caught:
        builtin_registry().get("support tickets")
    assert caught.value.details["closest_agent"] == "ticket-classifier-agent"


def test_unknown_agent_without_anything_similar():
    with pytest.raises(UnknownAgentError) as caught:
        builtin_registry().get("zzz")
    assert caught.value.details["closest_agent"] is None
    assert "Did you mean" not in caught.value.message


def test_validate_compatible_agent(registry):
    assert registry.validate("ticket-classifier").name == "ticket-classifier-agent"
    assert registry.validate("sentiment").name == "sentiment-agent"


def test_validate_incompatible_agent_matches_the_design_document(registry):
    with pytest.raises(IncompatibleAgentError) as caught:
        registry.validate("company-chat-agent")
    error = caught.value
    compatible = [*BUILTINS, "sentiment-agent", "sentiment-judge"]
    assert error.code == "INCOMPATIBLE_AGENT"
    assert error.message == (
        "The agent 'company-chat-agent' doesn't support structured output. "
        f"Please choose one of these compatible agents: {compatible}"
    )
    assert error.hint == "Use 'company-enrichment-agent' for similar functionality"
    assert error.to_dict()["suggestion"] == "Use 'company-enrichment-agent' for similar functionality"
    assert error.details["compatible_agents"] == compatible


def test_structured_flag_without_schema_is_incompatible():
    registry = AgentRegistry([spec("tickets-helper", description="support ticket triage", structured=False),
                              spec("ticket-router", description="routes support tickets"),
                              spec("image-tagger", description="tags images")])
    with pytest.raises(IncompatibleAgentError) as caught:
        registry.validate("tickets-helper")
    assert caught.value.details["closest_compatible_agent"] == "ticket-router"


def test_incompatible_without_any_compatible_agent():
    with pytest.raises(IncompatibleAgentError) as caught:
        AgentRegistry([spec("lonely", structured=False)]).validate("lonely")
    assert caught.value.details["compatible_agents"] == []
    assert "output_schema" in caught.value.hint


def test_describe_compatible(registry):
    answer = registry.describe("company-enrichment")
    assert answer["compatible"] is True and answer["structured_output_enabled"] is True
    assert answer["output_schema"]["type"] == "object"
    assert answer["available_fields"][:2] == ["company_domain", "industry"]
    assert {"industry", "employee_count", "revenue_estimate", "confidence_score"} <= set(answer["available_fields"])
    assert answer["input_fields"][0]["name"] == "company_name"
    json.dumps(answer)


def test_describe_incompatible(registry):
    answer = registry.describe("company-chat-agent")
    assert answer["compatible"] is False and answer["structured_output_enabled"] is False
    assert answer["available_fields"] == []
    assert answer["suggestion"] == "Use 'company-enrichment-agent' for similar functionality"
    with pytest.raises(UnknownAgentError):
        registry.describe("nope")


def test_merged_later_source_overrides_by_name():
    base = AgentRegistry([spec("a", description="old"), spec("b")])
    merged = base.merged(AgentRegistry([spec("A", description="new", aliases=["alpha"]), spec("c")]))
    assert merged.names() == ["A", "b", "c"]
    assert merged.get("a").description == "new"
    assert merged.get("alpha").name == "A"
    assert base.get("a").description == "old"
    assert base.merged([spec("d")]).names() == ["a", "b", "d"]


def test_alias_never_shadows_a_canonical_name():
    registry = AgentRegistry([spec("x", aliases=["y"]), spec("y", description="the real y")])
    assert registry.get("y").description == "the real y"


# --- registry files ---------------------------------------------------------------------------------------


def test_example_registry_file(registry):
    assert registry.names() == [*BUILTINS, "sentiment-agent", "sentiment-judge", "company-chat-agent"]
    sentiment = registry.get("sentiment-agent")
    output = asyncio.run(build_agent_call(sentiment)({"text": "I love it"})).output
    assert output["sentiment"] == "Positive"
    from airflow_provider_batchorch.core.output_validation import OutputValidator

    assert OutputValidator(sentiment.output_schema).validate(output) == output


def test_resolve_registry_without_file_is_builtin():
    assert resolve_registry(None).names() == BUILTINS
    assert resolve_registry("").names() == BUILTINS


def test_resolve_registry_file_overrides_builtin(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD_ENTRY.replace("sleepy-agent", "company-enrichment-agent"))
    registry = resolve_registry(path)
    assert registry.names() == BUILTINS
    assert registry.get("company-enrichment-agent").description == "Sleeps, then enriches companies"


def test_resolve_registry_refuses_s3():
    with pytest.raises(RegistryError, match="load_registry_text"):
        resolve_registry("s3://bucket/registry.yaml")


def test_load_text_yaml_json_and_list_forms(tmp_path):
    assert load_registry_text(GOOD_ENTRY, "r.yaml").names() == ["sleepy-agent"]
    import yaml

    document = yaml.safe_load(GOOD_ENTRY)
    assert load_registry_text(json.dumps(document), "r.json").names() == ["sleepy-agent"]
    assert load_registry_text(json.dumps(document["agents"]), "s3://b/k").names() == ["sleepy-agent"]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(document), encoding="utf-8-sig")
    assert load_registry_file(path).names() == ["sleepy-agent"]


def test_input_fields_shorthand():
    text = GOOD_ENTRY.replace("[{name: company_name, type: string, required: true}]", "[company_name]")
    field = load_registry_text(text).get("sleepy-agent").input_fields[0]
    assert (field.name, field.type, field.required) == ("company_name", "string", True)


def test_file_not_found():
    with pytest.raises(RegistryError) as caught:
        load_registry_file("/nonexistent/registry.yaml")
    assert caught.value.message == "Registry file not found: /nonexistent/registry.yaml"
    assert caught.value.code == "INVALID_REGISTRY"


def test_yaml_syntax_error_has_the_line():
    with pytest.raises(RegistryError) as caught:
        load_registry_text("agents:\n  - name: x\n   bad: [\n", "my.yaml")
    assert caught.value.message.startswith("my.yaml is not valid YAML at line 3")


def test_json_syntax_error_has_the_line():
    with pytest.raises(RegistryError, match=r"r.json is not valid JSON: .* at line 2"):
        load_registry_text('{"agents": [\n  {"name": }]}', "r.json")


def test_invalid_entry_is_summarised_on_one_line():
    text = GOOD_ENTRY.replace("type: string, required", "type: strin, required") + """
  - name: second
"""
    with pytest.raises(RegistryError) as caught:
        load_registry_text(text, "r.yaml")
    message = caught.value.message
    assert message.startswith("r.yaml: entry 1 ('sleepy-agent') is invalid: input_fields.0.type: Input should be")
    assert "\n" not in str(caught.value)


def test_entry_missing_fields_lists_them():
    with pytest.raises(RegistryError) as caught:
        load_registry_text("agents:\n  - name: second\n", "r.yaml")
    assert "entry 1 ('second') is invalid" in caught.value.message
    assert "input_fields: Field required" in caught.value.message
    assert "invocation: Field required" in caught.value.message


def test_output_schema_must_be_a_valid_json_schema():
    text = GOOD_ENTRY.replace("industry: {type: string}", "industry: {type: strng}")
    with pytest.raises(RegistryError) as caught:
        load_registry_text(text, "r.yaml")
    assert caught.value.message.startswith("r.yaml: entry 1 ('sleepy-agent'): output_schema is not a valid JSON Schema")
    assert "properties/industry/type" in caught.value.message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("foo: 1", "must have a top-level 'agents' list"),
        ("agents: {name: x}", "'agents' must be a list"),
        ("agents: [1]", "entry 1 must be a mapping"),
        ("agents: []\nextra: 1", "unknown top-level keys ['extra']"),
        ("", "must have a top-level 'agents' list"),
    ],
)
def test_document_shape_errors(text, fragment):
    with pytest.raises(RegistryError) as caught:
        load_registry_text(text, "r.yaml")
    assert fragment in caught.value.message


def test_duplicate_names_in_one_file():
    entry = GOOD_ENTRY.split("agents:\n", 1)[1]
    with pytest.raises(RegistryError, match="entry 2 repeats the name 'Sleepy-Agent'"):
        load_registry_text("agents:\n" + entry + entry.replace("sleepy-agent", "Sleepy-Agent"), "r.yaml")


def test_empty_agents_list_is_an_empty_registry():
    assert len(load_registry_text("agents: []")) == 0
