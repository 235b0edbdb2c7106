"""`batchorch run` leaves nothing behind: SIGTERM, Ctrl-C (SIGINT) and the emulator dying mid-batch each end the
run with one line on stderr, and every process it started is gone. Real subprocesses, a slow agent."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import psutil
import pytest

from tests.support.slow_agent import REGISTRY_YAML

ROOT = Path(__file__).resolve().parents[2]
GONE_WITHIN_SECONDS = 15  # the stop's grace period (5 s) and a margin for a loaded machine


class Run:
    """``batchorch run`` in its own session (a terminal's Ctrl-C reaches its process group)."""

    def __init__(self, tmp_path: Path, rows: list[tuple[str, float]], *extra: str) -> None:
        registry = tmp_path / "agents.yaml"
        registry.write_text(REGISTRY_YAML)
        csv_path = tmp_path / "rows.csv"
        csv_path.write_text("name,delay_seconds\n" + "".join(f"{name},{delay}\n" for name, delay in rows))
        self.stderr_path = tmp_path / "stderr.txt"
        with self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "airflow_provider_batchorch.cli", "run", "--csv", str(csv_path),
                 "--agent", "slow-echo-agent", "--registry", str(registry), "--chunk-rows", "5", *extra],
                stdout=subprocess.DEVNULL, stderr=stderr, cwd=ROOT, start_new_session=True)
        self.started: dict[int, psutil.Process] = {}  # every descendant seen, to check that none outlives the run

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def descendants(self) -> list[psutil.Process]:
        try:
            found = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        self.started.update((child.pid, child) for child in found)
        return found

    def wait_for(self, predicate, what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            assert self.process.poll() is None, f"run ended ({self.process.returncode}): {self.stderr[-3000:]}"
            time.sleep(0.2)
        pytest.fail(f"{what} not seen within {timeout:.0f}s: {self.stderr[-3000:]}")

    def workers(self) -> list[psutil.Process]:
        return [p for p in self.descendants() if _cmdline_has(p, "airflow_provider_batchorch.cli worker")]

    def emulator(self) -> psutil.Process:
        return next(p for p in self.descendants() if _cmdline_has(p, "airflow_provider_batchorch.local.emulator"))

    def wait_for_workers(self, count: int = 2) -> None:
        self.wait_for(lambda: len(self.workers()) >= count, f"{count} worker processes")
        self.descendants()

    def finish(self, timeout: float = GONE_WITHIN_SECONDS) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def survivors(self) -> list[psutil.Process]:
        deadline = time.monotonic() + GONE_WITHIN_SECONDS
        alive = list(self.started.values())
        while alive and time.monotonic() < deadline:
            alive = [p for p in alive if _alive(p)]
            time.sleep(0.2)
        for process in alive:  # do not leak them into the rest of the suite
            process.kill()
        return alive

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


def _cmdline_has(process: psutil.Process, text: str) -> bool:
    try:
        return text in " ".join(process.cmdline())
    except psutil.Error:
        return False


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


SLOW_ROWS = [(f"row{i}", 30) for i in range(10)]


@pytest.mark.e2e
def test_sigterm_stops_the_emulator_and_every_worker(tmp_path):
    run = Run(tmp_path, SLOW_ROWS)
    run.wait_for_workers()
    assert len(run.started) >= 3  # the moto server and two workers

    run.process.send_signal(signal.SIGTERM)  # to the run alone, as a service manager or `kill` does

    assert run.finish() == 128 + signal.SIGTERM
    assert run.survivors() == []
    assert len(run.error_lines()) == 1 and "RUN_INTERRUPTED" in run.error_lines()[0], run.stderr[-3000:]
    assert "Traceback" not in run.stderr


@pytest.mark.e2e
def test_ctrl_c_stops_the_emulator_and_every_worker(tmp_path):
    run = Run(tmp_path, SLOW_ROWS)
    run.wait_for_workers()

    os.killpg(run.process.pid, signal.SIGINT)  # what a terminal sends to its foreground process group

    assert run.finish() == 128 + signal.SIGINT
    assert run.survivors() == []
    assert len(run.error_lines()) == 1 and "SIGINT" in run.error_lines()[0], run.stderr[-3000:]
    assert "Traceback" not in run.stderr


@pytest.mark.e2e
def test_emulator_dying_mid_batch_ends_the_run_with_one_line(tmp_path):
    # Two chunks finish at once; two stay in the agent for 30 s.
    run = Run(tmp_path, [(f"fast{i}", 0) for i in range(10)] + SLOW_ROWS)
    run.wait_for(lambda: "embedded AWS (moto) at" in run.stderr, "the emulator's address")
    endpoint = re.search(r"embedded AWS \(moto\) at (\S+);", run.stderr).group(1)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")

    def finished_parts() -> int:
        listed = s3.list_objects_v2(Bucket="batchorch-local", Prefix="batchorch/runs/")
        return sum(bool(re.search(r"/parts/chunk-\d+\.json$", o["Key"])) for o in listed.get("Contents", []))

    run.wait_for(lambda: finished_parts() >= 2, "two finished chunk parts")
    run.wait_for_workers()
    time.sleep(2)  # the run counts the parts once a second
    run.emulator().kill()

    assert run.finish() == 1
    assert run.survivors() == []
    lines = run.error_lines()
    assert len(lines) == 1, run.stderr[-3000:]
    assert "RUN_EMULATOR_STOPPED" in lines[0] and "was killed by SIGKILL" in lines[0]
    assert "2 chunk parts (10 rows) had been finished" in lines[0]
    assert "Traceback" not in run.stderr


@pytest.mark.e2e
def test_zero_workers_is_refused_with_one_line(tmp_path):
    (tmp_path / "rows.csv").write_text("name\nAcme\n")
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_batchorch.cli", "run", "--csv", str(tmp_path / "rows.csv"),
         "--agent", "company-enrichment-agent", "--workers", "0"],
        capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: INVALID_CONF: --workers must be at least 1"), lines
