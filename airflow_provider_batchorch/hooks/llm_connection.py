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


def connection_model(agent) -> str | None:
    """The model an ``llm`` agent's (``AgentSpec``) ``pydanticai`` connection names, when its entry names none."""
    invocation = agent.invocation
    if invocation.kind != "llm" or invocation.model or not invocation.conn_id:
        return None
    try:
        return connection_credentials(invocation.conn_id)[0]
    except Exception:  # no such connection: the estimate says the model is unknown, which asks for approval
        return None


CHAT_LLM_CONN_ENV = "BATCHORCH_CHAT_LLM_CONN_ID"
DEFAULT_LLM_CONN_ID = "pydanticai_default"


def configured_llm_conn_id(explicit: str | None = None, environ=None) -> str | None:
    """The chat's LLM connection: ``explicit``, else ``BATCHORCH_CHAT_LLM_CONN_ID`` (``none`` turns it off), else
    ``pydanticai_default`` when that connection exists; ``None``: the offline parser."""
    import os

    environ = os.environ if environ is None else environ
    chosen = explicit or environ.get(CHAT_LLM_CONN_ENV)
    if chosen:
        return None if chosen.strip().lower() in ("none", "off", "") else chosen.strip()
    try:
        connection_credentials(DEFAULT_LLM_CONN_ID)
    except Exception:  # no such connection (AirflowNotFoundException): the offline parser
        return None
    return DEFAULT_LLM_CONN_ID
