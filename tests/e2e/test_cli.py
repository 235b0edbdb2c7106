"""`batchorch` as a user runs it: a subprocess, the real DAG, the embedded default."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MESSY = ROOT / "examples" / "messy_companies.csv"


def batchorch(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "airflow_provider_batchorch.cli", *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )


def _neutralised(cell: str) -> str:
    from airflow_provider_batchorch.core.csv.output import neutralize_formula

    return neutralize_formula(cell)


@pytest.mark.e2e
def test_messy_csv_comes_back_whole_in_order(tmp_path):
    output = tmp_path / "messy_out.csv"
    result = batchorch("run", "--csv", str(MESSY), "--agent", "company-enrichment-agent", "--json",
                       "--output", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout  # logs went to stderr
    assert "Cost estimate: " in result.stderr and "validate_agent" in result.stderr
    summary = json.loads(lines[0])
    for key in ("status", "rows_processed", "rows_succeeded", "rows_failed", "output_csv_uri",
                "processing_time_seconds", "estimated_cost_usd", "actual_cost_usd", "cost_by_agent", "throughput"):
        assert key in summary
    source = list(csv.DictReader(io.StringIO(MESSY.read_text(encoding="utf-8-sig"))))
    produced = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"))))
    assert len(produced) == len(source) == summary["rows_processed"]
    for before, after in zip(source, produced):
        for column, value in before.items():
            assert after[column] == _neutralised(value)
        if after["_status"] == "SUCCEEDED":
            # A value, or null with the agent's reason for it (no keyword in the name or domain).
            assert after["industry"] or json.loads(after["unknown_reasons"])["industry"]
            assert after["confidence_score"]
        else:
            assert after["_status"] == "FAILED" and after["_error_message"]
    assert summary["rows_succeeded"] == sum(r["_status"] == "SUCCEEDED" for r in produced)
    injected = next(r for r in produced if r["Company Name"].startswith("Ignore previous"))
    assert injected["industry"] != "Hacked"
    assert any(r["Company Name"].startswith("'=HYPERLINK") for r in produced)


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


REFUSED = {
    "empty": (b"", "company-enrichment-agent", [], "EMPTY_CSV"),
    "header_only": (b"company_name,website\n", "company-enrichment-agent", [], "HEADER_ONLY"),
    "duplicate_columns": (b"company_name,company_name\na,b\n", "company-enrichment-agent", [], "DUPLICATE_COLUMNS"),
    "ragged": (b"company_name,website\nAcme,acme.com\nBeta,beta.com,extra\n", "company-enrichment-agent", [],
               "RAGGED_ROWS"),
    "undecodable": (b"company_name,website\nAcme\xff\xfe Corp,acme.com\n", "company-enrichment-agent", [],
                    "ENCODING_ERROR"),
    "missing_column": (b"website,location\nacme.com,Paris\n", "company-enrichment-agent", [],
                       "MISSING_REQUIRED_FIELD"),
    "unknown_agent": (b"company_name\nAcme\n", "no-such-agent", [], "UNKNOWN_AGENT"),
    "invalid_conf": (b"company_name\nAcme\n", "company-enrichment-agent", ["--concurrency", "0"], "INVALID_CONF"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_input_exits_2_with_one_clear_line(tmp_path, case):
    data, agent, extra, code = REFUSED[case]
    result = batchorch("run", "--csv", _write(tmp_path / f"{case}.csv", data), "--agent", agent, *extra, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {code}:"), last
    assert result.stdout == ""


@pytest.mark.parametrize("flags, named", [
    (["--concurrency", "abc"], "concurrency: must be a whole number from 1 to 1,000 (got 'abc')"),
    (["--timeout", "-1"], "timeout_seconds: must be a number of seconds above 0 and at most 900 (got '-1')"),
], ids=["concurrency-abc", "timeout-negative"])
def test_a_bad_number_flag_exits_2_with_one_line_naming_the_range(tmp_path, flags, named):
    result = batchorch("run", "--csv", _write(tmp_path / "ok.csv", b"company_name\nAcme\n"), "--agent",
                       "company-enrichment-agent", *flags, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines() == [next(line for line in result.stderr.splitlines()
                                                       if line.startswith("error: INVALID_CONF:"))]
    assert named in result.stderr and result.stdout == ""


def test_registry_put_then_list_and_show_from_the_table(embedded_aws):
    endpoint = ["--endpoint-url", embedded_aws.endpoint_url, "--region", "us-east-1"]
    put = batchorch("registry", "put", "--file", "examples/registry.yaml", "--table", "CliRegistry", *endpoint)
    assert put.returncode == 0, put.stderr[-2000:]
    assert "stored 3 agents" in put.stdout
    listed = batchorch("registry", "list", "--table", "CliRegistry", *endpoint)
    assert "sentiment-agent" in listed.stdout and "company-enrichment-agent" in listed.stdout
    shown = batchorch("registry", "show", "company-chat-agent", "--table", "CliRegistry", *endpoint)
    assert json.loads(shown.stdout)["compatible"] is False


def test_embedded_default_without_the_local_extra_names_the_install(tmp_path):
    """moto is the optional extra [local]: without it, `batchorch run` on the embedded default says what to install."""
    import os

    code = ("import sys; sys.modules['moto'] = None\n"
            "from airflow_provider_batchorch.cli import main\n"
            "sys.exit(main(sys.argv[1:]))")
    env = {k: v for k, v in os.environ.items() if k not in ("BATCHORCH_AWS_ENDPOINT_URL", "AIRFLOW_CONN_AWS_DEFAULT")}
    result = subprocess.run(
        [sys.executable, "-c", code, "run", "--csv", str(ROOT / "examples" / "companies.csv"),
         "--agent", "company-enrichment-agent", "--output", str(tmp_path / "out.csv")],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert "EMULATOR_NOT_INSTALLED" in result.stderr
    assert "pip install 'airflow-provider-batchorch[local]'" in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_run_prints_the_cost_estimate_before_it_starts_anything(tmp_path):
    """The estimate comes from the preflight (the local CSV's profile, the agent, the price table), before AWS is up:
    here the embedded default cannot even start (no moto), and the estimate is already on stderr."""
    import os

    code = ("import sys; sys.modules['moto'] = None\n"
            "from airflow_provider_batchorch.cli import main\n"
            "sys.exit(main(sys.argv[1:]))")
    env = {k: v for k, v in os.environ.items() if k not in ("BATCHORCH_AWS_ENDPOINT_URL", "AIRFLOW_CONN_AWS_DEFAULT")}
    env["BATCHORCH_LLM_MODEL"] = "openai:gpt-4o-mini"  # the built-in agent on an LLM: a priced estimate
    result = subprocess.run(
        [sys.executable, "-c", code, "run", "--csv", str(ROOT / "examples" / "tickets.csv"),
         "--agent", "ticket-classifier-agent", "--json"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    estimate = next(i for i, line in enumerate(lines) if line.startswith("Cost estimate: 100 rows with "
                                                                          "ticket-classifier-agent, estimated cost $"))
    assert "in realtime mode" in lines[estimate] and "in batch_api" in lines[estimate] and "gpt-4o-mini" in lines[estimate]
    assert estimate < next(i for i, line in enumerate(lines) if "EMULATOR_NOT_INSTALLED" in line)
    assert result.stdout == ""
