"""Agent output -> validated dict, or a row error that names the field and the problem."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from airflow_provider_batchorch.builtin_agents import company_enrichment, product_analyzer
from airflow_provider_batchorch.core.errors import AgentRowError, RegistryError
from airflow_provider_batchorch.core.output_validation import (
    InvalidAgentOutput,
    OutputValidator,
    SchemaViolation,
    parse_output,
)

VALIDATOR = OutputValidator(company_enrichment.SPEC.output_schema)
GOOD = company_enrichment.run({"company_name": "Apple", "website": "apple.com"})


def violation(output) -> SchemaViolation:
    with pytest.raises(SchemaViolation) as caught:
        VALIDATOR.validate(output)
    return caught.value


def invalid(output) -> InvalidAgentOutput:
    with pytest.raises(InvalidAgentOutput) as caught:
        VALIDATOR.validate(output)
    return caught.value


def test_valid_dict_is_returned():
    assert VALIDATOR.validate(dict(GOOD)) == GOOD
    assert VALIDATOR.is_valid(GOOD)


@pytest.mark.parametrize("wrap", [json.dumps, lambda d: json.dumps(d).encode(), lambda d: f"  {json.dumps(d)}\n",
                                  lambda d: f"```json\n{json.dumps(d, indent=2)}\n```"])
def test_json_text_is_parsed(wrap):
    assert VALIDATOR.validate(wrap(GOOD)) == GOOD


def test_pydantic_model_is_dumped():
    class Out(BaseModel):
        a: int

    assert OutputValidator({"type": "object", "properties": {"a": {"type": "integer"}}}).validate(Out(a=1)) == {"a": 1}


def test_wrong_type_names_the_field():
    error = violation(dict(GOOD, employee_count="many"))
    assert error.code == "SCHEMA_VIOLATION"
    assert error.reason == "Schema violation at 'employee_count': 'many' is not of type 'integer', 'null'"
    assert isinstance(error, AgentRowError)


def test_enum_and_range_violations():
    assert "is not one of" in violation(dict(GOOD, industry="Hacked")).reason
    assert violation(dict(GOOD, confidence_score=1.5)).reason == \
        "Schema violation at 'confidence_score': 1.5 is greater than the maximum of 1"


def test_missing_required_and_extra_property():
    missing = dict(GOOD)
    del missing["industry"]
    assert violation(missing).reason == "Schema violation at '(root)': 'industry' is a required property"
    extra = violation(dict(GOOD, secret="x"))
    assert "Additional properties are not allowed ('secret' was unexpected)" in extra.reason


def test_nested_path_uses_indices():
    validator = OutputValidator(product_analyzer.SPEC.output_schema)
    output = product_analyzer.run(product_analyzer.EXAMPLES[0])
    output["key_features"] = ["ok", 5]
    with pytest.raises(SchemaViolation) as caught:
        validator.validate(output)
    assert caught.value.reason == "Schema violation at 'key_features[1]': 5 is not of type 'string'"


def test_all_errors_listed_best_first():
    bad = dict(GOOD, employee_count="many", revenue_estimate=-1, secret=1)
    error = violation(bad)
    assert len(error.errors) == 3
    assert error.reason == error.errors[0]
    assert "2 more" in error.detail and "revenue_estimate" in str(error)


def test_long_values_are_shortened():
    error = violation(dict(GOOD, employee_count="x" * 1000))
    assert len(error.reason) < 260


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ('{"industry": "Software", "employee_count": 1', "Truncated JSON output"),
        ('{"industry": "Softw', "Truncated JSON output"),
        ("Sure! Here is the JSON you asked for.", "Invalid JSON output"),
        ("{'industry': 'Software'}", "Invalid JSON output"),
        ("[1, 2]", "Agent output is a JSON array, expected a JSON object"),
        ('"text"', "Agent output is a JSON string, expected a JSON object"),
        ("42", "Agent output is a JSON number, expected a JSON object"),
        ("null", "Agent output is a JSON null, expected a JSON object"),
        ("", "Empty agent output"),
        (b"\xff\xfe", "Invalid JSON output: not UTF-8 text"),
        (["a"], "Agent output is not a JSON object"),
        (None, "Agent output is not a JSON object"),
    ],
)
def test_not_a_json_object(output, reason):
    error = invalid(output)
    assert error.code == "INVALID_JSON"
    assert error.reason == reason
    assert isinstance(error, AgentRowError)


def test_parse_output_accepts_objects_only():
    assert parse_output('{"a": 1}') == {"a": 1}


def test_default_dialect_is_2020_12_and_schema_dialect_is_honoured():
    # Draft 4 spells exclusiveMaximum as a boolean; in 2020-12 that schema is invalid.
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
              "properties": {"n": {"type": "number", "maximum": 10, "exclusiveMaximum": True}}}
    validator = OutputValidator(draft4)
    assert validator.is_valid({"n": 9.5}) and not validator.is_valid({"n": 10})
    with pytest.raises(RegistryError, match="not a valid JSON Schema"):
        OutputValidator({k: v for k, v in draft4.items() if k != "$schema"})


def test_prefix_items_works_by_default():
    validator = OutputValidator({"type": "object", "properties": {
        "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]}}})
    assert validator.is_valid({"pair": ["a", 1]}) and not validator.is_valid({"pair": [1, "a"]})


def test_invalid_schema_is_a_registry_error():
    with pytest.raises(RegistryError):
        OutputValidator({"type": "objekt"})
