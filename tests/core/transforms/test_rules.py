"""The rules as data: a registry entry's defaults under the run conf's, a bad template refused where the conf or
the entry is read (one line naming the rule), and the rules carried to the workers in ``config.json``."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import RegistryError, TransformRuleError, invalid_conf
from airflow_provider_batchorch.core.models import BatchConfig, BatchRequest
from airflow_provider_batchorch.core.registry import load_registry_text
from tests.core.transforms.conftest import configure, run_rows
from tests.support.agents import spec

ENTRY = {"input": [{"kind": "template", "template": "{first} {last}", "into": "text"}],
         "filter": "first != ''",
         "output": {"derived": [{"into": "n", "expression": "length"}], "rename": {"upper": "name"},
                    "cast": {"n": "string"}}}


def with_rules(rules):
    return AgentSpec.model_validate({**spec().model_dump(), "transforms": rules})  # as a registry entry reads


def test_the_conf_extends_and_overrides_the_registry_entrys_rules():
    agent = with_rules(ENTRY)
    conf = {"input": [{"kind": "concat", "columns": ["text", "city"], "separator": ", ", "into": "text"}],
            "filter": "city != 'skip'",
            "output": {"derived": [{"into": "n", "expression": "length * 10"}], "rename": {"upper": "NAME"}}}
    config = configure(["first", "last", "city"], conf, agent=agent)
    assert config.output_fields == ["NAME", "length", "n"]
    _, records = run_rows(config, [{"first": "Ada", "last": "Lovelace", "city": "London"},
                                   {"first": "", "last": "x", "city": "Paris"},  # the entry's filter is replaced
                                   {"first": "Alan", "last": "Turing", "city": "skip"}])
    assert [(r["NAME"], r["n"], r["_status"]) for r in records] == [
        ("ADA LOVELACE, LONDON", "200", "SUCCEEDED"), ("X, PARIS", "80", "SUCCEEDED"), ("", "", "SKIPPED")]


def test_the_effective_rules_travel_in_the_batch_config_as_plain_json():
    config = configure(["first", "last", "city"], {"filter": "city"}, agent=with_rules(ENTRY))
    again = BatchConfig.model_validate_json(config.model_dump_json())
    assert again.agent.transforms == config.agent.transforms and again.agent.transforms.filter == "city"
    assert again.output_columns == config.output_columns


def test_without_rules_the_config_dumps_as_before():
    config = configure(["text"], None)
    assert "transforms" not in config.agent.model_dump() and config.output_fields == ["upper", "length"]


@pytest.mark.parametrize(("transforms", "named"), [
    ({"filter": "country =="}, "transforms.filter: does not parse"),
    ({"input": [{"kind": "template", "template": "{a", "into": "x"}]}, "template does not parse: unmatched '{'"),
    ({"input": [{"kind": "jsonpath", "column": "a", "path": "$..[", "into": "x"}]}, "JSONPath does not parse"),
    ({"output": {"derived": [{"into": "x", "expression": "1 +"}]}}, "derived.0.expression: does not parse"),
    ({"output": {"derived": [{"into": "x"}]}}, "needs exactly one of template or expression"),
    ({"input": [{"kind": "eval", "code": "1"}]}, "does not match any of the expected tags"),
])
def test_a_bad_rule_in_the_conf_is_refused_when_the_conf_is_read(transforms, named):
    with pytest.raises(ValidationError) as caught:
        BatchRequest(csv_uri="s3://b/k.csv", agent="a", transforms=transforms)
    error = invalid_conf(caught.value)
    assert isinstance(error, TransformRuleError) and named in str(error) and "\n" not in str(error)


def test_a_bad_rule_in_a_registry_entry_is_refused_when_the_registry_is_read():
    text = """
agents:
  - name: bad-rules
    input_fields: [{name: text}]
    output_schema: {type: object, properties: {x: {type: string}}}
    invocation: {kind: python, callable: "tests.support.agents:echo"}
    transforms: {filter: "text |"}
"""
    with pytest.raises(RegistryError, match="bad-rules.*filter"):
        load_registry_text(text, "registry.yaml")
