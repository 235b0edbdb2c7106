"""The provider is discovered through its entry point and lists importable operators, sensors, hooks, triggers."""

from __future__ import annotations

import importlib
from pathlib import Path
from importlib.metadata import entry_points

from airflow_provider_batchorch import get_provider_info
from tests.support.direct_execute import quiet_direct_execute  # noqa: F401  (autouse)


def test_entry_point_returns_provider_info():
    providers = entry_points(group="apache_airflow_provider")
    (entry_point,) = [ep for ep in providers if ep.value.startswith("airflow_provider_batchorch:")]
    info = entry_point.load()()
    assert info["package-name"] == "airflow-provider-batchorch"
    assert info["versions"][0]


def test_every_listed_module_and_link_imports():
    info = get_provider_info()
    kinds = ("operators", "sensors", "hooks", "triggers")
    modules = [module for kind in kinds for entry in info[kind] for module in entry["python-modules"]]
    package = Path(importlib.import_module("airflow_provider_batchorch").__file__).parent
    shipped = {
        f"airflow_provider_batchorch.{kind}.{path.stem}"
        for kind in kinds for path in (package / kind).glob("*.py") if not path.stem.startswith("_")  # _private: shared helpers
    }
    assert set(modules) == shipped  # every operator, sensor, hook and trigger the package ships is listed
    for module in modules:
        importlib.import_module(module)
    for path in info["extra-links"]:
        module, _, name = path.rpartition(".")
        assert getattr(importlib.import_module(module), name).name == "Step Functions Execution"


def test_providers_manager_lists_it():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    provider = manager.providers["airflow-provider-batchorch"]
    assert provider.version == "0.1.0"
    assert provider.data["name"] == "Batchorch"
    assert "airflow_provider_batchorch.links.batch_execution.BatchExecutionLink" in manager.extra_links_class_names
    triggers = [t.trigger_class_name for t in manager.trigger]
    assert "airflow_provider_batchorch.triggers.batch_execution" in triggers
