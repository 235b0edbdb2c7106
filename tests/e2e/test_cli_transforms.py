"""`batchorch run --transforms` as a user runs it: a rule naming a column the CSV does not have is refused in one
line, exit 2, before AWS or Airflow start (the full run with a rule of each kind:
tests/dag_builders/test_orchestrator_transforms.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_an_unknown_column_in_a_rule_is_refused_in_one_line_before_anything_runs(tmp_path):
    csv_path = tmp_path / "tickets.csv"
    csv_path.write_text("id,text,country\n1,Refund please,DE\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "airflow_provider_batchorch.cli", "run", "--csv", str(csv_path),
                             "--agent", "ticket-classifier-agent", "--transforms", '{"filter": "contry == \'DE\'"}'],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: INVALID_TRANSFORM: transforms.filter: refers to column 'contry'"), last
    assert "did you mean 'country'" in last and "Traceback" not in result.stderr
