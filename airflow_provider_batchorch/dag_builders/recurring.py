"""Recurring enrichment: re-enrich a CSV on a cron schedule, or whenever a new CSV lands in S3.

* ``batch_scheduled_enrichment`` (``build_scheduled_enrichment_dag``): a cron schedule; every param has a
  default, so scheduled runs need no conf.
* ``batch_enrichment_on_new_csv`` (``build_new_csv_enrichment_dag``): scheduled on an Airflow ``Asset`` that an
  ``AssetWatcher`` updates when S3 reports new CSVs through SQS (bucket notification -> SQS queue ->
  ``NewCsvTrigger`` in the triggerer); the run triggers one run of ``batch_enrichment_of_csv``
  (``build_csv_enrichment_dag``: the batch pipeline with its own ``max_active_runs``) per CSV, oldest first, each
  with a run id derived from the object, so a CSV detected twice is enriched once.

``csv_uri`` and ``output_uri`` may be templated on the run's data interval (``s3://b/{{ ds }}/companies.csv``,
``core/interval_uri.py``): each scheduled or backfilled run resolves its own.

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

from airflow_provider_batchorch.core.interval_uri import RunInterval, render_request_uris
from airflow_provider_batchorch.dag_builders.batch_options import BatchTaskOptions, batchorch_dag
from airflow_provider_batchorch.dag_builders.orchestrator import add_batch_pipeline_tasks, build_batch_orchestrator_dag
from airflow_provider_batchorch.dag_builders.params import batch_params, setting_param
from airflow_provider_batchorch.core.run_settings import run_settings

log = logging.getLogger(__name__)
DEFAULT_START = datetime(2025, 1, 1, tzinfo=timezone.utc)
DEFAULT_CSV_URI = "s3://batchorch-local/examples/companies.csv"
DEFAULT_AGENT = "company-enrichment-agent"
WATCHED_PREFIX = "s3://batchorch-local/incoming/"
QUEUE_URL_VARIABLE = "BATCHORCH_INCOMING_QUEUE_URL"  # environment variable, read when the DAG file is parsed
DEFAULT_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/batchorch-incoming-csv"
CSV_ENRICHMENT_DAG_ID = "batch_enrichment_of_csv"


def conf_variable(dag_id: str) -> str:
    """The Airflow Variable whose JSON object overrides a recurring DAG's defaults."""
    return f"{dag_id}_conf"


def enrichment_request(params: Mapping[str, Any], conf: Mapping[str, Any] | None,
                       overrides: Mapping[str, Any] | None, dag_run: Any = None) -> dict[str, Any]:
    """The run's request: params (defaults), then the Variable's overrides, then the trigger conf; a templated
    ``csv_uri`` / ``output_uri`` resolved for ``dag_run``'s data interval (a run without one, manual or
    asset-triggered: the day it was due). A DAG macro: templates call it at run time."""
    request = {**dict(params), **(overrides or {}), **(conf or {})}
    interval = RunInterval(start=getattr(dag_run, "data_interval_start", None),
                           end=getattr(dag_run, "data_interval_end", None),
                           run_after=getattr(dag_run, "run_after", None))
    return render_request_uris(request, interval)


def recurring_params(csv_uri: str, agent: str, **defaults: Any) -> dict[str, Param]:
    """``batch_orchestrator``'s trigger form with a default for every key; incremental on."""
    params = batch_params()
    values = {"csv_uri": csv_uri, "agent": agent, "incremental": True, **defaults}
    settings = {setting.name: setting for setting in run_settings()}
    for key, value in values.items():
        params[key] = setting_param(settings[key], value)
    return params


def _request_template(dag_id: str) -> str:
    return (f"{{{{ enrichment_request(params, dag_run.conf, var.json.get({conf_variable(dag_id)!r}, {{}}), "
            "dag_run) }}")


def _recurring_dag(dag_id: str, schedule: Any, params: dict[str, Param], description: str, doc_md: str,
                   batch_options: BatchTaskOptions | dict[str, Any] | None, dag_kwargs: dict[str, Any],
                   add_tasks: Any = None) -> DAG:
    dag_kwargs.setdefault("start_date", DEFAULT_START)
    dag_kwargs.setdefault("catchup", False)
    dag_kwargs.setdefault("max_active_runs", 1)  # two runs over one CSV would pay twice for the same rows
    with batchorch_dag(
        dag_id,
        schedule=schedule,
        description=dag_kwargs.pop("description", description),
        doc_md=doc_md,
        params=params,
        tags=dag_kwargs.pop("tags", ("batchorch", "recurring")),
        user_defined_macros={"enrichment_request": enrichment_request},
        **dag_kwargs,
    ) as dag:
        if add_tasks is None:
            chain(*add_batch_pipeline_tasks(request=_request_template(dag_id), options=batch_options or {}))
        else:
            add_tasks(_request_template(dag_id))
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
    """Re-enrich ``csv_uri`` with ``agent`` on a cron ``schedule`` (default daily at 06:00 UTC). ``csv_uri`` may be
    templated on the data interval (``s3://b/{{ ds }}/companies.csv``): with ``catchup=True`` or
    ``airflow backfill create``, each interval enriches its own CSV.

    :param defaults: Defaults for other ``BatchRequest`` keys (``{"concurrency": 20, "output_uri": ...}``).
    :param batch_options: ``BatchTaskOptions`` (``aws_conn_id``, ``poll_interval``, ...).
    :param dag_kwargs: Passed to ``DAG`` (``start_date``, ``catchup``, ``tags``...).
    """
    doc = (f"Re-enriches `{csv_uri}` with `{agent}` on the schedule `{schedule}`, incrementally: only new or "
           f"changed rows call the agent. Override any key (csv_uri, agent, ...) with the JSON object in the "
           f"Airflow Variable `{conf_variable(dag_id)}`, or a manual trigger's conf. Docs: "
           "docs/recurring_and_pipelines.md.")
    return _recurring_dag(dag_id, schedule, recurring_params(csv_uri, agent, **(defaults or {})),
                          "Re-enrich a CSV on a schedule, paying only for new or changed rows.", doc,
                          batch_options, dag_kwargs)


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
    target_dag_id: str = CSV_ENRICHMENT_DAG_ID,
    **dag_kwargs: Any,
) -> DAG:
    """For each new CSV the ``asset`` reports (default ``new_csv_asset()``), trigger one run of ``target_dag_id``
    (``build_csv_enrichment_dag``), oldest CSV first; ``csv_uri`` is for manual runs.

    Tasks: ``plan_csv_runs`` (the request, one conf per CSV of the triggering asset events) -> ``trigger_csv_runs``
    (mapped ``TriggerDagRunOperator``, one per CSV; a run id that exists already is skipped, not failed).
    """
    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

    from airflow_provider_batchorch.operators.plan_csv_runs import PlanCsvRunsOperator

    asset = asset or new_csv_asset()
    doc = (f"Runs when new CSVs land in `{asset.uri}` (S3 event -> SQS -> AssetWatcher) and starts one "
           f"`{target_dag_id}` run per CSV (oldest first, run id from the object: a CSV detected twice runs once), "
           f"enriching it with `{agent}`, incrementally. A manual run enriches `csv_uri` (default `{csv_uri}`). "
           f"Override keys with the Airflow Variable `{conf_variable(dag_id)}`. Docs: docs/recurring_and_pipelines.md.")

    def add_tasks(request: str) -> None:
        plan = PlanCsvRunsOperator(task_id="plan_csv_runs", request=request)
        TriggerDagRunOperator.partial(task_id="trigger_csv_runs", trigger_dag_id=target_dag_id,
                                      skip_when_already_exists=True).expand_kwargs(plan.output)

    dag_kwargs.setdefault("max_active_runs", 1)
    return _recurring_dag(dag_id, [asset], recurring_params(csv_uri, agent, **(defaults or {})),
                          "Start one enrichment run per new CSV that lands in S3.", doc, None, dag_kwargs, add_tasks)


def build_csv_enrichment_dag(dag_id: str = CSV_ENRICHMENT_DAG_ID, *, max_active_runs: int = 2,
                             **kwargs: Any) -> DAG:
    """The batch pipeline that ``build_new_csv_enrichment_dag`` triggers once per CSV (conf: the full request).

    :param max_active_runs: CSVs enriched at once; the others wait queued, oldest first.
    :param kwargs: As ``build_batch_orchestrator_dag`` (``options``, ``deadline``, ``tags``...).
    """
    kwargs.setdefault("tags", ["batchorch", "recurring"])
    return build_batch_orchestrator_dag(dag_id, max_active_runs=max_active_runs, **kwargs)
