"""Airflow Params generated from a run-settings model (``core.run_settings``): the trigger form shows each field's
type, range, default, title and description as ``BatchRequest`` writes them, plus what only a form needs
(the S3 pattern of ``csv_uri``, examples)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param
from pydantic import BaseModel

from airflow_provider_batchorch.core.run_settings import RunSetting, run_settings

BUILTIN_AGENTS = [
    "company-enrichment-agent",
    "ticket-classifier-agent",
    "address-validator-agent",
    "product-analyzer-agent",
    "customer-scorer-agent",
]

# Form-only additions: a DAG run reads its CSV from S3 (the CLI uploads a local file first); examples for the form.
FORM_EXTRAS: dict[str, dict[str, Any]] = {
    "csv_uri": {"pattern": "^s3://[^/]+/.+", "examples": ["s3://batchorch-local/examples/companies.csv"]},
    "agent": {"examples": BUILTIN_AGENTS},
}


_MODEL_DEFAULT = object()


def setting_param(setting: RunSetting, default: Any = _MODEL_DEFAULT) -> Param:
    """The Param of one setting, with the model's default or ``default``; a required setting without one has no
    default (the form asks for it)."""
    schema = {**setting.schema(), **FORM_EXTRAS.get(setting.name, {})}
    if default is _MODEL_DEFAULT:
        return Param(**schema) if setting.required else Param(setting.default, **schema)
    return Param(default, **schema)


def settings_params(model: type[BaseModel] | None = None, *, only: tuple[str, ...] | None = None) -> dict[str, Param]:
    """A Param per field of ``model`` (default ``BatchRequest``), in its order; ``only`` picks some, in its order."""
    settings = {setting.name: setting for setting in run_settings(model)}
    return {name: setting_param(settings[name]) for name in (only if only is not None else settings)}


def batch_params() -> dict[str, Param]:
    """The ``batch_orchestrator`` trigger form: every ``BatchRequest`` field (``analyze_csv`` validates the whole
    conf again as a ``BatchRequest``, unknown keys included)."""
    return settings_params()


def item_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of one object of ``model`` (the ``stages`` items of the pipeline form)."""
    settings = run_settings(model, titled=False)
    return {"type": "object", "required": [setting.name for setting in settings if setting.required],
            "properties": {setting.name: {**setting.schema(), **FORM_EXTRAS.get(setting.name, {})}
                           for setting in settings}}
