"""One DAG per managed schedule (``core/managed_schedule.py``), read from the schedules table when the DAG file
is parsed: a schedule created from chat appears at the dag-processor's next parse, a removed one disappears.

Each is a ``build_scheduled_enrichment_dag`` (incremental, ``max_active_runs=1``, the Variable
``<dag_id>_conf`` overrides) on the schedule's cron, with the schedule's policy-checked request as its defaults.
Nothing is read unless ``BATCHORCH_SCHEDULES_TABLE`` names the table (an operator setting): parsing the DAGs
folder makes no AWS call otherwise.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import DAG

from airflow_provider_batchorch.core.managed_schedule import ManagedSchedule
from airflow_provider_batchorch.dag_builders.recurring import build_scheduled_enrichment_dag

log = logging.getLogger(__name__)


def managed_schedule_dag(schedule: ManagedSchedule, **kwargs: Any) -> DAG:
    """The DAG of one schedule; ``kwargs`` go to ``build_scheduled_enrichment_dag`` (``batch_options``, ...)."""
    request = dict(schedule.request)
    owner = "/".join(filter(None, [schedule.owner.team_id, schedule.owner.user_id])) or "an operator"
    return build_scheduled_enrichment_dag(
        schedule.dag_id, schedule=schedule.cron, csv_uri=request.pop("csv_uri"), agent=request.pop("agent"),
        defaults=request, description=f"Managed schedule {schedule.schedule_id} of {owner}: "
                                      f"{schedule.phrase or schedule.cron}",
        tags=["batchorch", "recurring", "managed-schedule"], **kwargs)


def build_managed_schedule_dags(schedules: list[ManagedSchedule] | None = None, *, aws_conn_id: str = "aws_default",
                                table: str | None = None, **kwargs: Any) -> dict[str, DAG]:
    """``{dag_id: DAG}`` for each schedule: ``schedules``, else those in ``table`` (default
    ``BATCHORCH_SCHEDULES_TABLE``; unset: none). An unreadable table logs a warning and gives none."""
    if schedules is None:
        schedules = _stored_schedules(aws_conn_id, table)
    dags = {}
    for schedule in schedules:
        try:
            dags[schedule.dag_id] = managed_schedule_dag(schedule, **kwargs)
        except Exception as exc:  # one bad record must not hide the others
            log.warning("Managed schedule %s makes no DAG: %s", schedule.schedule_id, exc)
    return dags


def _stored_schedules(aws_conn_id: str, table: str | None) -> list[ManagedSchedule]:
    from airflow_provider_batchorch.aws.schedule_records import ScheduleStore, schedules_table_name

    table = table or schedules_table_name()
    if not table:
        return []
    try:
        from airflow_provider_batchorch.hooks.batchorch import BatchorchHook

        return ScheduleStore(BatchorchHook(aws_conn_id=aws_conn_id).dynamodb, table).list()
    except Exception as exc:
        log.warning("Cannot read the managed schedules in %s: %s", table, exc)
        return []
