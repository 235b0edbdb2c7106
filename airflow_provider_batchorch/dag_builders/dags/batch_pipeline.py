"""The batch_pipeline DAG (airflow + dag discovery: this file is a thin entry point to the factory)."""

from airflow_provider_batchorch.dag_builders.pipeline import build_batch_pipeline_dag

dag = build_batch_pipeline_dag()
