"""Output steps: derived fields, casts, the fields kept and their new names shape the header and every record;
a name that does not exist, two fields renamed alike or a bad expression are refused before any row runs."""

from __future__ import annotations

import pytest

from airflow_provider_batchorch.core.errors import TransformRuleError, UnknownOutputFieldError
from tests.core.transforms.conftest import configure, run_rows

ROWS = [{"text": "Straße"}, {"text": "{{ 7*7 }}"}, {"text": ""}]


def test_derived_cast_keep_and_rename_shape_the_header_and_the_records():
    output = {"derived": [{"into": "label", "template": "{upper} ({length})"},
                          {"into": "long", "expression": "length > 6"},
                          {"into": "shout", "engine": "jinja", "template": "{{ upper ~ '!' }}"}],
              "cast": {"length": "string", "long": "integer"},
              "keep": ["label", "long", "Shout"],  # matched like output_fields: case and punctuation ignored
              "rename": {"label": "Beschreibung", "long": "is_long"}}
    config = configure(["text"], {"output": output})
    assert config.output_fields == ["Beschreibung", "is_long", "shout"]
    assert config.output_columns[:4] == ["text", "Beschreibung", "is_long", "shout"]
    outcome, records = run_rows(config, ROWS)
    assert [(r["Beschreibung"], r["is_long"], r["shout"]) for r in records] == [
        ("STRASSE (6)", "0", "STRASSE!"), ("{{ 7*7 }} (9)", "1", "{{ 7*7 }}!"), ("", "", "")]
    assert [r["_status"] for r in records] == ["SUCCEEDED", "SUCCEEDED", "FAILED"]  # empty required input


def test_without_keep_every_agent_field_then_the_derived_ones_are_written():
    config = configure(["text"], {"output": {"derived": [{"into": "n", "expression": "length * 2"}]}})
    assert config.output_fields == ["upper", "length", "n"]
    assert run_rows(config, ROWS[:1])[1][0]["n"] == "12"


def test_output_fields_of_the_conf_is_keep_and_may_name_a_derived_field():
    config = configure(["text"], {"output": {"derived": [{"into": "n", "expression": "length"}]}},
                       output_fields=["n", "upper"])
    assert config.output_fields == ["n", "upper"]
    with pytest.raises(TransformRuleError, match="Give one of them"):
        configure(["text"], {"output": {"keep": ["upper"]}}, output_fields=["length"])


def test_a_retry_may_ask_for_the_renamed_header_names():
    rules = {"output": {"keep": ["upper"], "rename": {"upper": "shout"}}}
    first = configure(["text"], rules)
    again = configure(["text"], rules, output_fields=first.output_fields)  # what retry-failed reads from the header
    assert first.output_fields == again.output_fields == ["shout"]
    assert configure(["text"], {"output": {"rename": {"upper": "shout"}}}, output_fields=["shout"]).output_fields == [
        "shout"]


def test_a_cast_that_does_not_fit_an_output_value_fails_that_row_only():
    config = configure(["text"], {"output": {"cast": {"upper": "integer"}}})
    outcome, records = run_rows(config, [{"text": "42"}, {"text": "abc"}])
    assert [(r["upper"], r["_status"], r["_error_code"]) for r in records] == [
        ("42", "SUCCEEDED", ""), ("", "FAILED", "TRANSFORM_FAILED")]
    assert "Output field 'upper' does not cast to integer" in records[1]["_error_message"]


def test_a_derived_expression_that_fails_on_a_row_fails_that_row_only():
    config = configure(["text"], {"output": {"derived": [{"into": "x", "expression": "upper * 100001"}]}})
    outcome, records = run_rows(config, [{"text": "a"}])
    assert records[0]["_error_code"] == "TRANSFORM_FAILED" and "over the limit" in records[0]["_error_message"]


@pytest.mark.parametrize(("output", "named"), [
    ({"derived": [{"into": "x", "template": "{uper}"}]}, "'uper'"),
    ({"derived": [{"into": "x", "expression": "lenght > 1"}]}, "'lenght'"),
    ({"cast": {"size": "integer"}}, "'size'"),
    ({"rename": {"uppr": "u"}}, "'uppr'"),
    ({"derived": [{"into": "x", "expression": "length >"}]}, "TemplateSyntaxError"),
    ({"rename": {"upper": "length"}}, "two output columns the name 'length'"),
])
def test_an_unknown_field_a_bad_expression_or_a_clash_is_refused_in_one_line(output, named):
    with pytest.raises(TransformRuleError) as caught:
        configure(["text"], {"output": output})
    assert named in str(caught.value) and "\n" not in str(caught.value)


def test_keep_naming_an_unknown_field_is_refused_like_output_fields():
    with pytest.raises(UnknownOutputFieldError, match="'colour'"):
        configure(["text"], {"output": {"keep": ["colour"]}})
