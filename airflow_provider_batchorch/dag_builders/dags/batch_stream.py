"""The batch_stream DAG (airflow + dag discovery: this file is a thin entry point to the factory)."""

from airflow_provider_batchorch.dag_builders.stream import build_batch_stream_dag

dag = build_batch_stream_dag()
