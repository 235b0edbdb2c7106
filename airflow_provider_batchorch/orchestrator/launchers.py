"""How the toolset starts a batch: always a run of the ``batch_orchestrator`` DAG, so Airflow stays the record.

- ``AirflowApiLauncher``: ``POST /api/v2/dags/batch_orchestrator/dagRuns`` with the conf, on a running Airflow
  (``plugins.airflow_api``: ``BATCHORCH_AIRFLOW_API_URL`` and its credential);
- ``EmbeddedLauncher`` (the default): the local run ``batchorch run`` does (``cli.local_run.run_batch``, i.e.
  ``dag.test``), in a child process so the tool returns at once; the child's output goes to a log file, never
  to the MCP server's stdout.

Both name the DAG run before it starts, so the batch id and the Step Functions execution name
(``aws.processor.execution_name``) are known when ``trigger`` returns.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

DAG_ID = "batch_orchestrator"
LOG_TAIL_LINES = 15
FINISHED_STATES = ("success", "failed")


@dataclass(frozen=True)
class RunState:
    state: str  # Airflow's DAG run state: queued, running, success, failed
    detail: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


class Launcher(Protocol):
    name: str

    def trigger(self, conf: dict[str, Any]) -> str:
        """Start a ``batch_orchestrator`` run with ``conf``; returns its run id at once."""

    def state(self, run_id: str) -> RunState: ...


class AirflowApiLauncher:
    """DAG runs over Airflow's REST API (the deployment's Airflow records, schedules and retries them)."""

    name = "airflow-api"

    def __init__(self, api=None, dag_id: str = DAG_ID) -> None:
        if api is None:
            from airflow_provider_batchorch.plugins.airflow_api import AirflowApi, AirflowApiSettings

            api = AirflowApi(AirflowApiSettings.from_env())
        self.api = api
        self.dag_id = dag_id

    def trigger(self, conf: dict[str, Any]) -> str:
        run_id = f"batchorch_mcp__{datetime.now(timezone.utc):%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}"
        return self.api.trigger_dag_run(self.dag_id, conf, run_id=run_id)["dag_run_id"]

    def state(self, run_id: str) -> RunState:
        run = self.api.get_dag_run(self.dag_id, run_id)
        detail = None
        if run.get("state") == "failed":
            failed = [ti["task_id"] for ti in self.api.task_instances(self.dag_id, run_id)
                      if ti.get("state") in ("failed", "upstream_failed")]
            detail = "failed tasks: " + ", ".join(failed) if failed else None
        return RunState(run.get("state") or "queued", detail)


class EmbeddedLauncher:
    """``batchorch run``'s embedded DAG run (``dag.test`` on a throwaway Airflow), one child process per batch.

    The AWS endpoint the child uses is this process's (``BATCHORCH_AWS_ENDPOINT_URL``, ``AIRFLOW_CONN_AWS_DEFAULT``):
    the embedded moto server the toolset started, or the one configured.
    """

    name = "embedded"

    def __init__(self, log_dir: str | Path | None = None) -> None:
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="batchorch-mcp-runs-"))
        self._children: dict[str, tuple[subprocess.Popen, Path]] = {}
        self._lock = threading.Lock()

    def trigger(self, conf: dict[str, Any]) -> str:
        moment = datetime.now(timezone.utc)
        run_id = manual_run_id(moment)
        log_path = self.log_dir / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', run_id)}.log"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
        with open(log_path, "ab") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "airflow_provider_batchorch.orchestrator.embedded_run",
                 "--run-after", moment.isoformat()],
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=env)
        child.stdin.write(json.dumps(conf).encode())
        child.stdin.close()
        with self._lock:
            self._children[run_id] = (child, log_path)
        return run_id

    def state(self, run_id: str) -> RunState:
        with self._lock:
            started = self._children.get(run_id)
        if started is None:  # started by another process (a conversation continued after a restart)
            return RunState("unknown", "this process did not start the run; its results in S3 tell its outcome")
        child, log_path = started
        code = child.poll()
        if code is None:
            return RunState("running")
        if code == 0:
            return RunState("success")
        return RunState("failed", f"the embedded run exited with {code}; its log ({log_path}) ends:\n"
                                  + _tail(log_path))

    def stop(self) -> None:
        """End the children this launcher started (each by its own pid)."""
        with self._lock:
            children = [child for child, _ in self._children.values()]
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


class ChatPipelineLauncher:
    """The chat DAG's own pipeline as the launcher: ``trigger`` hands the checked request to the tasks after
    ``agent_request`` (approval when the batch is large or costly, execute, progress and results in the thread)
    instead of starting another DAG run. One batch per chat message."""

    name = "chat-pipeline"
    has_approval_step = True  # approve_batch gates it: the toolset's approval gate is not asked again

    def __init__(self, dag_id: str, run_id: str) -> None:
        self.dag_id = dag_id
        self.run_id = run_id
        self.conf: dict[str, Any] | None = None

    def trigger(self, conf: dict[str, Any]) -> str:
        if self.conf is not None:
            from airflow_provider_batchorch.core.errors import BatchorchError

            raise BatchorchError("this message already started a batch.",
                                 hint="Tell the user it is running; start another with a new message.")
        self.conf = conf
        return self.run_id

    def state(self, run_id: str) -> RunState:
        if run_id == self.run_id:
            return RunState("queued", "the batch starts when this reply is posted (after a human's approval "
                                      "when it is large or costly); its progress and results follow in the thread")
        return RunState("unknown", "an earlier chat run; its results in S3 tell its outcome")


def manual_run_id(moment: datetime) -> str:
    """The run id ``dag.test(logical_date=moment, run_after=moment)`` gives its run (Airflow's own rule)."""
    from airflow.utils.types import DagRunType

    return DagRunType.MANUAL.generate_run_id(suffix=moment.isoformat())


def _tail(path: Path) -> str:
    with open(path, errors="replace") as stream:
        return "".join(deque(stream, maxlen=LOG_TAIL_LINES))
