"""The real batch_orchestrator DAG under ``dag.test()`` (triggers inline) on the emulator with workers."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from airflow_provider_batchorch.aws.processor import execution_name
from airflow_provider_batchorch.core.registry_trust import ALLOWED_AGENT_TARGETS_ENV, REGISTRY_FILES_ENV
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from tests.support import slow_agent
from tests.support.dag_runs import return_value, task_states

pytestmark = pytest.mark.e2e


@pytest.fixture
def dag(airflow_db, aws_conn):
    from airflow_provider_batchorch.dag_builders.orchestrator import build_batch_orchestrator_dag

    return build_batch_orchestrator_dag(poll_interval=0.5)


def executions_named(aws, name: str) -> list[dict]:
    sfn = aws.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=aws.refs.state_machine_arn)["executions"]
    return [execution for execution in executions if execution["name"] == name]


def spy_on_trigger_polls(monkeypatch) -> list:
    """Record every Progress the trigger reads (its log lines go to the task's log, not to pytest)."""
    from airflow_provider_batchorch.triggers.batch_execution import BatchExecutionTrigger

    polls = []
    real_read = BatchExecutionTrigger._read_progress

    def read_and_record(self, hook, config):
        polls.append(real_read(self, hook, config))
        return polls[-1]

    monkeypatch.setattr(BatchExecutionTrigger, "_read_progress", read_and_record)
    return polls


def test_full_dag_run(dag, aws_conn, upload_csv, companies_csv):
    csv_uri = upload_csv(companies_csv, "companies.csv")
    run = dag.test(run_conf={"csv_uri": csv_uri, "agent": "company-enrichment-agent", "chunk_rows": 2})

    assert str(run.state) == "success", task_states(run)
    summary = return_value(run, "get_results")
    assert summary["rows_processed"] == 4 and summary["status"] in ("SUCCEEDED", "COMPLETED_WITH_ERRORS")
    progress = return_value(run, "monitor_batch")
    assert progress["status"] == "SUCCEEDED" and progress["rows_processed"] == 4
    arn = return_value(run, "execute_batch")
    assert arn == summary["execution_arn"]
    assert len(executions_named(aws_conn, execution_name(dag.dag_id, run.run_id))) == 1

    bucket, key = parse_s3_uri(summary["output_csv_uri"])
    body = aws_conn.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["location"] for row in rows] == ["Austin, TX", "London", "Paris", "Zürich"]


def test_bad_conf_fails_the_analyze_task_with_one_line(dag, aws_conn, upload_csv, capfd):
    run = dag.test(run_conf={"csv_uri": upload_csv("a\n1\n"), "agent": "company-enrichment-agent", "colour": "blue"})
    assert task_states(run)["analyze_csv"] == "failed" and str(run.state) == "failed"
    captured = capfd.readouterr()
    assert "INVALID_CONF: invalid run conf: colour: unknown key" in captured.out + captured.err


def test_retried_execute_task_reattaches_to_the_running_execution(dag, aws_conn, upload_csv, monkeypatch, tmp_path):
    """execute_batch's first try starts the execution and dies; the retry must find it (still RUNNING), not start
    another. The batch is slow (a sleeping agent), so monitor_batch really defers and the trigger polls."""
    from airflow_provider_batchorch.operators import execute_batch

    real_start = execute_batch.start_or_attach_execution
    calls = []

    def start_then_crash(*args, **kwargs):
        arn, attached = real_start(*args, **kwargs)
        calls.append((arn, attached))
        if len(calls) == 1:
            raise ConnectionError("worker lost its network after StartExecution")
        return arn, attached

    monkeypatch.setattr(execute_batch, "start_or_attach_execution", start_then_crash)
    polls = spy_on_trigger_polls(monkeypatch)
    task = dag.get_task("execute_batch")
    task.retries, task.retry_delay = 1, timedelta(0)
    registry = tmp_path / "registry.yaml"
    registry.write_text(slow_agent.REGISTRY_YAML)
    monkeypatch.setenv(REGISTRY_FILES_ENV, str(registry))  # python agents come from a configured registry
    csv_text = "name,delay_seconds\n" + "".join(f"row-{i},3\n" for i in range(4))
    conf = {"csv_uri": upload_csv(csv_text), "agent": "slow-echo-agent", "registry": str(registry),
            "chunk_rows": 2, "concurrency": 2}

    run = dag.test(run_conf=conf)

    assert str(run.state) == "success", task_states(run)
    (first_arn, first_attached), (second_arn, second_attached) = calls
    assert (first_attached, second_attached) == (False, True) and first_arn == second_arn
    assert run.get_task_instance("execute_batch").try_number == 2
    assert len(executions_named(aws_conn, execution_name(dag.dag_id, run.run_id))) == 1
    summary = return_value(run, "get_results")
    assert (summary["rows_processed"], summary["status"]) == (4, "SUCCEEDED")
    assert polls[0].status == "RUNNING", "monitor_batch should have deferred to the trigger while the batch ran"
    assert (polls[-1].status, polls[-1].rows_processed, polls[-1].rows_failed) == ("SUCCEEDED", 4, 0)


# A shell command in a CSV cell, an agent that runs it: what a person who may only trigger the DAG must not get.
SHELL_REGISTRY_YAML = """
agents:
  - name: shell-agent
    input_fields: [command]
    output_schema: {type: object, properties: {exit_code: {type: integer}}, required: [exit_code]}
    invocation: {kind: python, callable: "os:system"}
"""


def touching_registry_yaml(marker) -> str:
    """An agent whose input field names are a command line: subprocess.run(row) runs list(row)."""
    return f"""
agents:
  - name: toucher-agent
    input_fields: [touch, "{marker}"]
    output_schema: {{type: object, properties: {{returncode: {{type: integer}}}}}}
    invocation: {{kind: python, callable: "subprocess:run"}}
"""


BATCH_TASKS_AFTER_VALIDATE = ("configure_batch", "execute_batch", "monitor_batch", "get_results")


@pytest.mark.parametrize("where", ["s3", "local"])
def test_a_conf_registry_with_code_fails_the_run_before_any_row_runs(dag, aws_conn, upload_csv, tmp_path, capfd,
                                                                     where):
    marker = tmp_path / "marker"
    if where == "s3":
        registry = upload_csv(SHELL_REGISTRY_YAML, "registry.yaml")
    else:
        (tmp_path / "registry.yaml").write_text(SHELL_REGISTRY_YAML)
        registry = str(tmp_path / "registry.yaml")
    conf = {"csv_uri": upload_csv(f"cmd\ntouch {marker}\n"), "agent": "shell-agent", "registry": registry,
            "input_mapping": {"command": "cmd"}}

    run = dag.test(run_conf=conf)

    states = task_states(run)
    assert str(run.state) == "failed" and states["validate_agent"] == "failed", states
    assert all(states[task] == "upstream_failed" for task in BATCH_TASKS_AFTER_VALIDATE), states
    captured = capfd.readouterr()
    assert "UNTRUSTED_AGENT: the agent 'shell-agent'" in captured.out + captured.err
    assert not marker.exists()


def test_the_same_code_agent_from_the_operators_registry_runs(dag, aws_conn, upload_csv, tmp_path, monkeypatch):
    """The control for the test above: code from a registry the operator configured does run on the workers."""
    marker = tmp_path / "marker"
    registry = upload_csv(touching_registry_yaml(marker), "registry.yaml")
    conf = {"csv_uri": upload_csv("a,b\n1,2\n"), "agent": "toucher-agent", "registry": registry,
            "input_mapping": {"touch": "a", str(marker): "b"}}
    refused = dag.test(run_conf=conf)
    assert task_states(refused)["validate_agent"] == "failed" and not marker.exists()

    monkeypatch.setenv(REGISTRY_FILES_ENV, registry)
    run = dag.test(run_conf=conf)
    assert str(run.state) == "success", task_states(run)
    assert marker.exists()


def test_a_conf_llm_agent_runs_only_when_its_model_is_allow_listed(dag, aws_conn, upload_csv, monkeypatch):
    registry = upload_csv("""
agents:
  - name: offline-labeler
    input_fields: [company_name]
    output_schema: {type: object, properties: {label: {type: string}}, required: [label]}
    invocation: {kind: llm, model: test}
""", "registry.yaml")
    conf = {"csv_uri": upload_csv("company_name\nAcme\n"), "agent": "offline-labeler", "registry": registry}
    monkeypatch.setenv(ALLOWED_AGENT_TARGETS_ENV, "openai:*")
    refused = dag.test(run_conf=conf)
    assert task_states(refused)["validate_agent"] == "failed"

    monkeypatch.setenv(ALLOWED_AGENT_TARGETS_ENV, "openai:*, test")
    run = dag.test(run_conf=conf)
    assert str(run.state) == "success", task_states(run)
    assert return_value(run, "get_results")["rows_succeeded"] == 1
