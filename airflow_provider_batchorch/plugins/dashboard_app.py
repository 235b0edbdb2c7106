"""The batch dashboard as a plain FastAPI app: recent jobs with live progress, the seed's overview, downloads.

Routes (relative to where the app is mounted, ``/batchorch-dashboard`` in Airflow):

- ``/``: the HTML page; it polls ``api/jobs`` and moves the progress bars while jobs run; its charts (rows per
  minute over the recent runs, cost per agent estimated and actual, failure reasons) are inline SVG drawn on the
  server (``dashboard_charts``), redrawn when the page reloads as a job finishes;
- ``api/jobs``: the jobs and the overview as JSON;
- ``jobs/{batch_id}/output.csv``: the output CSV, streamed from S3;
- ``jobs/{batch_id}/failures.csv``: only the output rows whose ``_status`` is FAILED (with ``_error_message``);
- ``static/...``: the page's CSS and JS.

The app knows nothing of Airflow: ``source_factory`` gives it the job records (``AwsJobSource``), and whoever
mounts it adds the authentication (``dependencies``).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence
from urllib.parse import quote

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from airflow_provider_batchorch.core.cost_estimate import format_usd
from airflow_provider_batchorch.core.metrics import JobRecord, MetricsOverview, compute_overview
from airflow_provider_batchorch.core.models import ROW_FAILED, STATUS_COLUMN
from airflow_provider_batchorch.core.progress import format_duration
from airflow_provider_batchorch.plugins.dashboard_charts import Bar, Series, bar_chart, line_chart

HERE = Path(__file__).parent
OUTPUT_STATUSES = ("SUCCEEDED", "COMPLETED_WITH_ERRORS")
RECENT_JOBS = 50
THROUGHPUT_RUNS = 4  # the newest runs drawn in the rows-per-minute chart


class JobSource(Protocol):
    console_region: str | None  # link executions to this region's Step Functions console; None: no links

    def recent_jobs(self, limit: int = RECENT_JOBS) -> list[JobRecord]: ...
    def job(self, batch_id: str) -> JobRecord | None: ...
    def open_object(self, uri: str) -> Any: ...


def create_dashboard_app(
    source_factory: Callable[[], JobSource],
    *,
    dependencies: Sequence[Any] = (),
    airflow_base_url: str = "",
) -> FastAPI:
    """:param source_factory: Called once, on the first request, so importing the plugin stays cheap.
    :param dependencies: FastAPI dependencies every route runs first (authentication).
    :param airflow_base_url: Prefix of links to Airflow DAG runs ("" when the page is served by Airflow)."""
    app = FastAPI(title="batchorch dashboard", dependencies=list(dependencies), docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    source = lru_cache(maxsize=1)(source_factory)

    def links() -> _Links:
        return _Links(airflow_base_url.rstrip("/"), getattr(source(), "console_region", None))

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        jobs, overview = _snapshot(source())
        return _templates().get_template("dashboard.html").render(
            jobs=[job_view(job, links()) for job in jobs], overview=overview_view(overview),
            per_agent=[agent_view(m) for m in overview.per_agent.values()], charts=charts_view(jobs, overview),
        )

    @app.get("/api/jobs")
    def jobs_json() -> dict[str, Any]:
        jobs, overview = _snapshot(source())
        return {"jobs": [job_view(job, links()) for job in jobs], "overview": overview_view(overview),
                "per_agent": [agent_view(m) for m in overview.per_agent.values()]}

    @app.get("/jobs/{batch_id}/output.csv")
    def output_csv(batch_id: str) -> StreamingResponse:
        job = _finished_job(source(), batch_id)
        body = source().open_object(job.output_csv_uri)
        return _csv_response(_blocks(body), f"{batch_id}-output.csv")

    @app.get("/jobs/{batch_id}/failures.csv")
    def failures_csv(batch_id: str) -> StreamingResponse:
        job = _finished_job(source(), batch_id)
        body = source().open_object(job.output_csv_uri)
        return _csv_response(failed_rows_csv(body), f"{batch_id}-failures.csv")

    return app


def _snapshot(source: JobSource) -> tuple[list[JobRecord], MetricsOverview]:
    jobs = source.recent_jobs(RECENT_JOBS)
    return jobs, compute_overview(jobs)


def _finished_job(source: JobSource, batch_id: str) -> JobRecord:
    job = source.job(batch_id)
    if job is None:
        raise HTTPException(404, f"no batch job {batch_id!r}")
    if job.status not in OUTPUT_STATUSES or not job.output_csv_uri:
        raise HTTPException(409, f"batch {batch_id!r} is {job.status}: it has no output CSV")
    return job


def _csv_response(blocks: Iterator[bytes], filename: str) -> StreamingResponse:
    return StreamingResponse(blocks, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _blocks(body, size: int = 1 << 20) -> Iterator[bytes]:
    try:
        while block := body.read(size):
            yield block
    finally:
        body.close()


def failed_rows_csv(body, rows_per_block: int = 1000) -> Iterator[bytes]:
    """Stream the header and the FAILED rows of an output CSV (a binary stream), cells unchanged."""
    text = io.TextIOWrapper(body, encoding="utf-8", newline="")
    try:
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            return
        status = header.index(STATUS_COLUMN)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        for count, row in enumerate(r for r in reader if len(r) > status and r[status] == ROW_FAILED):
            writer.writerow(row)
            if count % rows_per_block == rows_per_block - 1:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")
    finally:
        text.close()


class _Links:
    def __init__(self, airflow_base_url: str, console_region: str | None) -> None:
        self.airflow_base_url = airflow_base_url
        self.console_region = console_region

    def airflow_run(self, job: JobRecord) -> str | None:
        if not (job.dag_id and job.run_id):
            return None
        return f"{self.airflow_base_url}/dags/{quote(job.dag_id, safe='')}/runs/{quote(job.run_id, safe='')}"

    def console(self, job: JobRecord) -> str | None:
        if not (self.console_region and job.execution_arn):
            return None
        region = self.console_region
        return (f"https://{region}.console.aws.amazon.com/states/home?region={region}"
                f"#/v2/executions/details/{quote(job.execution_arn, safe=':')}")


def job_view(job: JobRecord, links: _Links, now: datetime | None = None) -> dict[str, Any]:
    """What the page shows of one job, formatted; also the JSON the page polls."""
    now = now or datetime.now(timezone.utc)
    has_output = job.status in OUTPUT_STATUSES and bool(job.output_csv_uri)
    batch = quote(job.batch_id, safe="")
    return {
        "batch_id": job.batch_id,
        "agent": job.agent,
        "agent_version": job.agent_version,
        "status": job.status,
        "running": not job.is_finished,
        "started_at": job.started_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "percent": job.percent_done,
        "percent_succeeded": _share(job.rows_succeeded, job.total_rows),
        "percent_failed": _share(job.rows_failed, job.total_rows),
        "rows_processed": job.rows_processed,
        "rows_succeeded": job.rows_succeeded,
        "rows_failed": job.rows_failed,
        "total_rows": job.total_rows,
        "success_rate": _rate(job.success_rate()),
        "rows_per_hour": _number(job.rows_per_hour(now)),
        "seconds_per_row": _seconds(job.seconds_per_row(now)),
        "elapsed": format_duration(job.elapsed_seconds(now)),
        "csv_uri": job.csv_uri,
        "csv_size": human_bytes(job.csv_size_bytes),
        "output_csv_uri": job.output_csv_uri,
        "output_url": f"jobs/{batch}/output.csv" if has_output else None,
        "failures_url": f"jobs/{batch}/failures.csv" if has_output and job.rows_failed else None,
        "failure_reasons": [{"reason": reason, "rows": rows} for reason, rows in job.failure_reasons.items()],
        "error": job.error,
        "execution_mode": job.execution_mode,
        "estimated_cost": format_usd(job.estimated_cost_usd),
        "actual_cost": format_usd(job.actual_cost_usd) if job.is_finished else "running",
        "tokens_per_row": (f"{job.input_tokens_per_row:g} in / {job.output_tokens_per_row:g} out per row"
                           if job.input_tokens or job.output_tokens else None),
        "airflow_url": links.airflow_run(job),
        "console_url": links.console(job),
    }


def charts_view(jobs: list[JobRecord], overview: MetricsOverview) -> dict[str, Any]:
    """The three charts as inline SVG: rows per minute over the newest runs, cost per agent, failure reasons."""
    runs = [job for job in jobs if job.throughput][:THROUGHPUT_RUNS]
    return {
        "throughput": line_chart(
            [Series(name=job.batch_id, points=[(p.at_seconds, p.rows_per_minute) for p in job.throughput])
             for job in runs],
            title="Rows per minute over the run", chart_id="chart-throughput", x_text=format_duration,
            y_text=lambda value: f"{value:,.0f}", empty="No finished run yet", width=1300, height=240),
        "cost": bar_chart(
            [Bar(label=total.agent, values=[total.estimated_cost_usd, total.actual_cost_usd])
             for total in overview.cost_per_agent],
            title="Cost per agent (USD): estimated before, actual after", chart_id="chart-cost",
            value_text=format_usd, series_names=("estimated", "actual"), empty="No job yet"),
        "failures": bar_chart(
            [Bar(label=reason, values=[rows]) for reason, rows in overview.failure_reasons.items()],
            title="Failure reasons (rows)", chart_id="chart-failures",
            value_text=lambda value: f"{value:,.0f} rows", empty="No failed row"),
    }


def overview_view(overview: MetricsOverview) -> dict[str, Any]:
    return {
        "window_hours": f"{overview.window_hours:g}",
        "jobs": overview.jobs,
        "active_jobs": overview.active_jobs,
        "jobs_started_per_hour": _number(overview.jobs_started_per_hour, digits=2),
        "rows_processed": _number(overview.rows_processed),
        "rows_per_hour": _number(overview.rows_per_hour),
        "success_rate": _rate(overview.success_rate),
        "avg_seconds_per_row": _seconds(overview.avg_seconds_per_row),
        "csv_bytes_total": human_bytes(overview.csv_bytes_total),
        "csv_bytes_avg": human_bytes(overview.csv_bytes_avg),
        "csv_bytes_max": human_bytes(overview.csv_bytes_max),
    }


def agent_view(metrics) -> dict[str, Any]:
    return {
        "agent": metrics.agent,
        "jobs": metrics.jobs,
        "rows_processed": _number(metrics.rows_processed),
        "rows_failed": _number(metrics.rows_failed),
        "success_rate": _rate(metrics.success_rate),
        "rows_per_hour": _number(metrics.rows_per_hour),
        "avg_seconds_per_row": _seconds(metrics.avg_seconds_per_row),
        "csv_bytes_total": human_bytes(metrics.csv_bytes_total),
        "estimated_cost": format_usd(metrics.estimated_cost_usd),
        "actual_cost": format_usd(metrics.actual_cost_usd),
    }


def human_bytes(size: float | None) -> str:
    if size is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _share(part: int, whole: int) -> float:
    return round(min(100.0, 100.0 * part / whole), 2) if whole else 0.0


def _number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
