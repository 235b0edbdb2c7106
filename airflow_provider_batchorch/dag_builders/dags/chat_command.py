"""The chat_command DAG (airflow + dag discovery: this file is a thin entry point to the factory)."""

from airflow_provider_batchorch.dag_builders.chat import build_chat_command_dag

dag = build_chat_command_dag()
