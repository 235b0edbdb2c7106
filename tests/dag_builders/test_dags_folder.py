"""The batch_orchestrator DAG parses from the package's DAGs folder (dag_builders/dags/)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from airflow_provider_batchorch.local.airflow_home import PACKAGE_DAGS_FOLDER

TASK_ORDER = ["analyze_csv", "validate_agent", "golden_gate", "golden_approval", "configure_batch", "batch_api_job",
              "execute_batch", "monitor_batch", "get_results"]


@pytest.fixture(scope="module", params=[PACKAGE_DAGS_FOLDER], ids=["package"])
def dagbag(request):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(request.param))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {"batch_orchestrator", "batch_pipeline"} <= set(dagbag.dag_ids)


def test_tasks_run_in_pipeline_order(dagbag):
    dag = dagbag.dags["batch_orchestrator"]
    assert [task.task_id for task in dag.topological_sort()] == TASK_ORDER
    for upstream, downstream in zip(TASK_ORDER, TASK_ORDER[1:]):
        assert dag.get_task(downstream).upstream_task_ids == {upstream}


def test_params_give_a_trigger_form(dagbag):
    dag = dagbag.dags["batch_orchestrator"]
    params = dag.params
    defaults = {key: params.get_param(key).value for key in params if key not in ("csv_uri", "agent")}
    assert defaults == {
        "concurrency": 10,
        "timeout_seconds": 60,
        "input_mapping": {},
        "output_fields": [],
        "output_uri": None,
        "chunk_rows": None,  # empty: chunks packed for the concurrency
        "registry": None,
        "encoding": None,
        "neutralize_formulas": True,
        "incremental": False,
        "state_uri": None,
        "execution_mode": "realtime",
        "batch_api_deadline_seconds": 86400,
        "transforms": None,
        "golden_sample": None,
        "golden_min_accuracy": 0.9,
        "golden_judge": None,
        "golden_judge_rows": 20,
        "golden_on_fail": "stop",
    }
    assert not params.get_param("csv_uri").has_value  # required
    assert not params.get_param("agent").has_value  # required
    assert "company-enrichment-agent" in params.get_param("agent").schema["examples"]
    for key in params:
        assert params.get_param(key).description, f"{key} has no description for the form"
    assert dag.schedule is None and dag.render_template_as_native_obj and "Example" in dag.doc_md


def test_user_facing_fields_are_templated(dagbag):
    dag = dagbag.dags["batch_orchestrator"]
    assert {"request", "aws_conn_id"} <= set(dag.get_task("analyze_csv").template_fields)
    assert {"agent", "registry"} <= set(dag.get_task("validate_agent").template_fields)
    assert "registry_table" not in dag.get_task("validate_agent").template_fields  # trusted: no conf may pick it
    assert {"config", "manifest_uri"} <= set(dag.get_task("execute_batch").template_fields)
    assert {"execution_arn", "config"} <= set(dag.get_task("monitor_batch").template_fields)
    assert dag.get_task("monitor_batch").deferrable


def test_trusted_registry_files_come_from_the_dag_author_never_from_a_template():
    from airflow_provider_batchorch.dag_builders.chat import build_chat_command_dag
    from airflow_provider_batchorch.dag_builders.orchestrator import build_batch_orchestrator_dag

    validate = build_batch_orchestrator_dag(registry_files=["s3://ops/agents.yaml"]).get_task("validate_agent")
    assert validate.registry_files == ["s3://ops/agents.yaml"] and "registry_files" not in validate.template_fields
    chat = build_chat_command_dag(policy={"registry": "/etc/batchorch/agents.yaml"})
    assert chat.get_task("validate_agent").registry_files == ["/etc/batchorch/agents.yaml"]  # the chat conf names it


@pytest.mark.parametrize("dag_file", sorted(PACKAGE_DAGS_FOLDER.glob("*.py")), ids=lambda p: p.stem)
def test_each_dag_file_imports_in_under_a_second_in_a_fresh_interpreter(dag_file):
    """What the dag processor pays for one file beyond Airflow itself (which every DAG file needs): a cold
    interpreter with ``airflow.sdk`` imported, timing the file's import (best of two: the machine is shared).
    Airflow's own standard operators a file builds on (TriggerDagRunOperator alone imports SQLAlchemy and the
    trigger API, ~0.8 s) are Airflow's share, imported before the clock starts."""
    script = (
        "import json, runpy, time; import airflow.sdk; "
        "import airflow.providers.standard.operators.trigger_dagrun; t = time.perf_counter(); "
        f"runpy.run_path({str(dag_file)!r}); "
        "print(json.dumps({'seconds': time.perf_counter() - t}))"
    )
    reports = []
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        reports.append(json.loads(result.stdout.strip().splitlines()[-1]))
        if reports[-1]["seconds"] < 1.0:
            return
    pytest.fail(f"importing {dag_file.name} took over a second: {reports}")


# What the operators, sensors and triggers import inside ``execute()``: the DAG processor never runs it, so a DAG
# file must not pay for it (numpy and pyarrow alone were a quarter of a second; see BENCHMARKS.md, DAG parse time).
EXECUTE_TIME_ONLY = ("numpy", "pyarrow", "airflow_provider_batchorch.builtin_agents",
                     "airflow_provider_batchorch.core.csv.profile", "pydantic_ai", "slack_sdk", "jsonschema")


def test_dag_files_leave_execute_time_imports_to_execute():
    script = (
        "import json, runpy, sys; import airflow.sdk; had = set(sys.modules); found = {}\n"
        f"for path in {[str(p) for p in sorted(PACKAGE_DAGS_FOLDER.glob('*.py'))]!r}:\n"
        "    runpy.run_path(path)\n"
        f"    found[path.rsplit('/', 1)[-1]] = [m for m in {EXECUTE_TIME_ONLY!r} if m in set(sys.modules) - had]\n"
        "print(json.dumps(found))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found and all(modules == [] for modules in found.values()), found
