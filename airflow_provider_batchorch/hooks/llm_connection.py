"""LLM credentials from an Airflow connection (``conn_id`` of an ``llm`` agent): the one place that reads them."""

from __future__ import annotations


def connection_credentials(conn_id: str) -> tuple[str | None, str | None, str | None]:
    """(model, base URL, API key) of an Airflow ``pydanticai`` connection; Airflow is imported only here."""
    try:
        from airflow.sdk import BaseHook
    except ImportError:  # pragma: no cover - Airflow 2 layout
        from airflow.hooks.base import BaseHook  # type: ignore[no-redef]
    connection = BaseHook.get_connection(conn_id)
    extra = connection.extra_dejson or {}
    return extra.get("model") or None, connection.host or None, connection.password or None
