"""One DAG per managed schedule in ``BATCHORCH_SCHEDULES_TABLE`` (created from chat, listed and removed with
``batchorch schedules``): a thin entry point to the factory."""

from airflow_provider_batchorch.dag_builders.managed_schedules import build_managed_schedule_dags
from airflow_provider_batchorch.notifications.deadline import deadline_from_env

globals().update(build_managed_schedule_dags(deadline=deadline_from_env()))  # BATCHORCH_RECURRING_DEADLINE_MINUTES
