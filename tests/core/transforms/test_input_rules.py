"""Input steps on messy rows: each kind's result, what an empty or missing value gives, cells that look like
templates coming out literally, and each kind's refusal before any row runs."""

from __future__ import annotations

import pytest

from airflow_provider_batchorch.core.errors import TransformRuleError
from tests.core.transforms.conftest import configure, run_rows

INJECTION = ["{{ 7*7 }}", "{__import__}", "{% for x in range(9) %}x{% endfor %}", "{row}", "}{"]


def _texts(columns, rules, rows):
    """The ``text`` the echo agent saw for each row (its ``upper`` output, lower-cased back is lossy: use length
    and the agent's own upper-casing of the exact text)."""
    config = configure(columns, {"input": rules})
    outcome, records = run_rows(config, rows)
    return outcome, records


def test_template_concat_and_static_fill_the_agents_input_with_cells_taken_literally():
    rules = [{"kind": "template", "template": "{first} {{{last}}}", "into": "full"},
             {"kind": "static", "value": "EU", "into": "region"},
             {"kind": "concat", "columns": ["full", "region", "nickname"], "separator": " | ", "into": "text"}]
    rows = [{"first": cell, "last": "Ünal", "nickname": ""} for cell in INJECTION]
    outcome, records = _texts(["first", "last", "nickname"], rules, rows)
    assert outcome.succeeded == len(INJECTION)
    # the empty nickname is left out of the concat; the braces of "{{{last}}}" are one literal brace each side
    assert [r["upper"] for r in records] == [f"{cell.upper()} {{ÜNAL}} | EU" for cell in INJECTION]
    assert [r["first"] for r in records] == INJECTION  # the row as read is written back untouched


def test_jinja_template_is_sandboxed_and_reads_columns_with_spaces():
    rules = [{"kind": "template", "engine": "jinja", "into": "text",
              "template": "{{ row['Company Name'] | trim }}{{ ''.__class__ }}-{{ city | default('?', true) }}"}]
    outcome, records = _texts(["Company Name", "city"], rules,
                              [{"Company Name": "  {{ 7*7 }} GmbH ", "city": ""}, {"Company Name": "Åre AB", "city": "Åre"}])
    assert [r["upper"] for r in records] == ["{{ 7*7 }} GMBH-?", "ÅRE AB-ÅRE"]
    assert outcome.failed == 0


def test_jsonpath_takes_a_value_a_default_for_missing_keys_and_fails_only_a_row_that_is_not_json():
    rules = [{"kind": "jsonpath", "column": "payload", "path": "$.address.city", "into": "text", "default": "unknown"}]
    rows = [{"payload": '{"address": {"city": "Zürich"}}'}, {"payload": '{"address": {}}'}, {"payload": ""},
            {"payload": '{"address": {"city": ["a", "b"]}}'}, {"payload": "{not json"}, {"payload": '{"address": 5}'}]
    outcome, records = _texts(["payload"], rules, rows)
    assert [r["upper"] for r in records] == ["ZÜRICH", "UNKNOWN", "UNKNOWN", '["A","B"]', "", "UNKNOWN"]
    assert [r["_status"] for r in records] == ["SUCCEEDED"] * 4 + ["FAILED", "SUCCEEDED"]
    assert records[4]["_error_code"] == "TRANSFORM_FAILED"
    assert "column 'payload' is not JSON" in records[4]["_error_message"]


def test_cast_types_a_cell_and_a_value_that_does_not_cast_fails_its_row():
    rules = [{"kind": "cast", "column": "amount", "to": "integer", "into": "n"},
             {"kind": "template", "template": "{n}", "into": "text"}]
    outcome, records = _texts(["amount"], rules, [{"amount": "1,234"}, {"amount": ""}, {"amount": "12.5"}])
    assert [r["upper"] for r in records[:2]] == ["1234", ""]
    assert (records[2]["_status"], records[2]["_error_code"]) == ("FAILED", "TRANSFORM_FAILED")
    assert "expects integer" in records[2]["_error_message"]


@pytest.mark.parametrize(("rule", "named"), [
    ({"kind": "concat", "columns": ["first", "lats"], "into": "text"}, "'lats'"),
    ({"kind": "template", "template": "{first} {lsat}", "into": "text"}, "'lsat'"),
    ({"kind": "template", "engine": "jinja", "template": "{{ frist }}", "into": "text"}, "'frist'"),
    ({"kind": "jsonpath", "column": "payload", "path": "$.a", "into": "text"}, "'payload'"),
    ({"kind": "cast", "column": "age", "to": "integer"}, "'age'"),
])
def test_an_unknown_column_is_refused_in_one_line_naming_it(rule, named):
    with pytest.raises(TransformRuleError) as caught:
        configure(["first", "last"], {"input": [rule]})
    line = str(caught.value)
    assert "\n" not in line and line.startswith("INVALID_TRANSFORM: transforms.input[0]") and named in line
    assert "'first'" in line  # the known columns, in the hint


@pytest.mark.parametrize(("rule", "problem"), [
    ({"kind": "template", "template": "{first", "into": "text"}, "unmatched '{'"),
    ({"kind": "template", "template": "{}", "into": "text"}, "empty placeholder"),
    ({"kind": "template", "engine": "jinja", "template": "{{ first | nosuch }}", "into": "text"}, "nosuch"),
    ({"kind": "template", "engine": "jinja", "template": "{% if first %}", "into": "text"}, "TemplateSyntaxError"),
    ({"kind": "jsonpath", "column": "first", "path": "$.[", "into": "text"}, "does not parse"),
])
def test_a_template_or_path_that_does_not_parse_is_refused_in_one_line(rule, problem):
    with pytest.raises(TransformRuleError) as caught:
        configure(["first"], {"input": [rule]})
    assert problem in str(caught.value) and "\n" not in str(caught.value)


def test_a_rule_may_use_what_an_earlier_one_wrote_but_not_a_later_one():
    later = [{"kind": "template", "template": "{full}!", "into": "text"},
             {"kind": "template", "template": "{first}", "into": "full"}]
    with pytest.raises(TransformRuleError, match="'full'"):
        configure(["first"], {"input": later})
    config = configure(["first"], {"input": list(reversed(later))})
    assert config.input_mapping == {"text": "text"}
