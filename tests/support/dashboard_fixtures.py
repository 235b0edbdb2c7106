"""Real job records for the dashboard tests (registered for the whole suite by tests/conftest.py): batches run on the embedded default (moto server + workers).

- ``enriched``: examples/companies.csv through company-enrichment-agent (finishes COMPLETED_WITH_ERRORS:
  the built-in agent honestly fails rows it cannot identify);
- ``tickets``: examples/tickets.csv through ticket-classifier-agent;
- ``priced``: the first 40 tickets through ticket-classifier-agent on an LLM (``gpt-4o-mini``, a real
  OpenAI-compatible stand-in server that reports ``PRICED_USAGE`` tokens per call), so the job has an
  estimated and an actual cost;
- ``running``: a batch started on a processor whose queue no worker polls, with the counters a worker writes
  for one finished and one half-done chunk, so it is RUNNING with partial, live progress.

Each is recorded with ``record_job`` exactly as the operators do: once started, once summarised.
"""

from __future__ import annotations

import types
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.support.asgi_server import serve


ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "batch_orchestrator"
PRICED_USAGE = (800, 150)  # (prompt, completion) tokens the stand-in reports for every call
PRICED_ROWS = 40

def _clients(aws):
    return types.SimpleNamespace(s3=aws.client("s3"), sfn=aws.client("stepfunctions"), dynamodb=aws.client("dynamodb"))


def _run(batch_id: str) -> dict:
    """The ``dag_id`` and ``run_id`` the operators pass to ``record_job``."""
    return {"dag_id": DAG_ID, "run_id": f"manual__{batch_id}"}


@pytest.fixture(scope="session")
def dashboard_aws(tmp_path_factory):
    from airflow_provider_batchorch.local.emulator import EmbeddedAws

    with EmbeddedAws(log_dir=tmp_path_factory.mktemp("embedded-dashboard")) as aws:
        aws.start_workers(2)
        yield aws


def _upload(aws, name: str) -> str:
    key = f"examples/{name}"
    aws.client("s3").upload_file(str(ROOT / "examples" / name), aws.bucket, key)
    return f"s3://{aws.bucket}/{key}"


def _run_priced(aws, batch_id: str):
    """The first PRICED_ROWS tickets through ticket-classifier-agent on a fake gpt-4o-mini that reports its usage."""
    from airflow_provider_batchorch.builtin_agents import builtin_registry
    from airflow_provider_batchorch.core.llm_settings import with_llm
    from tests.support.openai_stub_server import OpenAIStubServer, Reply, example_for

    lines = (ROOT / "examples" / "tickets.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    csv_uri = f"s3://{aws.bucket}/examples/tickets-priced.csv"
    aws.client("s3").put_object(Bucket=aws.bucket, Key="examples/tickets-priced.csv",
                                Body="".join(lines[:PRICED_ROWS + 1]).encode())
    with OpenAIStubServer(lambda request: Reply(output=example_for(request.schema, request.row),
                                                usage=PRICED_USAGE)) as server:
        spec = with_llm(builtin_registry().get("ticket-classifier-agent"), "gpt-4o-mini", base_url=server.base_url)
        return _run_recorded(aws, csv_uri, spec.name, batch_id, spec=spec, chunk_rows=10, concurrency=8)


def _run_recorded(aws, csv_uri: str, agent: str, batch_id: str, *, spec=None, **request):
    """run_pipeline, then the two record_job calls the operators make (start, then summary).

    :param spec: The agent's spec, when not the built-in one (the built-in switched to an LLM)."""
    from airflow_provider_batchorch.aws.job_records import record_job
    from airflow_provider_batchorch.aws.pipeline import run_pipeline
    from airflow_provider_batchorch.core.models import BatchRequest
    from airflow_provider_batchorch.builtin_agents import builtin_registry

    clients = _clients(aws)
    batch_request = BatchRequest(csv_uri=csv_uri, agent=agent, **request)
    config, summary = run_pipeline(clients.s3, clients.sfn, clients.dynamodb, aws.refs, batch_request,
                                   spec or builtin_registry().get(agent), batch_id=batch_id, poll_seconds=0.3)
    started = record_job(clients, config, execution_arn=summary.execution_arn,
                         progress_table=aws.refs.progress_table, **_run(batch_id))
    assert started is not None and started.status == "RUNNING"
    record = record_job(clients, config, execution_arn=summary.execution_arn, summary=summary,
                        **_run(batch_id))
    assert record is not None
    return config, summary, record


def _start_running(aws, batch_id: str):
    """A batch on a processor nobody serves: RUNNING for as long as the test lasts, with real counters."""
    from airflow_provider_batchorch.aws.batch_store import batch_prefix, save_profile, stage_batch
    from airflow_provider_batchorch.aws.csv_source import analyze_s3_csv
    from airflow_provider_batchorch.aws.job_records import record_job
    from airflow_provider_batchorch.aws.processor import ProcessorNames, ensure_processor, start_or_attach_execution
    from airflow_provider_batchorch.aws.progress import record_chunk_done, record_partial
    from airflow_provider_batchorch.core.configure import build_batch_config
    from airflow_provider_batchorch.core.models import BatchRequest
    from airflow_provider_batchorch.builtin_agents import builtin_registry

    clients = _clients(aws)
    names = ProcessorNames(state_machine="batchorch-idle", queue="batchorch-idle-chunks",
                           dead_letter_queue="batchorch-idle-dlq", progress_table="batchorch-idle-progress")
    refs = ensure_processor(clients.sfn, aws.client("sqs"), clients.dynamodb, names)
    request = BatchRequest(csv_uri=_upload(aws, "companies.csv"), agent="company-enrichment-agent", chunk_rows=100)
    prefix = batch_prefix(aws.bucket, batch_id)
    profile = analyze_s3_csv(clients.s3, request.csv_uri, chunk_rows=request.chunk_rows)
    save_profile(clients.s3, profile, prefix)
    config = build_batch_config(request, profile, builtin_registry().get(request.agent), batch_id=batch_id,
                                prefix_uri=prefix)
    arn, _ = start_or_attach_execution(clients.sfn, refs, config, stage_batch(clients.s3, config, profile.chunks),
                                       name=batch_id)
    record = record_job(clients, config, execution_arn=arn, progress_table=refs.progress_table,
                        **_run(batch_id))
    record_chunk_done(clients.dynamodb, refs.progress_table, batch_id, chunk=0, succeeded=97, failed=3)
    record_partial(clients.dynamodb, refs.progress_table, batch_id, chunk=1, succeeded=60, failed=0)
    return config, record


@pytest.fixture(scope="session")
def recorded_jobs(dashboard_aws):
    """{"enriched": (config, summary, record), "tickets": (...), "priced": (...), "running": (config, record)}"""
    stamp = datetime.now(timezone.utc).strftime("%H%M%S")
    jobs = {
        "enriched": _run_recorded(dashboard_aws, _upload(dashboard_aws, "companies.csv"), "company-enrichment-agent",
                                  f"dash-enriched-{stamp}", chunk_rows=50, concurrency=20),
        "tickets": _run_recorded(dashboard_aws, _upload(dashboard_aws, "tickets.csv"), "ticket-classifier-agent",
                                 f"dash-tickets-{stamp}", chunk_rows=25, concurrency=8),
    }
    jobs["priced"] = _run_priced(dashboard_aws, f"dash-priced-{stamp}")
    jobs["running"] = _start_running(dashboard_aws, f"dash-running-{stamp}")
    return jobs


@pytest.fixture(scope="session")
def dashboard_url(dashboard_aws, recorded_jobs):
    """The dashboard app served by uvicorn on a free 127.0.0.1 port, mounted where Airflow mounts it."""
    from fastapi import FastAPI

    from airflow_provider_batchorch.aws.job_records import AwsJobSource
    from airflow_provider_batchorch.plugins.dashboard_app import create_dashboard_app

    def source() -> AwsJobSource:
        aws = dashboard_aws
        return AwsJobSource(s3=aws.client("s3"), sfn=aws.client("stepfunctions"), ddb=aws.client("dynamodb"))

    root = FastAPI()
    root.mount("/batchorch-dashboard", create_dashboard_app(source))
    with serve(root, path="/batchorch-dashboard/") as url:
        yield url
