"""The sandbox keeps code out; these limits keep one row's rule from taking a worker's memory or time: no loops,
macros or call blocks, no string formatting, no repetition, power, filter or method argument past a size."""

from __future__ import annotations

import pytest

from airflow_provider_batchorch.core.errors import TransformRuleError
from tests.core.transforms.conftest import configure, run_rows


@pytest.mark.parametrize(("template", "named"), [
    ("{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}", "{% for %}"),
    ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "{% macro %}"),
    ("{% call loop() %}{% endcall %}", "{% call %}"),
    ("{{ '%999999999d' | format(1) }}", "No filter named 'format'"),
])
def test_loops_macros_and_the_format_filter_are_refused_when_the_conf_is_read(template, named):
    with pytest.raises(TransformRuleError) as caught:
        configure(["text"], {"input": [{"kind": "template", "engine": "jinja", "template": template, "into": "t"}]})
    assert named in str(caught.value)


@pytest.mark.parametrize("expression", [
    "(range(100000) | list) * 10000",
    "'x' * 100001",
    "upper.ljust(1000000000)",
    "upper | center(1000000000)",
    "'{:999999999}'.format(1)",
    "(10 ** 1000) ** 1000",
    "'%s' % upper",
])
def test_an_amplifier_fails_its_row_without_allocating(expression):
    assert "SecurityError" in _failed_row_message(expression)


def _failed_row_message(expression: str) -> str:
    config = configure(["text"], {"output": {"derived": [{"into": "x", "expression": expression}]}})
    record = run_rows(config, [{"text": "ab"}])[1][0]
    assert (record["_status"], record["_error_code"]) == ("FAILED", "TRANSFORM_FAILED"), record
    return record["_error_message"]


def test_ordinary_filters_and_methods_still_work():
    expression = "upper.replace('A', 'a') ~ upper | lower | truncate(9) ~ 2 ** 10 ~ 'ab' * 2"
    config = configure(["text"], {"output": {"derived": [{"into": "x", "expression": expression}]}})
    assert run_rows(config, [{"text": "abc"}])[1][0]["x"] == "aBCabc1024abab"


@pytest.mark.parametrize("expression", [
    "(['a' * 100000] * 100000) | length",
    "(['a' * 1000] * 1000) | join | length",
    "('a' * 1000) | replace('a', 'b' * 1000) | length",
    "('a' * 1000).replace('a', 'b' * 1000) | length",
    "''.join(['a' * 1000] * 1000) | length",
    "('\\n' * 50000) | indent(100000) | length",
    "('\\t' * 50000).expandtabs(100000) | length",
    "(['a' * 100000] + ['a' * 100000]) | length",
    "('a' * 50000).translate({97: 'b' * 50000}) | length",
])
def test_a_text_amplifier_fails_its_row_before_it_grows(expression):
    assert "SizeLimitError" in _failed_row_message(expression)


def test_lipsum_is_no_global_so_a_rule_using_it_is_refused_when_the_conf_is_read():
    with pytest.raises(TransformRuleError) as caught:
        configure(["text"], {"output": {"derived": [{"into": "x", "expression": "lipsum(100000) | length"}]}})
    assert "'lipsum'" in str(caught.value)


def test_growing_filters_and_methods_within_the_limit_still_work():
    expression = ("(['ab'] * 3) | join('-') ~ '|' ~ 'a.b'.replace('.', '::') ~ '|' ~ ('x' | center(5)) ~ '|' ~ "
                  "', '.join(['a', 'b']) ~ '|' ~ ([1] + [2]) | length")
    config = configure(["text"], {"output": {"derived": [{"into": "x", "expression": expression}]}})
    assert run_rows(config, [{"text": "abc"}])[1][0]["x"] == "ab-ab-ab|a::b|  x  |a, b|2"
