"""The batch_orchestrator DAG (airflow + dag discovery: this file is a thin entry point to the factory)."""

from airflow_provider_batchorch.dag_builders.orchestrator import build_batch_orchestrator_dag

dag = build_batch_orchestrator_dag()
