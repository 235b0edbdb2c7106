"""``python -m airflow_provider_batchorch.cli``: the ``batchorch`` command."""

import sys

from airflow_provider_batchorch.cli.command import main

sys.exit(main())
