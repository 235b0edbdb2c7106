"""The run settings are written once, on ``BatchRequest``: the trigger form, the DAG docs table, ``batchorch run``'s
flags and the README table are generated from it; task outputs are models, pulled through one checked helper."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from airflow_provider_batchorch.cli.run_flags import CONF_ONLY, add_run_setting_flags, request_from_flags
from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.core.number_limits import number_range
from airflow_provider_batchorch.core.run_settings import run_settings, settings_table, with_settings_table

ROOT = Path(__file__).resolve().parents[2]


def run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="batchorch run")
    add_run_setting_flags(parser)
    return parser


def test_every_setting_has_a_param_a_doc_row_and_a_cli_flag_or_a_reason():
    from airflow_provider_batchorch.dag_builders.orchestrator import DOC_MD, build_batch_orchestrator_dag

    params = build_batch_orchestrator_dag().params
    flags = {action.dest: action for action in run_parser()._actions}
    assert list(params) == list(BatchRequest.model_fields)
    for name, info in BatchRequest.model_fields.items():
        param = params.get_param(name)
        assert param.description == info.description and param.schema["title"] == info.title, name
        if not info.is_required():
            assert param.value == info.get_default(call_default_factory=True), name
        assert f"| `{name}` |" in DOC_MD, f"{name} has no row in the DAG docs"
        if name in CONF_ONLY:
            assert CONF_ONLY[name] and name not in flags, f"{name}: conf-only needs a reason and no flag"
        else:
            assert name in flags and info.description.split(";")[0] in (flags[name].help or "") or name in (
                "input_mapping", "registry"), f"{name} has no CLI flag (or its help is not the description)"
    assert set(CONF_ONLY) <= set(BatchRequest.model_fields)


def test_form_ranges_are_the_models_ranges():
    from airflow_provider_batchorch.dag_builders.params import batch_params

    params = batch_params()
    for name in ("concurrency", "timeout_seconds", "chunk_rows"):
        limits, schema = number_range(BatchRequest, name), params[name].schema
        low_key = "minimum" if limits.low_inclusive else "exclusiveMinimum"
        assert schema[low_key] == limits.low and schema["maximum"] == limits.high, name
    assert params["timeout_seconds"].schema["type"] == "number" and params["concurrency"].schema["type"] == "integer"
    assert params["output_uri"].schema["type"] == ["null", "string"]
    assert params["output_fields"].schema["items"] == {"type": "string"}
    assert params["agent"].schema["minLength"] == 1


def test_cli_flags_give_the_models_defaults_and_the_same_request():
    args = run_parser().parse_args(["--csv", "s3://b/k.csv", "--agent", "company-enrichment-agent"])
    assert request_from_flags(args) == BatchRequest(csv_uri="s3://b/k.csv", agent="company-enrichment-agent")
    args = run_parser().parse_args([
        "--csv", "s3://b/k.csv", "--agent", "a", "--timeout", "5", "--concurrency", "3", "--chunk-rows", "7",
        "--mapping", "company_name=Company", "--output-field", "industry", "--state-dir", "s3://b/state/",
        "--no-neutralize-formulas",
    ])
    request = request_from_flags(args)
    assert (request.timeout_seconds, request.concurrency, request.chunk_rows) == (5, 3, 7)
    assert request.input_mapping == {"company_name": "Company"} and request.output_fields == ["industry"]
    assert request.incremental and request.state_uri == "s3://b/state/" and not request.neutralize_formulas


def test_every_field_needs_a_title_and_a_description():
    from pydantic import BaseModel, Field

    class Undocumented(BaseModel):
        size: int = Field(1, ge=0)

    with pytest.raises(TypeError, match="Undocumented.size needs a title and a description"):
        run_settings(Undocumented)


def test_the_readme_table_is_the_models():
    from airflow_provider_batchorch.cli.run_flags import flag_names

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert with_settings_table(readme, flags=flag_names()) == readme, (
        "README.md's run-settings table is out of date: run .venv/bin/python scripts/generate_settings_table.py")
    assert settings_table().splitlines()[2].startswith("| `csv_uri` | required |")


def test_a_misspelt_task_output_fails_when_the_dag_is_built():
    from airflow_provider_batchorch.dag_builders.xcom_templates import output_of

    assert output_of("stage_2.analyze_csv", "request", "agent") == (
        "{{ ti.xcom_pull(task_ids='stage_2.analyze_csv')['request']['agent'] }}")
    assert output_of("plan_pipeline", "stages", 1, "batch_id").endswith("['stages'][1]['batch_id'] }}")
    with pytest.raises(ValueError, match=r"analyze_csv returns no field 'agnet' here \(fields of BatchRequest: csv_uri, agent"):
        output_of("analyze_csv", "request", "agnet")
    with pytest.raises(ValueError, match="configure_batch returns no field 'manifest'"):
        output_of("configure_batch", "manifest")


def _reordered(value):
    """What a JSONB column may hand back: every dict with its keys in another order."""
    if isinstance(value, dict):
        return {key: _reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(item) for item in value]
    return value


def test_task_results_come_back_whole_from_a_store_that_reorders_keys():
    from airflow_provider_batchorch.core.models import CsvProfile
    from airflow_provider_batchorch.core.task_outputs import AnalyzeResult

    profile = CsvProfile(uri="s3://b/k.csv", size_bytes=10, columns=["b", "a"], data_types={"b": "string", "a": "integer"},
                         row_count=1, header_end=4, chunk_rows=100)
    result = AnalyzeResult(request=BatchRequest(csv_uri="s3://b/k.csv", agent="x", input_mapping={"f": "b", "g": "a"}),
                           profile=profile, profile_uri="s3://b/p.json", batch_id="id", prefix_uri="s3://b/p/")
    back = AnalyzeResult.model_validate(_reordered(result.model_dump(mode="json")))
    assert back == result and back.profile.columns == ["b", "a"]


def test_batch_options_reach_every_task_that_uses_them():
    from airflow_provider_batchorch.dag_builders.pipeline import build_batch_pipeline_dag

    dag = build_batch_pipeline_dag(registry_files=["s3://ops/agents.yaml"], poll_interval=0.25,
                                   processor_names={"progress_table": "p"}, tags=["mine"])
    assert dag.tags == {"mine"} and dag.render_template_as_native_obj and dag.schedule is None
    validators = [task for task in dag.tasks if task.task_id.endswith(("validate_agent", "plan_pipeline"))]
    assert len(validators) == 4 and all(task.registry_files == ["s3://ops/agents.yaml"] for task in validators)
    monitors = [task for task in dag.tasks if task.task_id.endswith("monitor_batch")]
    assert {(task.poke_interval, task.progress_table) for task in monitors} == {(0.25, "p")}
