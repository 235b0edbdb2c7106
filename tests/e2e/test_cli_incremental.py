"""`batchorch run --incremental --state-dir DIR` twice: the second run calls the agent only for changed rows."""

import csv
import io
import json

import pytest

from tests.e2e.test_cli import batchorch

COMPANIES = ["Acme Robotics", "Globex Bank", "Initech Software", "Umbrella Pharma", "Stark Industries",
             "Wayne Enterprises", "Hooli Cloud", "Vandelay Imports", "Soylent Foods", "Cyberdyne Systems"]


def _write(path, names):
    path.write_text("company_name,location\n" + "".join(f"{name},Paris\n" for name in names))
    return str(path)


@pytest.mark.e2e
def test_second_cli_run_reuses_unchanged_rows(tmp_path):
    state = tmp_path / "state"
    changed = [name if i not in (3, 7) else f"{name} Holdings" for i, name in enumerate(COMPANIES)]
    runs = []
    for index, names in enumerate((COMPANIES, changed)):
        output = tmp_path / f"out{index}.csv"
        result = batchorch("run", "--csv", _write(tmp_path / f"companies{index}.csv", names),
                           "--agent", "company-enrichment-agent", "--incremental", "--state-dir", str(state),
                           "--output", str(output), "--json")
        assert result.returncode == 0, result.stderr[-3000:]
        runs.append((json.loads(result.stdout.strip()), list(csv.DictReader(io.StringIO(output.read_text())))))

    (first, _), (second, rows) = runs
    assert (first["agent_calls"], first["rows_reused"]) == (10, 0)
    assert (second["agent_calls"], second["rows_reused"], second["rows_processed"]) == (2, 8, 10)
    assert [row["company_name"] for row in rows] == changed
    assert all(row["_status"] == "SUCCEEDED" and row["confidence_score"] for row in rows)  # industry may be null with a reason
    assert any(state.rglob("*")), "the state lives in the local folder"
