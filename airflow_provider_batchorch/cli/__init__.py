"""The ``batchorch`` command (``command.py``) and the local runs it starts (``local_run.py``, ``local_retry_failed.py``).

``main`` is re-exported so the console script ``airflow_provider_batchorch.cli:main`` and
``python -m airflow_provider_batchorch.cli`` keep working.
"""

from airflow_provider_batchorch.cli.command import main

__all__ = ["main"]
