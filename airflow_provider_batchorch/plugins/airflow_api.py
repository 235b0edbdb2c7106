"""A small client of Airflow's public REST API (``/api/v2``) with a service credential.

The token comes from ``POST /auth/token`` (``{"username", "password"}`` -> ``access_token``) and is sent as
``Authorization: Bearer``; it is fetched again once when the API answers 401 (expired).

Configuration (``AirflowApiSettings.from_env``): ``BATCHORCH_AIRFLOW_API_URL`` (default
``http://localhost:8080``), ``BATCHORCH_AIRFLOW_API_USERNAME`` / ``BATCHORCH_AIRFLOW_API_PASSWORD``, or an
Airflow connection named by ``BATCHORCH_AIRFLOW_API_CONN_ID`` (``login``, ``password``, and ``host`` as the URL).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import quote

import httpx

DEFAULT_API_URL = "http://localhost:8080"


class AirflowApiError(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(f"Airflow API answered {status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True)
class AirflowApiSettings:
    base_url: str = DEFAULT_API_URL
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "AirflowApiSettings":
        environ = os.environ if environ is None else environ
        base_url = environ.get("BATCHORCH_AIRFLOW_API_URL") or None
        username = environ.get("BATCHORCH_AIRFLOW_API_USERNAME") or None
        password = environ.get("BATCHORCH_AIRFLOW_API_PASSWORD") or None
        conn_id = environ.get("BATCHORCH_AIRFLOW_API_CONN_ID")
        if conn_id and not (username and password):
            from airflow.sdk import BaseHook

            connection = BaseHook.get_connection(conn_id)
            username, password = connection.login, connection.password
            if not base_url and connection.host:
                host = connection.host if "://" in connection.host else f"{connection.schema or 'http'}://{connection.host}"
                base_url = host + (f":{connection.port}" if connection.port else "")
        return cls(base_url=(base_url or DEFAULT_API_URL).rstrip("/"), username=username, password=password)


class AirflowApi:
    """Trigger DAG runs and read runs, task instances and XComs."""

    def __init__(self, settings: AirflowApiSettings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self._client = httpx.Client(base_url=settings.base_url, timeout=settings.timeout, transport=transport)
        self._token: str | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def _fetch_token(self) -> str:
        if not (self.settings.username and self.settings.password):
            raise AirflowApiError(401, "no service credential: set BATCHORCH_AIRFLOW_API_USERNAME and _PASSWORD "
                                       "or BATCHORCH_AIRFLOW_API_CONN_ID")
        response = self._client.post("/auth/token", json={"username": self.settings.username,
                                                          "password": self.settings.password})
        if response.status_code not in (200, 201):
            raise AirflowApiError(response.status_code, f"token refused: {response.text[:200]}")
        return response.json()["access_token"]

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        for attempt in range(2):
            with self._lock:
                if self._token is None:
                    self._token = self._fetch_token()
                token = self._token
            response = self._client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
            if response.status_code == 401 and attempt == 0:
                with self._lock:
                    self._token = None
                continue
            if response.status_code >= 400:
                raise AirflowApiError(response.status_code, _detail(response))
            return response.json() if response.content else None
        raise AssertionError("unreachable")

    def trigger_dag_run(self, dag_id: str, conf: dict[str, Any], run_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"logical_date": None, "conf": conf}
        if run_id:
            body["dag_run_id"] = run_id
        return self._request("POST", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns", json=body)

    def get_dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}")

    def latest_dag_runs(self, dag_id: str, *, conf_contains: str | None = None, limit: int = 20) -> list[dict]:
        params: dict[str, Any] = {"order_by": "-run_after", "limit": limit}
        if conf_contains:
            params["conf_contains"] = conf_contains
        answer = self._request("GET", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns", params=params)
        return answer.get("dag_runs", [])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        answer = self._request(
            "GET", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}/taskInstances"
        )
        return answer.get("task_instances", [])

    def return_value(self, dag_id: str, run_id: str, task_id: str) -> Any:
        """A task's return value (XCom ``return_value``), or ``None`` when it has none."""
        path = (f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}/taskInstances/"
                f"{quote(task_id, safe='')}/xcomEntries/return_value")
        try:
            value = self._request("GET", path)["value"]
        except AirflowApiError as error:
            if error.status_code == 404:
                return None
            raise
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    return (detail if isinstance(detail, str) else json.dumps(detail))[:500]
