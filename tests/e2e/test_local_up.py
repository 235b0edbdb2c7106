"""`batchorch local up` as a user runs it beside their own Airflow: a long-running process with a ready line,
a batch run against it from another process through the connection it prints, and a clean stop."""

import csv
import io
import json
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from airflow_provider_batchorch.local.emulator import CREDENTIALS, free_port

ROOT = Path(__file__).resolve().parents[2]
COMPANIES = ROOT / "examples" / "companies.csv"
READY = re.compile(r"^batchorch local: ready: endpoint (?P<endpoint>\S+), bucket (?P<bucket>[^ ,]+) .*"
                   r"export AIRFLOW_CONN_AWS_DEFAULT=(?P<conn>.+)$")


def batchorch(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "airflow_provider_batchorch.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env={**os.environ, **(env or {})})


def start_up(tmp_path: Path, port: int, workers: int = 2) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_batchorch.cli", "local", "up", "--port", str(port),
         "--workers", str(workers), "--pid-file", str(tmp_path / "up.pid"), "--log-dir", str(tmp_path / "logs")],
        stdout=subprocess.PIPE, stderr=open(tmp_path / "up.err", "wb"), text=True, cwd=ROOT)


def ready_line(process: subprocess.Popen, tmp_path: Path, timeout: float = 90) -> re.Match:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, f"no ready line within {timeout}s: {(tmp_path / 'up.err').read_text()[-2000:]}"
    line = process.stdout.readline()
    match = READY.match(line.rstrip("\n"))
    assert match, (line, (tmp_path / "up.err").read_text()[-2000:])
    return match


def live_workers(pid: int) -> list[psutil.Process]:
    """The `batchorch worker` children of ``pid`` that still run (a killed one is a zombie until reaped)."""
    found = []
    for child in psutil.Process(pid).children():
        try:
            if "worker" in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except (psutil.ZombieProcess, psutil.NoSuchProcess):
            continue
    return found


@pytest.fixture
def stop_on_failure():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


@pytest.mark.e2e
def test_up_serves_a_batch_from_another_process_and_sigterm_stops_every_child(tmp_path, stop_on_failure):
    port = free_port()
    up = start_up(tmp_path, port, workers=2)
    stop_on_failure.append(up)
    ready = ready_line(up, tmp_path)
    assert ready["endpoint"] == f"http://127.0.0.1:{port}"
    connection = json.loads(shlex.split(ready["conn"])[0])  # what the user exports for Airflow
    assert connection["extra"]["endpoint_url"] == ready["endpoint"]
    children = psutil.Process(up.pid).children(recursive=True)
    assert len(children) >= 3, children  # the emulator and two workers (and their agent pools)

    # The examples are in the bucket; a batch runs on the stack's own workers, from a separate process,
    # through the connection the ready line printed (as an Airflow would).
    output = tmp_path / "out.csv"
    result = batchorch("run", "--csv", f"s3://{ready['bucket']}/examples/companies.csv",
                       "--agent", "company-enrichment-agent", "--json", "--output", str(output),
                       env={**CREDENTIALS, "AIRFLOW_CONN_AWS_DEFAULT": shlex.split(ready["conn"])[0],
                            "BATCHORCH_AWS_ENDPOINT_URL": ready["endpoint"]})
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    source_rows = list(csv.DictReader(io.StringIO(COMPANIES.read_text(encoding="utf-8-sig"))))
    produced = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"))))
    assert summary["rows_processed"] == len(produced) == len(source_rows)
    assert summary["rows_succeeded"] > 0
    assert up.poll() is None  # still serving after the batch

    up.send_signal(signal.SIGTERM)
    assert up.wait(timeout=30) == 0
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, alive
    assert not (tmp_path / "up.pid").exists()


@pytest.mark.e2e
def test_a_second_up_is_refused_a_dead_worker_is_replaced_and_down_stops_the_first(tmp_path, stop_on_failure):
    port = free_port()
    up = start_up(tmp_path, port, workers=1)
    stop_on_failure.append(up)
    ready_line(up, tmp_path)
    children = psutil.Process(up.pid).children(recursive=True)

    same_pid_file = batchorch("local", "up", "--port", "0", "--pid-file", str(tmp_path / "up.pid"), timeout=60)
    assert same_pid_file.returncode == 2
    assert same_pid_file.stderr.strip().splitlines()[-1].startswith("error: LOCAL_ALREADY_RUNNING:")
    same_port = batchorch("local", "up", "--port", str(port), "--pid-file", str(tmp_path / "other.pid"), timeout=60)
    assert same_port.returncode == 2
    assert same_port.stderr.strip().splitlines()[-1].startswith("error: LOCAL_PORT_IN_USE:")

    # A worker that dies is replaced.
    workers = live_workers(up.pid)
    assert len(workers) == 1
    workers[0].kill()
    deadline = time.monotonic() + 30
    while not [p for p in live_workers(up.pid) if p.pid != workers[0].pid]:
        assert time.monotonic() < deadline, "the dead worker was not replaced"
        time.sleep(0.2)
    children = psutil.Process(up.pid).children(recursive=True)

    started = time.monotonic()
    down = batchorch("local", "down", "--pid-file", str(tmp_path / "up.pid"), timeout=60)
    assert down.returncode == 0, down.stderr
    assert up.wait(timeout=30) == 0
    assert time.monotonic() - started < 30
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, alive
    again = batchorch("local", "down", "--pid-file", str(tmp_path / "up.pid"), timeout=60)
    assert again.returncode == 2 and "LOCAL_NOT_RUNNING" in again.stderr
