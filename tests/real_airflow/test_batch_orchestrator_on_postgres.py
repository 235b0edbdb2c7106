"""batch_orchestrator in a real Airflow: Postgres metadata DB, LocalExecutor, scheduler, dag-processor, triggerer
and api-server as separate processes, the embedded AWS (moto + processor + two workers). Runs are unpaused and
triggered through the REST API, as a user or the Slack plugin does."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from airflow_provider_batchorch.aws.processor import execution_name

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "batch_orchestrator"
COMPANY_ROWS = 300
# Metadata columns whose value differs from one run to the next.
RUN_SPECIFIC = ("_latency_ms", "_processed_at")


def companies_csv(rows: int) -> str:
    """The first ``rows`` companies of examples/companies.csv (quoted commas, unknown companies, bad sites)."""
    lines = (ROOT / "examples" / "companies.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(lines[: rows + 1])


def upload(aws, text: str, name: str) -> str:
    key = f"tests/real_airflow/{uuid.uuid4().hex[:8]}/{name}"
    aws.client("s3").put_object(Bucket=aws.bucket, Key=key, Body=text.encode("utf-8"))
    return f"s3://{aws.bucket}/{key}"


def read_csv(aws, uri: str) -> tuple[list[str], list[dict[str, str]]]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig")
    return parse_csv(body)


def parse_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def unpause(api, dag_id: str = DAG_ID) -> None:
    deadline = time.monotonic() + 120
    while (response := api.get(f"/api/v2/dags/{dag_id}")).status_code == 404:  # the dag-processor's first parse
        assert time.monotonic() < deadline, f"{dag_id} never appeared in the API"
        time.sleep(1)
    response.raise_for_status()
    api.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False}).raise_for_status()


def trigger(api, conf: dict) -> str:
    unpause(api)
    run_id = f"real-airflow-{uuid.uuid4().hex[:8]}"
    response = api.post(f"/api/v2/dags/{DAG_ID}/dagRuns", json={"dag_run_id": run_id, "logical_date": None,
                                                                "conf": conf})
    assert response.status_code == 200, response.text
    return run_id


def task_states(api, run_id: str, dag_id: str = DAG_ID) -> dict[str, str]:
    response = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
    response.raise_for_status()
    return {ti["task_id"]: ti["state"] for ti in response.json()["task_instances"]}


class RunWatch:
    """Polls a DAG run through the REST API and remembers every state each task was seen in."""

    def __init__(self, api, run_id: str, dag_id: str = DAG_ID) -> None:
        self.api, self.run_id, self.dag_id = api, run_id, dag_id
        self.seen: dict[str, list[str]] = {}
        self.state = None

    def poll(self) -> dict[str, str]:
        self.state = self.api.get(f"/api/v2/dags/{self.dag_id}/dagRuns/{self.run_id}").json()["state"]
        states = task_states(self.api, self.run_id, self.dag_id)
        for task, state in states.items():
            history = self.seen.setdefault(task, [])
            if not history or history[-1] != state:
                history.append(state)
        return states

    def wait_until(self, predicate, timeout: float, what: str, cluster) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            states = self.poll()
            if predicate(states):
                return states
            if self.state == "failed" or time.monotonic() > deadline:
                raise AssertionError(f"{what}: run {self.state}, tasks {self.seen}\n{cluster.tail()}")
            time.sleep(0.5)

    def wait_finished(self, timeout: float, cluster) -> dict[str, str]:
        return self.wait_until(lambda _: self.state in ("success", "failed"), timeout, "run did not finish", cluster)


def return_value(api, run_id: str, task_id: str):
    response = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value",
                       params={"deserialize": True, "stringify": False})
    response.raise_for_status()
    return response.json()["value"]


def task_log(api, run_id: str, task_id: str, try_number: int = 1) -> str:
    response = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                       params={"full_content": True}, headers={"Accept": "application/json"})
    response.raise_for_status()
    content = response.json()["content"]
    return "\n".join(item.get("event", "") if isinstance(item, dict) else str(item) for item in content)


def assert_deferred_and_resumed(api, watch: RunWatch) -> None:
    """monitor_batch went running -> deferred -> (triggerer fired) -> running again -> success."""
    history = watch.seen["monitor_batch"]
    assert "deferred" in history, history
    assert history.index("deferred") < len(history) - 1 and history[-1] == "success", history
    log = task_log(api, watch.run_id, "monitor_batch")
    for line in ("Pausing task as DEFERRED",  # the task's first run handed the wait to the triggerer
                 "Trigger fired event",  # the triggerer saw the batch finish
                 "Execution finished:"):  # execute_complete: the task resumed with the trigger's event
        assert line in log, f"{line!r} not in monitor_batch's log:\n{log[-3000:]}"


def start_cli_run(csv_path: Path, output: Path, **options: str) -> subprocess.Popen:
    """``batchorch run`` on the embedded default (SQLite, its own emulator), started now, read at the end."""
    flags = [item for key, value in options.items() for item in (f"--{key.replace('_', '-')}", value)]
    return subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_batchorch.cli.command", "run", "--csv", str(csv_path),
         "--output", str(output), "--json", *flags],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_batch_runs_on_postgres_with_the_clis_header(airflow_cluster, real_aws, workers, tmp_path):
    text = companies_csv(COMPANY_ROWS)
    local_csv = tmp_path / "companies.csv"
    local_csv.write_text(text, encoding="utf-8")
    options = {"agent": "company-enrichment-agent", "chunk_rows": "25", "concurrency": "8"}
    cli = start_cli_run(local_csv, tmp_path / "cli_out.csv", **options)

    with airflow_cluster.rest() as api:
        run_id = trigger(api, {"csv_uri": upload(real_aws, text, "companies.csv"), "agent": options["agent"],
                               "chunk_rows": 25, "concurrency": 8})
        watch = RunWatch(api, run_id)
        # No worker polls the queue yet: the execution is RUNNING when the monitor starts, so it must defer.
        watch.wait_until(lambda states: states.get("monitor_batch") == "deferred", 240,
                         "monitor_batch never deferred", airflow_cluster)
        workers()
        states = watch.wait_finished(300, airflow_cluster)

        if not (watch.state == "success" and set(states.values()) == {"success"}):
            # pytest.fail, not assert: an assertion message this long is cut, and the failed task's log is the point
            pytest.fail(f"run {watch.state}, tasks {states}\n{airflow_cluster.tail()}", pytrace=False)
        assert_deferred_and_resumed(api, watch)
        summary = return_value(api, run_id, "get_results")

    assert summary["rows_processed"] == COMPANY_ROWS
    header, rows = read_csv(real_aws, summary["output_csv_uri"])
    _, source = parse_csv(text)
    assert [r["company_name"] for r in rows] == [r["company_name"] for r in source]  # every row, in order

    out, err = cli.communicate(timeout=300)
    assert cli.returncode == 0, err[-3000:]
    cli_header, cli_rows = parse_csv((tmp_path / "cli_out.csv").read_text(encoding="utf-8-sig"))
    assert header == cli_header  # XCom in Postgres is JSONB, which reorders keys: the header must not follow it
    assert [{k: v for k, v in r.items() if k not in RUN_SPECIFIC} for r in rows] == \
           [{k: v for k, v in r.items() if k not in RUN_SPECIFIC} for r in cli_rows]


SLOW_ROWS, SLOW_DELAY = 160, "0.5"


def test_a_killed_scheduler_and_triggerer_mid_batch_lose_nothing(airflow_cluster, real_aws, workers):
    """SIGKILL to the scheduler and the triggerer while the batch runs (monitor_batch deferred), both restarted:
    the run finishes with every row once, in order, from the one execution it started."""
    workers()
    text = "name,delay_seconds\n" + "".join(f"row-{i:04d},{SLOW_DELAY}\n" for i in range(SLOW_ROWS))
    with airflow_cluster.rest() as api:
        run_id = trigger(api, {"csv_uri": upload(real_aws, text, "slow.csv"), "agent": "slow-echo-agent",
                               "chunk_rows": 10, "concurrency": 4})
        watch = RunWatch(api, run_id)
        watch.wait_until(lambda states: states.get("monitor_batch") == "deferred", 240,
                         "monitor_batch never deferred", airflow_cluster)
        sfn = real_aws.client("stepfunctions")
        (execution,) = executions_named(real_aws, execution_name(DAG_ID, run_id))
        time.sleep(3)  # a few chunks in, well before the end
        assert sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "RUNNING"

        for component in ("scheduler", "triggerer"):
            airflow_cluster.kill(component)
        time.sleep(2)
        assert sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "RUNNING", \
            "the batch ended while the scheduler and triggerer were down: make it slower"
        for component in ("scheduler", "triggerer"):
            airflow_cluster.start(component)
        airflow_cluster.wait_ready(("scheduler", "triggerer"))

        states = watch.wait_finished(300, airflow_cluster)
        if not (watch.state == "success" and set(states.values()) == {"success"}):
            # pytest.fail, not assert: an assertion message this long is cut, and the failed task's log is the point
            pytest.fail(f"run {watch.state}, tasks {states}\n{airflow_cluster.tail()}", pytrace=False)
        assert_deferred_and_resumed(api, watch)
        summary = return_value(api, run_id, "get_results")

    monitor_logs = airflow_cluster.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}" / "task_id=monitor_batch"
    trigger_jobs = sorted(p.name for p in monitor_logs.glob("attempt=1.log.trigger.*.log"))
    assert len(trigger_jobs) == 2, trigger_jobs  # the killed triggerer's job, then the restarted one's took over
    assert summary["rows_processed"] == SLOW_ROWS and summary["rows_succeeded"] == SLOW_ROWS, summary
    assert len(executions_named(real_aws, execution_name(DAG_ID, run_id))) == 1  # not started again
    _, rows = read_csv(real_aws, summary["output_csv_uri"])
    expected = [f"row-{i:04d}" for i in range(SLOW_ROWS)]
    assert [r["name"] for r in rows] == expected  # every row once, in order
    assert [r["echo"] for r in rows] == expected and {r["_status"] for r in rows} == {"SUCCEEDED"}


def executions_named(aws, name: str) -> list[dict]:
    sfn = aws.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=aws.refs.state_machine_arn)["executions"]
    return [execution for execution in executions if execution["name"] == name]
