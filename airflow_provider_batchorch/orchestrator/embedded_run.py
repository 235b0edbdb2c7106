"""Child process of ``EmbeddedLauncher``: one ``batch_orchestrator`` run, exactly as ``batchorch run`` does it.

    python -m airflow_provider_batchorch.orchestrator.embedded_run --run-after 2024-01-20T10:00:00+00:00 < conf.json

The conf is a ``BatchRequest`` already checked by the toolset's policy; the AWS endpoint is the parent's.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime

from airflow_provider_batchorch.cli.local_run import run_batch
from airflow_provider_batchorch.core.models import BatchRequest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-after", required=True, help="ISO timestamp: names the DAG run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    request = BatchRequest.model_validate_json(sys.stdin.read())
    summary = run_batch(request, run_after=datetime.fromisoformat(args.run_after))
    print(summary.model_dump_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
