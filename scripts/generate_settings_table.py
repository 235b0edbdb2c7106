"""Write the run-settings table of README.md from ``BatchRequest`` and ``batchorch run``'s flags.

    .venv/bin/python scripts/generate_settings_table.py          # rewrite the README's table
    .venv/bin/python scripts/generate_settings_table.py --check  # exit 1 when the README is out of date

tests/core/test_run_settings.py fails while the README's table differs from the model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from airflow_provider_batchorch.cli.run_flags import flag_names
from airflow_provider_batchorch.core.run_settings import with_settings_table

README = Path(__file__).resolve().parents[1] / "README.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the README is up to date")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    renewed = with_settings_table(text, flags=flag_names())
    if args.check:
        if renewed != text:
            print(f"{README} is out of date: run scripts/generate_settings_table.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(renewed, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
