"""The chat_command DAG in a real Airflow: the Slack plugin on Airflow's API server triggers it through the REST
API, ``dag.test()`` runs it on the embedded AWS with workers, a human answers the approval through the REST API
(as the Required Actions page does), and every reply goes to the Slack stand-in."""

from __future__ import annotations

import json
import threading
import time
import uuid
from urllib.parse import urlencode

import httpx
import pytest

from airflow_provider_batchorch.aws.processor import execution_name
from tests.support.slack_fixtures import SIGNING_SECRET
from tests.support.asgi_server import free_port, serve
from tests.plugins.test_slack import signed

pytestmark = pytest.mark.e2e

SERVICE_USER, SERVICE_PASSWORD = "batchorch-svc", "svc-password"
COMPANIES_CSV = (
    "company_name,website,location\n"
    "Apple Inc.,https://apple.com/,\"Cupertino, CA\"\n"
    "Microsoft Corporation,www.microsoft.com,\"Redmond, WA\"\n"
    "Zqxv Holdings,,\n"
    "Acme Robotics,https://acme-robotics.example,\"Austin, TX\"\n"
)


@pytest.fixture(scope="module")
def airflow_api(airflow_db, tmp_path_factory):
    """Airflow's API server (core REST API, HITL, plugins) on 127.0.0.1 with the Slack plugin loaded as its
    ``airflow.plugins`` entry point would load it, and a service user for the plugin's REST calls."""
    from airflow import plugins_manager
    from airflow.api_fastapi.app import create_app
    from airflow_provider_batchorch.plugins.slack import BatchorchSlackPlugin

    passwords = tmp_path_factory.mktemp("auth") / "passwords.json"
    passwords.write_text(json.dumps({SERVICE_USER: SERVICE_PASSWORD}))
    port = free_port()
    mp = pytest.MonkeyPatch()
    for key, value in {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{SERVICE_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "BATCHORCH_AIRFLOW_API_URL": f"http://127.0.0.1:{port}",
        "BATCHORCH_AIRFLOW_API_USERNAME": SERVICE_USER,
        "BATCHORCH_AIRFLOW_API_PASSWORD": SERVICE_PASSWORD,
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",  # for the Required Actions link
    }.items():
        mp.setenv(key, value)
    mp.setattr(plugins_manager, "_load_entrypoint_plugins", lambda: ([BatchorchSlackPlugin()], {}))
    caches = [plugins_manager._get_plugins, plugins_manager.get_fastapi_plugins, plugins_manager._get_ui_plugins]
    for cached in caches:
        cached.cache_clear()
    try:
        with serve(create_app("core"), port) as url:
            yield url
    finally:
        for cached in caches:
            cached.cache_clear()
        mp.undo()


@pytest.fixture(scope="module")
def chat_dags_in_db(airflow_db):
    """The package's DAGs parsed and serialized as the dag processor would, so the API can trigger them."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        assert bag.import_errors == {}
        sync_bag_to_db(bag, bundle.name, bundle.version)


def rest(api_url: str) -> httpx.Client:
    token = httpx.post(f"{api_url}/auth/token", json={"username": SERVICE_USER, "password": SERVICE_PASSWORD})
    return httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {token.json()['access_token']}"},
                        timeout=10)


@pytest.fixture
def companies_uri(aws_conn) -> str:
    key = f"tests/chat/{uuid.uuid4().hex[:8]}/companies.csv"
    aws_conn.client("s3").put_object(Bucket=aws_conn.bucket, Key=key, Body=COMPANIES_CSV.encode())
    return f"s3://{aws_conn.bucket}/{key}"


@pytest.fixture
def chat_dag(aws_conn, slack_conn):
    from airflow_provider_batchorch.dag_builders.chat import build_chat_command_dag

    return build_chat_command_dag(
        policy={"allowed_buckets": [aws_conn.bucket]},
        thresholds={"max_rows": 3, "max_cost_usd": 5.0},  # the four-row CSV needs approval
        poll_interval=0.5,
        progress_interval=0.5,
    )


def answer_approval(api_url: str, choice: str, answered: list) -> threading.Thread:
    """In the background: wait for the approval request, then answer it through the REST API."""
    def respond() -> None:
        with rest(api_url) as api:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                pending = [d for d in api.get("/api/v2/dags/chat_command/dagRuns/~/hitlDetails").json()["hitl_details"]
                           if not d["response_received"] and d["task_instance"]["task_id"] == "approve_batch"]
                if pending:
                    ti = pending[0]["task_instance"]
                    path = (f"/api/v2/dags/chat_command/dagRuns/{ti['dag_run_id']}/taskInstances/approve_batch/-1/"
                            "hitlDetails")
                    response = api.patch(path, json={"chosen_options": [choice], "params_input": {}})
                    answered.append((ti["dag_run_id"], pending[0], response.status_code))
                    return
                time.sleep(0.5)

    thread = threading.Thread(target=respond, daemon=True)
    thread.start()
    return thread


def states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def request_conf(text: str, slack) -> dict:
    return {"text": text, "user_id": "U1", "user_name": "ada", "team_id": "T1", "channel_id": "C1",
            "response_url": slack.response_url("run")}


def test_a_signed_slash_command_triggers_a_chat_command_run_once(airflow_api, chat_dags_in_db, slack_conn):
    text = f"enrich s3://batchorch-local/companies-{uuid.uuid4().hex[:8]}.csv"
    body = urlencode({"team_id": "T1", "channel_id": "C1", "user_id": "U1", "user_name": "ada", "command": "/enrich",
                      "text": text, "response_url": slack_conn.response_url()})
    headers = signed(body.encode())
    ack = httpx.post(f"{airflow_api}/batchorch/slack/commands", content=body, headers=headers)
    assert ack.status_code == 200
    run_id = ack.json()["text"].split("`")[1]
    assert httpx.post(f"{airflow_api}/batchorch/slack/commands", content=body).status_code == 401

    with rest(airflow_api) as api:
        deadline = time.monotonic() + 15
        while (found := api.get(f"/api/v2/dags/chat_command/dagRuns/{run_id}")).status_code == 404:
            assert time.monotonic() < deadline, "the run was not triggered"
            time.sleep(0.1)
        assert found.json()["conf"] == {"text": text, "user_id": "U1", "user_name": "ada", "team_id": "T1",
                                        "channel_id": "C1", "response_url": slack_conn.response_url()}

        # The same signed request again: Airflow refuses a second run with the same id (409), nobody is told.
        replay = httpx.post(f"{airflow_api}/batchorch/slack/commands", content=body, headers=headers)
        assert replay.status_code == 200 and replay.json()["text"].split("`")[1] == run_id
        time.sleep(2)
        runs = api.get("/api/v2/dags/chat_command/dagRuns", params={"limit": 100}).json()["dag_runs"]
    assert [r["dag_run_id"] for r in runs if (r.get("conf") or {}).get("text") == text] == [run_id]
    assert slack_conn.of("response_url") == []


def test_a_large_batch_waits_for_approval_then_runs_and_reports_in_the_thread(
    airflow_api, chat_dags_in_db, chat_dag, companies_uri, aws_conn, slack_conn
):
    answered: list = []
    responder = answer_approval(airflow_api, "Approve", answered)
    run = chat_dag.test(run_conf=request_conf(
        f"enrich {companies_uri} with industry and employee count, 4 parallel workers", slack_conn))
    responder.join(timeout=5)

    assert str(run.state) == "success", states(run)
    assert {k: v for k, v in states(run).items() if v != "success"} == {}
    (run_id, detail, status_code), = answered
    assert run_id == run.run_id and status_code == 200
    assert "4 rows is more than 3" in detail["body"] and detail["subject"].startswith("Run company-enrichment-agent")

    posts = slack_conn.of("chat.postMessage")
    thread_ts = posts[0].body.get("thread_ts") or None
    assert thread_ts is None and "I'll run *company-enrichment-agent*" in posts[0].text  # the plan starts it
    assert all(p.body["thread_ts"] for p in posts[1:])
    texts = "\n".join(slack_conn.texts())
    for expected in ("I found a CSV with 4 rows and columns: company_name, website, location",
                     "needs approval before it starts: 4 rows is more than 3",
                     f"<{airflow_api}/dags/chat_command/runs/{run.run_id}/tasks/approve_batch/required_actions",
                     f"Approved by {SERVICE_USER}: starting the batch.",
                     "Progress: 4/4 rows processed (100%)",
                     "Batch processing completed with errors", "Successfully processed: 3 rows (75%)",
                     "Output file: <http", f"`failures {run.run_id}`"):
        assert expected in texts

    # "Why did rows fail?" answered by the plugin from the run's stored summary.
    slack_conn.clear()
    body = urlencode({"team_id": "T1", "channel_id": "C1", "user_id": "U1", "text": f"status {run.run_id}",
                      "response_url": slack_conn.response_url("follow-up")}).encode()
    assert httpx.post(f"{airflow_api}/batchorch/slack/commands", content=body, headers=signed(body)).status_code == 200
    deadline = time.monotonic() + 15
    while not slack_conn.of("response_url"):
        assert time.monotonic() < deadline, "no answer to the follow-up"
        time.sleep(0.1)
    (answer,) = slack_conn.of("response_url")
    assert "Successfully processed: 3 rows (75%)" in answer.text and "Failed: 1 row (25%)" in answer.text


def test_a_rejected_batch_does_not_run(airflow_api, chat_dags_in_db, chat_dag, companies_uri, aws_conn, slack_conn):
    answered: list = []
    responder = answer_approval(airflow_api, "Reject", answered)
    run = chat_dag.test(run_conf=request_conf(f"enrich {companies_uri}", slack_conn))
    responder.join(timeout=5)

    task_states = states(run)
    assert task_states["approve_batch"] == "success"
    assert {task_states[t] for t in ("configure_batch", "execute_batch", "monitor_batch", "report_progress",
                                     "get_results", "merge_retry", "post_results")} == {"skipped"}
    sfn = aws_conn.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=aws_conn.refs.state_machine_arn)["executions"]
    assert execution_name("chat_command", run.run_id) not in {e["name"] for e in executions}
    assert f"Rejected by {SERVICE_USER}: the batch was not run." in slack_conn.texts()


def test_an_unclear_request_asks_and_ends_the_run_without_running_anything(chat_dag, aws_conn, slack_conn):
    run = chat_dag.test(run_conf=request_conf("enrich the companies please", slack_conn))

    assert str(run.state) == "success"
    task_states = states(run)
    assert task_states.pop("agent_request") == "success" and set(task_states.values()) == {"skipped"}
    (question,) = slack_conn.of("response_url")
    assert question.body["response_type"] == "ephemeral"
    assert question.text.startswith("I'll use company-enrichment-agent. Which CSV should I process?")
    assert slack_conn.of("chat.postMessage") == []
