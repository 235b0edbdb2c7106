"""The dashboard plugin inside Airflow's own API server app: loaded as an entry-point plugin, mounted, listed in
the UI's nav, and closed to anyone Airflow has not authenticated."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def airflow_api(dashboard_aws, recorded_jobs):
    """Airflow's API app (core), with our plugin loaded as the ``airflow.plugins`` entry point would load it,
    and ``aws_default`` pointing at the embedded run's moto server."""
    from fastapi.testclient import TestClient

    from airflow import plugins_manager
    from airflow.api_fastapi.app import create_app
    from airflow.utils.db import initdb
    from airflow_provider_batchorch.plugins.dashboard import BatchorchDashboardPlugin

    mp = pytest.MonkeyPatch()
    for key, value in dashboard_aws.environment().items():
        mp.setenv(key, value)
    initdb()
    mp.setattr(plugins_manager, "_load_entrypoint_plugins", lambda: ([BatchorchDashboardPlugin()], {}))
    caches = [plugins_manager._get_plugins, plugins_manager.get_fastapi_plugins, plugins_manager._get_ui_plugins]
    for cached in caches:
        cached.cache_clear()
    try:
        with TestClient(create_app("core")) as client:
            yield client
    finally:
        for cached in caches:
            cached.cache_clear()
        mp.undo()


def token(role: str | None) -> str:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=f"user-{role}", role=role))


def test_plugin_is_valid_and_its_views_fit_airflows_models():
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse, FastAPIAppResponse
    from airflow.plugins_manager import is_valid_plugin
    from airflow_provider_batchorch.plugins.dashboard import BatchorchDashboardPlugin

    assert is_valid_plugin(BatchorchDashboardPlugin)
    view = ExternalViewResponse.model_validate(BatchorchDashboardPlugin.external_views[0])
    assert (view.destination, view.href, view.url_route) == ("nav", "/batchorch-dashboard/", "batch-jobs")
    app = BatchorchDashboardPlugin.fastapi_apps[0]
    FastAPIAppResponse.model_validate({**app, "app": "dashboard_app"})


def test_dashboard_needs_an_airflow_user(airflow_api):
    assert airflow_api.get("/batchorch-dashboard/").status_code == 401
    assert airflow_api.get("/batchorch-dashboard/api/jobs").status_code == 401
    no_role = {"Authorization": f"Bearer {token(None)}"}
    assert airflow_api.get("/batchorch-dashboard/api/jobs", headers=no_role).status_code == 403


def test_a_viewer_sees_the_recorded_jobs_through_airflows_connection(airflow_api, recorded_jobs):
    _, _, enriched = recorded_jobs["enriched"]
    viewer = {"Authorization": f"Bearer {token('viewer')}"}
    page = airflow_api.get("/batchorch-dashboard/", headers=viewer)
    assert page.status_code == 200 and enriched.batch_id in page.text
    # the UI's cookie works as well: that is how the page loads inside the Airflow UI's iframe
    airflow_api.cookies.set("_token", token("viewer"))
    try:
        jobs = airflow_api.get("/batchorch-dashboard/api/jobs").json()["jobs"]
    finally:
        airflow_api.cookies.clear()
    assert {job["batch_id"] for job in jobs} >= {enriched.batch_id}
    assert all(job["console_url"] is None for job in jobs)  # an emulator: no AWS console links


def test_the_ui_lists_the_nav_entry(airflow_api):
    response = airflow_api.get("/api/v2/plugins", headers={"Authorization": f"Bearer {token('admin')}"})
    plugins = {plugin["name"]: plugin for plugin in response.json()["plugins"]}
    views = plugins["batchorch_dashboard"]["external_views"]
    assert views[0]["name"] == "Batch jobs" and views[0]["nav_top_level"] is True
