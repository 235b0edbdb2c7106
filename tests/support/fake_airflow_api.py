"""An in-memory stand-in for the parts of Airflow's REST API the Slack plugin uses, as an ``httpx`` transport."""

from __future__ import annotations

import json
import time
from urllib.parse import unquote

import httpx

from airflow_provider_batchorch.plugins.airflow_api import AirflowApi, AirflowApiSettings

USERNAME, PASSWORD = "batchorch-svc", "s3cret"


class FakeAirflowApi:
    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.requests: list[httpx.Request] = []
        self.runs: dict[str, dict] = {}
        self.xcoms: dict[tuple[str, str], object] = {}
        self.task_instances: dict[str, list[dict]] = {}
        self.tokens_issued = 0
        self.expire_next_token = False
        self.refuse_trigger: tuple[int, str] | None = None

    def client(self) -> AirflowApi:
        settings = AirflowApiSettings(base_url="http://airflow.test", username=USERNAME, password=PASSWORD)
        return AirflowApi(settings, transport=httpx.MockTransport(self.handle))

    def triggered(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests if r.method == "POST" and r.url.path.endswith("/dagRuns")]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        time.sleep(self.delay)
        path = unquote(request.url.path)
        if path == "/auth/token":
            body = json.loads(request.content)
            if (body["username"], body["password"]) != (USERNAME, PASSWORD):
                return httpx.Response(401, json={"detail": "Invalid credentials"})
            self.tokens_issued += 1
            return httpx.Response(201, json={"access_token": f"token-{self.tokens_issued}"})
        if request.headers.get("Authorization") != f"Bearer token-{self.tokens_issued}" or self.expire_next_token:
            self.expire_next_token = False
            return httpx.Response(401, json={"detail": "Token expired"})
        parts = path.split("/")  # /api/v2/dags/<dag>/dagRuns[/<run>[/taskInstances[/<task>/xcomEntries/<key>]]]
        if request.method == "POST" and len(parts) == 6:
            if self.refuse_trigger:
                return httpx.Response(self.refuse_trigger[0], json={"detail": self.refuse_trigger[1]})
            body = json.loads(request.content)
            if body["dag_run_id"] in self.runs:  # as Airflow's unique (dag_id, run_id) answers
                return httpx.Response(409, json={"detail": {"reason": "Unique constraint violation",
                                                            "message": "Serialized DAG run already exists"}})
            run = {"dag_run_id": body["dag_run_id"], "state": "queued", "conf": body["conf"]}
            self.runs[run["dag_run_id"]] = run
            return httpx.Response(200, json=run)
        if len(parts) == 6:
            found = [r for r in reversed(self.runs.values())
                     if request.url.params.get("conf_contains", "") in json.dumps(r["conf"])]
            return httpx.Response(200, json={"dag_runs": found, "total_entries": len(found)})
        run = self.runs.get(parts[6])
        if run is None:
            return httpx.Response(404, json={"detail": "DagRun not found"})
        if len(parts) == 7:
            return httpx.Response(200, json=run)
        if len(parts) == 8:
            return httpx.Response(200, json={"task_instances": self.task_instances.get(parts[6], [])})
        value = self.xcoms.get((parts[6], parts[8]))
        if value is None:
            return httpx.Response(404, json={"detail": "XCom entry not found"})
        return httpx.Response(200, json={"key": "return_value", "value": value})
