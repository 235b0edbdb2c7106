"""``batchorch run --transforms``: rules from a YAML or JSON file, or inline JSON, reach ``BatchRequest`` as data;
a file that cannot be read or parsed is refused in one line."""

from __future__ import annotations

import argparse

import pytest

from airflow_provider_batchorch.cli.run_flags import add_run_setting_flags, request_from_flags
from airflow_provider_batchorch.core.errors import BatchorchError


def _request(*flags: str):
    parser = argparse.ArgumentParser(prog="batchorch run")
    add_run_setting_flags(parser)
    return request_from_flags(parser.parse_args(["--csv", "in.csv", "--agent", "a", *flags]))


def test_rules_come_from_a_yaml_file_or_inline_json(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("filter: \"country == 'DE'\"\noutput:\n  rename: {industry: sector}\n", encoding="utf-8")
    from_file = _request("--transforms", str(rules)).transforms
    assert from_file.filter == "country == 'DE'" and from_file.output.rename == {"industry": "sector"}
    inline = _request("--transforms", '{"input": [{"kind": "static", "value": "EU", "into": "region"}]}').transforms
    assert inline.input[0].kind == "static" and inline.input[0].value == "EU"
    assert _request().transforms is None


@pytest.mark.parametrize(("content", "problem"), [(None, "cannot be read"), ("filter: [unclosed", "is not YAML or JSON")])
def test_an_unreadable_rules_file_is_refused_in_one_line(tmp_path, content, problem):
    rules = tmp_path / "rules.yaml"
    if content is not None:
        rules.write_text(content, encoding="utf-8")
    with pytest.raises(BatchorchError) as caught:
        _request("--transforms", str(rules))
    assert problem in str(caught.value) and "\n" not in str(caught.value)
