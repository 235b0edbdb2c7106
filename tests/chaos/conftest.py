"""Fault injection on the embedded default: a moto server of our own whose chunk queue has a short visibility
timeout (so a dead worker's chunk comes back in seconds, not 5 minutes), workers started and stopped per test.

Every case appends ``rows in / rows out / duplicates / lost`` to a report, printed at the end of the run and
written to ``out/chaos/report.json`` (``BATCHORCH_CHAOS_REPORT`` overrides), which ``benchmarks/run_all.py``
turns into the table in BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

VISIBILITY_SECONDS = 4
REPORT: list[dict] = []


@pytest.fixture(scope="module")
def chaos_aws(tmp_path_factory):
    from airflow_provider_batchorch.local.emulator import EmbeddedAws
    from airflow_provider_batchorch.aws.processor import ProcessorNames

    names = ProcessorNames(chunk_visibility_seconds=VISIBILITY_SECONDS)
    with EmbeddedAws(log_dir=tmp_path_factory.mktemp("chaos"), names=names) as aws:
        yield aws


@pytest.fixture
def report():
    """Call with the case's figures; they go to the session's chaos report."""

    def add(case: str, audit: dict, **extra) -> None:
        REPORT.append({"case": case, **audit, **extra})

    started = time.monotonic()
    yield add
    if REPORT and "seconds" not in REPORT[-1]:
        REPORT[-1]["seconds"] = round(time.monotonic() - started, 1)


def pytest_sessionfinish(session, exitstatus):
    if not REPORT:
        return
    path = Path(os.environ.get("BATCHORCH_CHAOS_REPORT", "out/chaos/report.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(REPORT, indent=2))


def pytest_terminal_summary(terminalreporter):
    if not REPORT:
        return
    terminalreporter.section("chaos report")
    terminalreporter.write_line(f"{'case':56} {'in':>6} {'out':>6} {'dup':>4} {'lost':>4}  notes")
    for row in REPORT:
        notes = row.get("notes", "")
        terminalreporter.write_line(
            f"{row['case']:56} {row['rows_in']:>6} {row['rows_out']:>6} {row['duplicates']:>4} {row['lost']:>4}  {notes}")
