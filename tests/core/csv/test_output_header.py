"""The output header: unique names, neutralised like data cells, and an order that no JSON store can change."""

import json

import pytest

from airflow_provider_batchorch.core.configure import build_batch_config, header_renames
from airflow_provider_batchorch.core.models import METADATA_COLUMNS, BatchConfig, BatchRequest, CsvProfile
from airflow_provider_batchorch.core.csv.output_header import output_header
from airflow_provider_batchorch.builtin_agents import builtin_registry
from airflow_provider_batchorch.core.registry import load_registry_text

REGISTRY_YAML = """
agents:
  - name: order-agent
    input_fields: [text]
    output_schema:
      type: object
      properties:
        zeta: {type: string}
        alpha: {type: string}
        mid_length: {type: integer}
        b: {type: string}
    invocation: {kind: python, callable: "tests.support.agents:echo"}
"""


def _header(columns, fields, neutralize=True):
    return output_header(columns, fields, METADATA_COLUMNS, neutralize=neutralize)


def test_no_collision_keeps_every_name():
    assert _header(["id", "text"], ["upper"]) == ["id", "text", "upper", *METADATA_COLUMNS]


def test_output_field_named_like_an_input_column_gets_out_prefix():
    assert _header(["id", "sentiment"], ["sentiment", "score"])[:4] == ["id", "sentiment", "out_sentiment", "score"]


def test_input_column_named_like_a_metadata_column_gets_in_prefix_and_metadata_keep_theirs():
    header = _header(["_status", "_error_message", "text"], ["upper"])
    assert header[:4] == ["in__status", "in__error_message", "text", "upper"]
    assert header[4:] == METADATA_COLUMNS


def test_prefixes_repeat_until_the_name_is_free():
    header = _header(["sentiment", "out_sentiment", "_status", "in__status"], ["sentiment", "_status"])
    assert header[:6] == ["sentiment", "out_sentiment", "in_in__status", "in__status", "out_out_sentiment",
                          "out__status"]
    assert len(set(header)) == len(header)


def test_header_cells_are_neutralised_like_data_cells():
    header = _header(['=HYPERLINK("http://x","y")', "@cmd", "-5", "text"], ["+risk"])
    assert header[:5] == ["'=HYPERLINK(\"http://x\",\"y\")", "'@cmd", "-5", "text", "'+risk"]
    assert _header(["=a"], [], neutralize=False)[0] == "=a"


def test_neutralising_cannot_make_two_names_alike():
    header = _header(["=a", "'=a"], ["'=a"])
    assert header[:3] == ["'=a", "in_'=a", "out_'=a"]


def _profile(columns):
    return CsvProfile(uri="s3://b/in.csv", size_bytes=10, columns=columns, data_types={c: "string" for c in columns},
                      row_count=1, header_end=5, chunk_rows=10)


def _config(agent, columns, **request):
    request = BatchRequest(csv_uri="s3://b/in.csv", agent=agent.name, **request)
    return build_batch_config(request, _profile(columns), agent, batch_id="b1", prefix_uri="s3://b/p/")


def test_configure_reports_the_renames_the_writer_uses():
    agent = load_registry_text(REGISTRY_YAML, "r.yaml").get("order-agent")
    config = _config(agent, ["text", "alpha", "_status", "=x"])
    assert header_renames(config) == {"alpha": "out_alpha", "_status": "in__status", "=x": "'=x"}
    assert len(set(config.output_columns)) == len(config.output_columns)


def _reorder(value, reverse):
    """What Postgres JSONB does to an XCom value: the keys of every object come back in another order."""
    if isinstance(value, dict):
        return {key: _reorder(value[key], reverse) for key in sorted(value, reverse=reverse)}
    if isinstance(value, list):
        return [_reorder(item, reverse) for item in value]
    return value


def _through_xcom(model, reverse):
    return _reorder(json.loads(json.dumps(model.model_dump(mode="json"))), reverse)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("source", ["registry", "builtin"])
def test_header_order_survives_jsonb_reordering_of_the_agent_and_config(source, reverse):
    if source == "registry":
        agent = load_registry_text(REGISTRY_YAML, "r.yaml").get("order-agent")
        expected_fields = ["zeta", "alpha", "mid_length", "b"]
    else:
        agent = builtin_registry().get("company-enrichment-agent")
        expected_fields = list(agent.output_schema["properties"])
    assert sorted(expected_fields) != expected_fields  # else sorting could not show a reordering
    columns = [field.name for field in agent.input_fields]
    direct = _config(agent, columns)

    # validate_agent -> XCom -> configure_batch -> XCom -> get_results, each hop through JSONB.
    agent_after_xcom = type(agent).model_validate(_through_xcom(agent, reverse))
    assert list(agent_after_xcom.output_schema["properties"]) != expected_fields  # the store did reorder them
    config = BatchConfig.model_validate(_through_xcom(_config(agent_after_xcom, columns), reverse))

    assert config.output_fields == direct.output_fields == expected_fields
    assert config.output_columns == direct.output_columns == [*columns, *expected_fields, *METADATA_COLUMNS]


def test_an_explicit_output_field_order_must_name_schema_fields():
    from pydantic import ValidationError

    from airflow_provider_batchorch.core.agent_spec import AgentSpec

    agent = load_registry_text(REGISTRY_YAML, "r.yaml").get("order-agent")
    data = agent.model_dump(mode="json")
    data["output_field_order"] = ["b", "zeta"]
    assert AgentSpec.model_validate(data).output_fields == ["b", "zeta", "alpha", "mid_length"]
    data["output_field_order"] = ["nope"]
    with pytest.raises(ValidationError, match="nope"):
        AgentSpec.model_validate(data)
