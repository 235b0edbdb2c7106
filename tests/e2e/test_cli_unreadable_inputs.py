"""`batchorch` refuses an input it cannot read with one line and exit 2, never a traceback (issue 12):
an unreadable local file, an s3:// CSV whose bucket does not exist, a missing S3 key; and `registry import`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A regular file that even root cannot open for reading (write-only procfs entry).
WRITE_ONLY_FILE = Path("/proc/sys/vm/drop_caches")


def batchorch(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "airflow_provider_batchorch.cli", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def assert_one_line_refusal(result, code: str) -> str:
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {code}:"), last
    assert result.stdout == ""
    return last


def run_csv(csv: str):
    return batchorch("run", "--csv", csv, "--agent", "company-enrichment-agent", timeout=240)


def unreadable_file(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        path = tmp_path / "locked.csv"
        path.write_text("company_name\nAcme\n")
        path.chmod(0)
        return path
    if not WRITE_ONLY_FILE.is_file():
        pytest.skip("running as root and no write-only file to try")
    return WRITE_ONLY_FILE


def test_an_unreadable_local_csv_is_one_line(tmp_path):
    last = assert_one_line_refusal(run_csv(str(unreadable_file(tmp_path))), "CSV_NOT_FOUND")
    assert "Permission denied" in last


def test_a_directory_given_as_the_csv_is_one_line(tmp_path):
    last = assert_one_line_refusal(run_csv(str(tmp_path)), "CSV_NOT_FOUND")
    assert "is a directory" in last


def test_an_s3_csv_whose_bucket_does_not_exist_is_one_line():
    last = assert_one_line_refusal(run_csv(f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/companies.csv"),
                                   "CSV_NOT_FOUND")
    assert "does not exist" in last


def test_a_missing_s3_key_is_csv_not_found_not_run_failed():
    from airflow_provider_batchorch.local.emulator import BUCKET

    last = assert_one_line_refusal(run_csv(f"s3://{BUCKET}/no/such/{uuid.uuid4().hex[:8]}.csv"), "CSV_NOT_FOUND")
    assert "no such object" in last


def test_registry_import_writes_the_file_to_the_table_the_env_names(embedded_aws):
    endpoint = ["--endpoint-url", embedded_aws.endpoint_url, "--region", "us-east-1"]
    table = f"Imported-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "BATCHORCH_REGISTRY_TABLE": table}
    imported = batchorch("registry", "import", "examples/registry.yaml", *endpoint, env=env)
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert f"stored 3 agents in {table}" in imported.stdout
    shown = batchorch("registry", "show", "company-chat-agent", *endpoint, env=env)  # only the file has it
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert json.loads(shown.stdout)["agent"] == "company-chat-agent"
