"""Recurring enrichment: re-enrich a CSV on a cron schedule, or whenever a new CSV lands in S3.

* ``batch_scheduled_enrichment`` (``build_scheduled_enrichment_dag``): a cron schedule; every param has a
  default, so scheduled runs need no conf.
* ``batch_enrichment_on_new_csv`` (``build_new_csv_enrichment_dag``): scheduled on an Airflow ``Asset`` that an
  ``AssetWatcher`` updates when S3 reports a new CSV through SQS (bucket notification -> SQS queue ->
  ``NewCsvTrigger`` in the triggerer); the run enriches the CSV the event names.

Both are incremental by default: rows enriched before (same agent, version, prompt and input) reuse their
stored output, so a re-run pays only for new or changed rows. What a run enriches, lowest to highest
precedence: the factory's defaults (the params), the JSON object in the Airflow Variable ``<dag_id>_conf``
(change the CSV, agent or limits without redeploying), a manual trigger's conf, and (asset DAG) the CSV of
the triggering S3 event. The whole request is validated as a ``BatchRequest`` by ``analyze_csv``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, Param, chain

from airflow_provider_batchorch.core.s3_events import csv_uris_from_asset_event_extras
from airflow_provider_batchorch.dag_builders.batch_options import BatchTaskOptions, batchorch_dag
from airflow_provider_batchorch.dag_builders.orchestrator import add_batch_pipeline_tasks
from airflow_provider_batchorch.dag_builders.params import batch_params, setting_param
from airflow_provider_batchorch.core.run_settings import run_settings

log = logging.getLogger(__name__)
DEFAULT_START = datetime(2025, 1, 1, tzinfo=timezone.utc)
DEFAULT_CSV_URI = "s3://batchorch-local/examples/companies.csv"
DEFAULT_AGENT = "company-enrichment-agent"
WATCHED_PREFIX = "s3://batchorch-local/incoming/"
QUEUE_URL_VARIABLE = "BATCHORCH_INCOMING_QUEUE_URL"  # environment variable, read when the DAG file is parsed
DEFAULT_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/batchorch-incoming-csv"


def conf_variable(dag_id: str) -> str:
    """The Airflow Variable whose JSON object overrides a recurring DAG's defaults."""
    return f"{dag_id}_conf"


def enrichment_request(params: Mapping[str, Any], conf: Mapping[str, Any] | None,
                       overrides: Mapping[str, Any] | None, triggering_asset_events: Any = None) -> dict[str, Any]:
    """The run's request: params (defaults), then the Variable's overrides, then the trigger conf, then the CSV a
    triggering S3 event names (unless the conf names one). A DAG macro: templates call it at run time."""
    request = {**dict(params), **(overrides or {}), **(conf or {})}
    new_csvs = _event_csv_uris(triggering_asset_events)
    if new_csvs and "csv_uri" not in (conf or {}):
        request["csv_uri"] = new_csvs[-1]
        if set(new_csvs[:-1]) - {new_csvs[-1]}:
            log.warning("%d CSVs landed before this run; enriching the newest, %s. Not enriched: %s",
                        len(set(new_csvs)), new_csvs[-1], ", ".join(sorted(set(new_csvs) - {new_csvs[-1]})))
    return request


def _event_csv_uris(triggering_asset_events: Any) -> list[str]:
    if not triggering_asset_events:
        return []
    events = sorted((event for events in triggering_asset_events.values() for event in events),
                    key=lambda event: event.timestamp)
    return csv_uris_from_asset_event_extras(event.extra for event in events)


def recurring_params(csv_uri: str, agent: str, **defaults: Any) -> dict[str, Param]:
    """``batch_orchestrator``'s trigger form with a default for every key; incremental on."""
    params = batch_params()
    values = {"csv_uri": csv_uri, "agent": agent, "incremental": True, **defaults}
    settings = {setting.name: setting for setting in run_settings()}
    for key, value in values.items():
        params[key] = setting_param(settings[key], value)
    return params


def _request_template(dag_id: str, with_events: bool) -> str:
    events = ", triggering_asset_events" if with_events else ""
    return (f"{{{{ enrichment_request(params, dag_run.conf, var.json.get({conf_variable(dag_id)!r}, {{}}){events}) }}}}")


def _recurring_dag(dag_id: str, schedule: Any, params: dict[str, Param], description: str, doc_md: str,
                   with_events: bool, batch_options: BatchTaskOptions | dict[str, Any],
                   dag_kwargs: dict[str, Any]) -> DAG:
    dag_kwargs.setdefault("start_date", DEFAULT_START)
    dag_kwargs.setdefault("catchup", False)
    dag_kwargs.setdefault("max_active_runs", 1)  # two runs over one CSV would pay twice for the same rows
    with batchorch_dag(
        dag_id,
        schedule=schedule,
        description=description,
        doc_md=doc_md,
        params=params,
        tags=("batchorch", "recurring"),
        user_defined_macros={"enrichment_request": enrichment_request},
        **dag_kwargs,
    ) as dag:
        chain(*add_batch_pipeline_tasks(request=_request_template(dag_id, with_events), options=batch_options))
    return dag


def build_scheduled_enrichment_dag(
    dag_id: str = "batch_scheduled_enrichment",
    *,
    schedule: str = "0 6 * * *",
    csv_uri: str = DEFAULT_CSV_URI,
    agent: str = DEFAULT_AGENT,
    defaults: dict[str, Any] | None = None,
    batch_options: BatchTaskOptions | dict[str, Any] | None = None,
    **dag_kwargs: Any,
) -> DAG:
    """Re-enrich ``csv_uri`` with ``agent`` on a cron ``schedule`` (default daily at 06:00 UTC).

    :param defaults: Defaults for other ``BatchRequest`` keys (``{"concurrency": 20, "output_uri": ...}``).
    :param batch_options: ``BatchTaskOptions`` (``aws_conn_id``, ``poll_interval``, ...).
    :param dag_kwargs: Passed to ``DAG`` (``start_date``, ``catchup``, ``tags``...).
    """
    doc = (f"Re-enriches `{csv_uri}` with `{agent}` on the schedule `{schedule}`, incrementally: only new or "
           f"changed rows call the agent. Override any key (csv_uri, agent, ...) with the JSON object in the "
           f"Airflow Variable `{conf_variable(dag_id)}`, or a manual trigger's conf. Docs: "
           "docs/recurring_and_pipelines.md.")
    return _recurring_dag(dag_id, schedule, recurring_params(csv_uri, agent, **(defaults or {})),
                          "Re-enrich a CSV on a schedule, paying only for new or changed rows.", doc, False,
                          batch_options or {}, dag_kwargs)


def new_csv_asset(queue_url: str | None = None, *, watched_uri: str = WATCHED_PREFIX, aws_conn_id: str | None = "aws_default",
                  name: str = "batchorch_incoming_csv") -> Asset:
    """An Asset updated whenever S3 reports a new CSV under ``watched_uri`` through the SQS queue ``queue_url``
    (the bucket's event notification sends ``s3:ObjectCreated:*`` there); ``NewCsvTrigger`` watches the queue.
    ``queue_url`` defaults to the environment variable ``BATCHORCH_INCOMING_QUEUE_URL``."""
    from airflow_provider_batchorch.triggers.new_csv import NewCsvTrigger

    queue_url = queue_url or os.environ.get(QUEUE_URL_VARIABLE, DEFAULT_QUEUE_URL)
    trigger = NewCsvTrigger(queue_url=queue_url, aws_conn_id=aws_conn_id)
    return Asset(name=name, uri=watched_uri, watchers=[AssetWatcher(name=f"{name}_s3_events", trigger=trigger)])


def build_new_csv_enrichment_dag(
    dag_id: str = "batch_enrichment_on_new_csv",
    *,
    asset: Asset | None = None,
    csv_uri: str = WATCHED_PREFIX + "companies.csv",
    agent: str = DEFAULT_AGENT,
    defaults: dict[str, Any] | None = None,
    batch_options: BatchTaskOptions | dict[str, Any] | None = None,
    **dag_kwargs: Any,
) -> DAG:
    """Enrich each new CSV the ``asset`` reports (default ``new_csv_asset()``); ``csv_uri`` is for manual runs.

    When several CSVs land before a run starts, Airflow folds their events into one run: it enriches the newest
    and logs a warning naming the others.
    """
    asset = asset or new_csv_asset()
    doc = (f"Runs when a new CSV lands in `{asset.uri}` (S3 event -> SQS -> AssetWatcher), enriching it with "
           f"`{agent}`, incrementally. A manual run enriches `csv_uri` (default `{csv_uri}`). Override keys with "
           f"the Airflow Variable `{conf_variable(dag_id)}`. Docs: docs/recurring_and_pipelines.md.")
    return _recurring_dag(dag_id, [asset], recurring_params(csv_uri, agent, **(defaults or {})),
                          "Enrich each new CSV that lands in S3.", doc, True, batch_options or {}, dag_kwargs)
