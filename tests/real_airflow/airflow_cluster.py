"""A real Airflow as it is deployed: Postgres metadata DB, LocalExecutor, and the four components (scheduler,
dag-processor, triggerer, api-server) as separate ``airflow`` processes, each logging to its own file.

Each process leads its own process group (``start_new_session``), so ``kill`` takes the component and what it
started (the LocalExecutor's workers, a task's supervisor) down at once, as a crash of its container would.
Readiness is read from the API server's health endpoint: a component is up when its job heartbeat is newer than
its start.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

from airflow_provider_batchorch.local.emulator import free_port, stop_processes
from airflow_provider_batchorch.local.airflow_home import PACKAGE_DAGS_FOLDER

USER, PASSWORD = "batchorch-admin", "admin-password"
COMPONENTS = ("api-server", "dag-processor", "scheduler", "triggerer")
# /api/v2/monitor/health key of each component's heartbeat (the API server answers the endpoint itself).
HEARTBEATS = {"scheduler": ("scheduler", "latest_scheduler_heartbeat"),
              "triggerer": ("triggerer", "latest_triggerer_heartbeat"),
              "dag-processor": ("dag_processor", "latest_dag_processor_heartbeat")}


class AirflowCluster:
    def __init__(self, home: Path, sql_alchemy_conn: str, extra_env: dict[str, str]) -> None:
        self.home = home
        self.logs = home / "component-logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.api_port = free_port()
        passwords = home / "simple_auth_manager_passwords.json"
        passwords.write_text(json.dumps({USER: PASSWORD}))
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},  # not the in-process SQLite one
            **extra_env,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PACKAGE_DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.api_port}",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),  # the same in every component
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            # Free ports: other test runs on this machine may hold Airflow's defaults (8793, 8794).
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            # Quick heartbeats, so a restarted triggerer takes over a dead one's triggers in seconds (default 30 s).
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "10",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "5",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            # The service credential the plugins' REST client (plugins.airflow_api) triggers runs with
            "BATCHORCH_AIRFLOW_API_URL": f"http://127.0.0.1:{self.api_port}",
            "BATCHORCH_AIRFLOW_API_USERNAME": USER, "BATCHORCH_AIRFLOW_API_PASSWORD": PASSWORD,
        }
        self.processes: dict[str, subprocess.Popen] = {}
        self.started_at: dict[str, datetime] = {}
        self._restarts: dict[str, int] = {}

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def airflow(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """One ``airflow`` CLI command with the cluster's environment; raises with its output on failure."""
        result = subprocess.run([sys.executable, "-m", "airflow", *args], env=self.env, capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} exited {result.returncode}:\n{result.stderr[-4000:]}")
        return result

    def migrate(self) -> None:
        self.airflow("db", "migrate")

    def log_path(self, component: str) -> Path:
        return self.logs / f"{component}-{self._restarts.get(component, 0)}.log"

    def start(self, component: str) -> None:
        args = ["api-server", "--host", "127.0.0.1", "--port", str(self.api_port), "--workers", "1"] \
            if component == "api-server" else [component]
        self.started_at[component] = datetime.now(timezone.utc)
        with open(self.log_path(component), "ab") as log:
            self.processes[component] = subprocess.Popen(
                [sys.executable, "-m", "airflow", *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)

    def start_all(self, timeout: float = 180) -> None:
        for component in COMPONENTS:
            self.start(component)
        self.wait_ready(COMPONENTS, timeout)

    def kill(self, component: str) -> None:
        """SIGKILL to the component's process group: no shutdown, as when its machine dies."""
        process = self.processes.pop(component)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        self._restarts[component] = self._restarts.get(component, 0) + 1

    def restart(self, *components: str, while_down=None, timeout: float = 180) -> None:
        """Kill the components (as ``kill``), call ``while_down()`` if given, start them again and wait until
        each is healthy."""
        for component in components:
            self.kill(component)
        if while_down is not None:
            while_down()
        for component in components:
            self.start(component)
        self.wait_ready(components, timeout)

    def wait_ready(self, components, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        pending = list(components)
        while pending:
            for component in pending:
                process = self.processes[component]
                if process.poll() is not None:
                    raise RuntimeError(f"airflow {component} exited with {process.returncode}:\n"
                                       f"{self.log_path(component).read_text(errors='replace')[-4000:]}")
            health = self._health()
            pending = [c for c in pending if not self._is_ready(c, health)]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout:.0f} s: {pending}; health {health}; logs in {self.logs}")
            time.sleep(0.5)

    def _health(self) -> dict | None:
        try:
            response = httpx.get(f"{self.api_url}/api/v2/monitor/health", timeout=5)
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None

    def _is_ready(self, component: str, health: dict | None) -> bool:
        if health is None:
            return False
        if component == "api-server":
            return True
        key, field = HEARTBEATS[component]
        beat = (health.get(key) or {}).get(field)
        return beat is not None and datetime.fromisoformat(beat) > self.started_at[component]

    def stop_all(self) -> None:
        stop_processes(list(self.processes.values()), grace=5)
        self.processes.clear()

    def rest(self) -> httpx.Client:
        """A REST client with a token from the simple auth manager (an admin)."""
        token = httpx.post(f"{self.api_url}/auth/token", json={"username": USER, "password": PASSWORD}, timeout=30)
        token.raise_for_status()
        return httpx.Client(base_url=self.api_url, timeout=30,
                            headers={"Authorization": f"Bearer {token.json()['access_token']}"})

    def tail(self, lines: int = 40) -> str:
        """The end of every component log and task log, for an assertion message."""
        parts = []
        task_logs = sorted((self.home / "logs").glob("dag_id=*/**/*.log")) if (self.home / "logs").exists() else []
        for path in [*sorted(self.logs.glob("*.log")), *task_logs]:
            parts.append(f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(parts)
