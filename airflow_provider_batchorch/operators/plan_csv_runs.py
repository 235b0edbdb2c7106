"""``plan_csv_runs``: one run conf per CSV the run's triggering asset events name (``core/new_csv_runs.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_batchorch.core.new_csv_runs import LandedCsv, landed_csvs_from_asset_events, plan_csv_runs

if TYPE_CHECKING:
    from airflow.sdk import Context


class PlanCsvRunsOperator(BaseOperator):
    """The ``TriggerDagRunOperator`` kwargs of each CSV's run, oldest CSV first.

    :param request: The request every run starts from (the recurring DAG's ``enrichment_request``); each run's
        ``csv_uri`` is its CSV. A run with no triggering CSV (a manual run) plans one run of ``request`` itself.
    :return: ``CsvRun`` dumps (``trigger_run_id``, ``conf``, ``run_after``).
    """

    template_fields: Sequence[str] = ("request",)

    def __init__(self, *, request: dict[str, Any] | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request = request

    def execute(self, context: Context) -> list[dict[str, Any]]:
        events = [event for events in (context.get("triggering_asset_events") or {}).values() for event in events]
        csvs = landed_csvs_from_asset_events((event.timestamp, event.extra) for event in events)
        if not csvs:
            csvs = [LandedCsv(uri=self.request["csv_uri"], last_modified=context["dag_run"].run_after)]
        runs = plan_csv_runs(csvs, dict(self.request))
        for run in runs:
            self.log.info("CSV %s -> run %s", run.conf["csv_uri"], run.trigger_run_id)
        return [run.model_dump(mode="json") for run in runs]
