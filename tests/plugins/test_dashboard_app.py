"""The dashboard app over real job records, served by uvicorn: page, JSON, output and failure downloads."""

from __future__ import annotations

import csv
import io

import requests

from airflow_provider_batchorch.aws.batch_store import get_bytes


def test_page_lists_every_recorded_job_with_its_numbers(dashboard_url, recorded_jobs):
    html = requests.get(dashboard_url, timeout=10).text
    _, enriched_summary, enriched = recorded_jobs["enriched"]
    _, running = recorded_jobs["running"]
    for job in (enriched, recorded_jobs["tickets"][2], running):
        assert job.batch_id in html
    assert "COMPLETED_WITH_ERRORS" in html or "SUCCEEDED" in html
    assert f"{enriched_summary.success_rate:.1f}%" in html
    assert f"{enriched.rows_processed} / {enriched.total_rows} rows" in html
    assert f'href="/dags/batch_orchestrator/runs/manual__{enriched.batch_id}"' in html
    assert "Rows / hour" in html and "Avg time / row" in html and "Success rate" in html


def test_running_job_shows_the_processors_live_counters(dashboard_url, recorded_jobs):
    _, running = recorded_jobs["running"]
    jobs = {job["batch_id"]: job for job in requests.get(dashboard_url + "api/jobs", timeout=10).json()["jobs"]}
    live = jobs[running.batch_id]
    # chunk 0 done (97 + 3 failed) and chunk 1 half done (60): what the record alone does not know
    assert running.rows_processed == 0
    assert (live["status"], live["running"], live["rows_processed"], live["rows_failed"]) == ("RUNNING", True, 160, 3)
    assert live["percent"] == 32.0
    assert live["output_url"] is None and live["failures_url"] is None


def test_overview_counts_the_recorded_jobs(dashboard_url, recorded_jobs):
    data = requests.get(dashboard_url + "api/jobs", timeout=10).json()
    overview = data["overview"]
    assert overview["jobs"] == len(recorded_jobs) and overview["active_jobs"] == 1
    agents = {row["agent"]: row for row in data["per_agent"]}
    assert set(agents) == {"company-enrichment-agent", "ticket-classifier-agent"}
    assert agents["company-enrichment-agent"]["jobs"] == 2


def test_output_link_streams_the_output_csv(dashboard_url, dashboard_aws, recorded_jobs):
    _, summary, record = recorded_jobs["enriched"]
    response = requests.get(dashboard_url + f"jobs/{record.batch_id}/output.csv", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content == get_bytes(dashboard_aws.client("s3"), summary.output_csv_uri)


def test_failures_link_gives_only_the_failed_rows_with_their_reasons(dashboard_url, recorded_jobs):
    _, summary, record = recorded_jobs["enriched"]
    assert summary.rows_failed > 0, "the example CSV has rows the built-in agent cannot identify"
    response = requests.get(dashboard_url + f"jobs/{record.batch_id}/failures.csv", timeout=10)
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == summary.rows_failed
    assert all(row["_status"] == "FAILED" and row["_error_message"] for row in rows)
    # the summary groups the messages by reason ("Website no longer active: x.com has shut down")
    assert all(row["_error_message"].startswith(tuple(summary.failure_reasons)) for row in rows)


def test_downloads_of_unknown_or_unfinished_jobs_are_refused(dashboard_url, recorded_jobs):
    _, running = recorded_jobs["running"]
    assert requests.get(dashboard_url + "jobs/no-such-batch/output.csv", timeout=10).status_code == 404
    assert requests.get(dashboard_url + f"jobs/{running.batch_id}/output.csv", timeout=10).status_code == 409


def test_static_files_are_served(dashboard_url):
    for name in ("dashboard.css", "dashboard.js", "icon.svg"):
        assert requests.get(dashboard_url + f"static/{name}", timeout=10).status_code == 200
