"""Airflow UI plugins of the provider: the batch dashboard."""
