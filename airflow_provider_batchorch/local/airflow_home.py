"""A throwaway Airflow installation for running the package's DAGs in-process (``dag.test``).

Airflow reads its configuration when first imported, so ``configure_environment`` must run before anything
imports ``airflow``. The DAGs folder is the package's own ``dag_builders/dags/``: ``dag.test`` re-parses it and refuses a DAG
that is not there.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PACKAGE_DAGS_FOLDER = Path(__file__).resolve().parents[1] / "dag_builders" / "dags"


def configure_environment(home: str | Path | None = None, extra_env: dict[str, str] | None = None) -> Path:
    home = Path(home or tempfile.mkdtemp(prefix="batchorch-airflow-"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PACKAGE_DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://127.0.0.1:8080/execution/",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"),
            **(extra_env or {}),
        }
    )
    return home


def migrate_database() -> None:
    from airflow.utils.db import initdb

    initdb()
