"""Three CSVs landing at once in a real Airflow: the triggerer's AssetWatcher, the scheduler's asset-triggered
run of batch_enrichment_on_new_csv, and one batch_enrichment_of_csv run per CSV (left paused: the runs stay
queued, so no batch runs and no worker is needed); each run's deadline (3 s after it was queued) is missed, and the
triggerer posts it to the Slack stand-in."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.real_airflow.conftest import DEADLINE_CHANNEL, INCOMING_QUEUE
from tests.real_airflow.test_batch_orchestrator_on_postgres import unpause
from tests.support.s3_notifications import notified_queue

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]


def test_three_csvs_landing_at_once_give_three_queued_runs_in_order(airflow_cluster, real_aws, slack):
    api = airflow_cluster.rest()
    unpause(api, "batch_enrichment_on_new_csv")
    with notified_queue(real_aws, queue_name=INCOMING_QUEUE):
        prefix = f"incoming/{uuid.uuid4().hex[:6]}"
        for name in ("b.csv", "a.csv", "c.csv"):
            real_aws.client("s3").put_object(Bucket=real_aws.bucket, Key=f"{prefix}/{name}",
                                             Body=b"company_name\nAcme\n")
        deadline, runs = time.monotonic() + 240, []
        while len(runs) < 3:
            assert time.monotonic() < deadline, f"{len(runs)} runs of batch_enrichment_of_csv\n{airflow_cluster.tail()}"
            time.sleep(1)
            response = api.get("/api/v2/dags/batch_enrichment_of_csv/dagRuns", params={"order_by": "run_after"})
            runs = response.json().get("dag_runs", []) if response.status_code == 200 else []
    time.sleep(3)  # nothing more comes: one run per CSV
    runs = api.get("/api/v2/dags/batch_enrichment_of_csv/dagRuns", params={"order_by": "run_after"}).json()["dag_runs"]
    s3 = real_aws.client("s3")
    oldest_first = sorted(("a.csv", "b.csv", "c.csv"), key=lambda name: (
        s3.head_object(Bucket=real_aws.bucket, Key=f"{prefix}/{name}")["LastModified"], name))
    assert [run["conf"]["csv_uri"] for run in runs] == [f"s3://{real_aws.bucket}/{prefix}/{name}"
                                                        for name in oldest_first]
    assert all(run["dag_run_id"].startswith("new_csv__") and run["state"] == "queued" for run in runs)
    assert all(run["conf"]["agent"] == "company-enrichment-agent" and run["conf"]["incremental"] for run in runs)

    deadline = time.monotonic() + 120
    while not all(any(run["dag_run_id"] in call.text for call in slack.of("chat.postMessage")) for run in runs):
        assert time.monotonic() < deadline, f"deadline posts: {[c.text for c in slack.of('chat.postMessage')]}\n" \
                                            f"{airflow_cluster.tail()}"
        time.sleep(1)
    posts = [call for call in slack.of("chat.postMessage") if "misses its deadline" in call.text]
    assert {call.body["channel"] for call in posts} == {DEADLINE_CHANNEL}
