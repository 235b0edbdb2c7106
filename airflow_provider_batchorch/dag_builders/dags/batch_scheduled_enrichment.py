"""The recurring enrichment DAGs (airflow + dag discovery: this file is a thin entry point to the factories)."""

from airflow_provider_batchorch.dag_builders.recurring import (
    build_csv_enrichment_dag,
    build_new_csv_enrichment_dag,
    build_scheduled_enrichment_dag,
)
from airflow_provider_batchorch.notifications.deadline import deadline_from_env

scheduled = build_scheduled_enrichment_dag()
on_new_csv = build_new_csv_enrichment_dag()
of_csv = build_csv_enrichment_dag(deadline=deadline_from_env())  # BATCHORCH_RECURRING_DEADLINE_MINUTES
