"""docker-compose.yaml without a Docker engine: it parses, every service is there with a healthcheck, the
dependencies wait on the right conditions, every command the services run exists, and the emulator's entrypoint
really brings up a moto server with the processor deployed."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from airflow_provider_batchorch.aws.processor import ProcessorNames
from airflow_provider_batchorch.cli.command import _parser
from tests.deploy.compose_file import COMPOSE, ENV_EXAMPLE, ROOT, MissingVariable, load_compose, read_env_file, variables

AIRFLOW_SERVICES = {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                    "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer"}
LONG_RUNNING = {*AIRFLOW_SERVICES, "postgres", "aws", "worker"}
DOCKERFILE = ROOT / "docker" / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def test_every_service_of_the_stack_is_there(services):
    assert set(services) == LONG_RUNNING | {"airflow-init"}
    for name, command in AIRFLOW_SERVICES.items():
        assert services[name]["command"] == command
        assert services[name]["image"] == "batchorch-airflow:local"
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile"


def test_long_running_services_have_healthchecks(services):
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck")
        assert check and check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert {"interval", "timeout", "retries"} <= set(check), name


def test_dependencies_wait_for_health_or_completion(services):
    for name, service in services.items():
        for target, rule in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target}'s health, it has none"
            else:
                assert condition == "service_completed_successfully" and target == "airflow-init", (name, target)
    for name in AIRFLOW_SERVICES:
        needs = {t: r["condition"] for t, r in services[name]["depends_on"].items()}
        assert needs["postgres"] == needs["aws"] == "service_healthy", name
        assert needs["airflow-init"] == "service_completed_successfully", name
    assert services["airflow-scheduler"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    assert services["worker"]["depends_on"] == {"aws": {"condition": "service_healthy"}}
    assert services["airflow-init"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_dependencies_have_no_cycle(services):
    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        for target in services[name].get("depends_on", {}):
            visit(target, (*path, name))

    for name in services:
        visit(name, ())


def test_workers_scale(services):
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale worker=N needs both absent
    assert worker["deploy"]["replicas"] == 2
    assert all("container_name" not in service for service in services.values())


def test_worker_command_is_batchorch_worker(services):
    worker = services["worker"]
    assert worker["entrypoint"] == ["/usr/bin/dumb-init", "--"]
    assert worker["command"][0] == "batchorch"
    args = _parser().parse_args(worker["command"][1:])
    names = ProcessorNames()
    assert (args.command, args.queue, args.progress_table, args.max_chunks) == (
        "worker", names.queue, names.progress_table, 32)
    assert worker["environment"]["BATCHORCH_AWS_ENDPOINT_URL"] == "http://aws:5000"  # the worker's default endpoint


def test_airflow_commands_exist_in_airflow():
    from airflow.cli.cli_parser import get_parser

    parser = get_parser()
    for command in AIRFLOW_SERVICES.values():
        assert parser.parse_args([command]).subcommand == command
    assert parser.parse_args(["db", "migrate"]).subcommand == "migrate"
    for job_type in ("DagProcessorJob", "TriggererJob"):
        parser.parse_args(["jobs", "check", "--job-type", job_type, "--hostname", "host"])


def test_airflow_healthchecks_call_existing_commands(services):
    from airflow.cli.cli_parser import get_parser

    for name in ("airflow-dag-processor", "airflow-triggerer"):
        words = shlex.split(services[name]["healthcheck"]["test"][1].replace("${HOSTNAME}", "host"))
        assert words[0] == "airflow"
        get_parser().parse_args(words[1:])
    assert services["airflow-scheduler"]["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"
    init = services["airflow-init"]["command"][0]
    assert "airflow db migrate" in init and "simple_auth_manager_passwords.json" in init


def test_aws_connection_points_at_the_emulator_service(services):
    environment = services["airflow-scheduler"]["environment"]
    connection = json.loads(environment["AIRFLOW_CONN_AWS_DEFAULT"])
    assert connection["conn_type"] == "aws" and connection["extra"]["endpoint_url"] == "http://aws:5000"
    assert environment["BATCHORCH_AWS_ENDPOINT_URL"] == "http://aws:5000"
    assert services["aws"]["environment"]["MOTO_PORT"] == "5000"
    assert environment["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:8080/")


def test_dags_and_package_are_mounted(services):
    for name in AIRFLOW_SERVICES:
        mounts = dict(volume.split(":", 2)[:2] for volume in services[name]["volumes"])
        assert mounts["./airflow_provider_batchorch/dag_builders/dags"] == "/opt/airflow/dags"
        assert mounts["./airflow_provider_batchorch"] == "/opt/batchorch/airflow_provider_batchorch"
    assert (ROOT / "airflow_provider_batchorch" / "dag_builders" / "dags" / "batch_orchestrator.py").is_file()
    assert (ROOT / "airflow_provider_batchorch" / "plugins" / "dashboard.py").is_file()
    assert "WORKDIR /opt/batchorch" in DOCKERFILE.read_text() and "--editable /opt/batchorch" in DOCKERFILE.read_text()


def test_dockerfile_builds_on_the_official_airflow_image_with_this_package():
    from importlib.metadata import version

    text = DOCKERFILE.read_text()
    default = re.search(r"^ARG AIRFLOW_VERSION=(\S+)$", text, re.M).group(1)
    assert default.split(".")[:2] == version("apache-airflow").split(".")[:2] == ["3", "3"]
    assert "FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}" in text
    assert read_env_file()["AIRFLOW_VERSION"] == default
    ignore = (ROOT / "docker" / "Dockerfile.dockerignore").read_text().splitlines()
    for source in re.findall(r"^COPY --chown=\S+ (.+) \S+$", text, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"COPY {path}: no such file"
            assert any(line.startswith(f"!{path}") for line in ignore), f"{path} is not in the build context"


def test_every_variable_is_in_env_example_and_every_example_is_used():
    used = variables(COMPOSE.read_text()) - {"HOSTNAME"}
    example = set(read_env_file())
    assert used - example == set(), "variables the compose file uses that .env.example does not show"
    assert example - used - variables(DOCKERFILE.read_text()) == set(), ".env.example keys nothing uses"


def test_secrets_must_be_set_everything_else_has_a_default():
    with pytest.raises(MissingVariable, match="AIRFLOW_JWT_SECRET"):
        load_compose({})
    compose = load_compose({"AIRFLOW_JWT_SECRET": "x", "AIRFLOW_API_SECRET_KEY": "y"})
    assert compose["services"]["worker"]["command"][-1] == "32"


@pytest.fixture
def emulator(tmp_path):
    """docker/emulator_entrypoint.py, run as the aws service runs it, on a free port of 127.0.0.1."""
    from airflow_provider_batchorch.local.emulator import CREDENTIALS, free_port

    port = free_port()
    ready = tmp_path / "ready"
    env = {**os.environ, **CREDENTIALS, "MOTO_PORT": str(port), "BATCHORCH_EMULATOR_HOST": "127.0.0.1",
           "BATCHORCH_EMULATOR_READY_FILE": str(ready), "BATCHORCH_EXAMPLES_DIR": str(ROOT / "examples"),
           "BATCHORCH_BUCKET": "batchorch-local"}
    process = subprocess.Popen([sys.executable, str(ROOT / "docker" / "emulator_entrypoint.py")], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the emulator never became ready"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", env
    finally:
        process.terminate()
        process.wait(timeout=15)


def runs_state_machines(sfn) -> bool:
    """moto only runs executions with its interpreter on; otherwise they stay RUNNING."""
    machine = sfn.create_state_machine(name="probe", roleArn="arn:aws:iam::123456789012:role/probe",
                                       definition='{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}')
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED":
            sfn.delete_state_machine(stateMachineArn=machine["stateMachineArn"])
            return True
        time.sleep(0.1)
    return False


def test_emulator_entrypoint_deploys_the_processor_and_the_worker_can_use_it(emulator, services):
    url, env = emulator
    client = lambda service: boto3.client(service, endpoint_url=url, region_name="us-east-1")  # noqa: E731
    assert runs_state_machines(client("stepfunctions")), "moto's Step Functions interpreter is off"
    names = ProcessorNames()
    assert [m["name"] for m in client("stepfunctions").list_state_machines()["stateMachines"]] == [names.state_machine]
    assert {"batchorch-progress", "batchorch-jobs"} <= set(client("dynamodb").list_tables()["TableNames"])
    keys = {o["Key"] for o in client("s3").list_objects_v2(Bucket="batchorch-local")["Contents"]}
    assert "examples/companies.csv" in keys

    worker_env = {**env, "BATCHORCH_AWS_ENDPOINT_URL": url}
    healthcheck = services["worker"]["healthcheck"]["test"]
    subprocess.run([sys.executable, *healthcheck[2:]], env=worker_env, check=True, timeout=30)
    # the worker service's own command, told to stop when idle: it finds the queue and polls it
    command = [sys.executable, "-m", "airflow_provider_batchorch.cli", *services["worker"]["command"][1:],
               "--idle-exit-seconds", "0.5"]
    result = subprocess.run(command, env=worker_env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "worker polling" in result.stderr and names.queue in result.stderr
