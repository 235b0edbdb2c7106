"""The batch dashboard as an Airflow 3 UI plugin: a FastAPI app mounted by the API server and a nav entry.

Register it with the ``airflow.plugins`` entry point (``batchorch_dashboard =
"airflow_provider_batchorch.plugins.dashboard:BatchorchDashboardPlugin"``). The page is served at
``/batchorch-dashboard/`` and shown inside the Airflow UI under "Batch jobs" (``/plugin/batch-jobs``).

Airflow does not authenticate a plugin's app, so every route here requires an Airflow user allowed to read
the ``batch_orchestrator`` DAG's runs (the UI's JWT cookie, or an ``Authorization: Bearer`` token).
Configuration (environment): ``BATCHORCH_DASHBOARD_AWS_CONN_ID`` (default ``aws_default``) and
``BATCHORCH_JOBS_TABLE`` (default ``batchorch-jobs``). Executions link to the Step Functions console unless
the connection points at an emulator (``endpoint_url`` in its extra).
"""

from __future__ import annotations

import os

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from airflow.plugins_manager import AirflowPlugin
from airflow_provider_batchorch.aws.job_records import AwsJobSource
from airflow_provider_batchorch.links.batch_execution import DASHBOARD_URL_PREFIX
from airflow_provider_batchorch.plugins.dashboard_app import create_dashboard_app

URL_PREFIX = DASHBOARD_URL_PREFIX  # the extra link on an emulator points here (links/batch_execution.py)
DAG_ID = "batch_orchestrator"
_bearer = HTTPBearer(auto_error=False)


async def require_dag_run_read(request: Request) -> None:
    """The Airflow user must be allowed to read the batch DAG's runs (401/403 otherwise)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import get_user, requires_access_dag

    user = await get_user(request, None, await _bearer(request))
    requires_access_dag("GET", DagAccessEntity.RUN, param_dag_id=DAG_ID)(request, user)


def airflow_job_source() -> AwsJobSource:
    from airflow_provider_batchorch.hooks.batchorch import BatchorchHook

    hook = BatchorchHook(aws_conn_id=os.environ.get("BATCHORCH_DASHBOARD_AWS_CONN_ID", "aws_default"))
    console_region = None if hook.conn_config.endpoint_url else hook.conn_region_name
    return AwsJobSource(s3=hook.s3, sfn=hook.sfn, ddb=hook.dynamodb, console_region=console_region)


dashboard_app = create_dashboard_app(airflow_job_source, dependencies=[Depends(require_dag_run_read)])


class BatchorchDashboardPlugin(AirflowPlugin):
    name = "batchorch_dashboard"
    fastapi_apps = [{"app": dashboard_app, "url_prefix": URL_PREFIX, "name": "Batch jobs dashboard"}]
    external_views = [
        {
            "name": "Batch jobs",
            "href": f"{URL_PREFIX}/",
            "url_route": "batch-jobs",
            "destination": "nav",
            "nav_top_level": True,
            "icon": f"{URL_PREFIX}/static/icon.svg",
        }
    ]
