"""The dashboard in a real browser: headless Chromium (Debian's ``chromium``) against the test's server.

The screenshot is kept in ``tests/artifacts/dashboard.png`` (git-ignored) for a person to look at.
Install the browser with ``scripts/install_browser.sh``; without it this test skips and says so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (run scripts/install_browser.sh: apt-get install chromium)"
)


def chromium(url: str, user_data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={user_data_dir}", "--window-size=1500,1100",
        "--hide-scrollbars", *args, url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_dashboard_renders_the_jobs_in_chromium(dashboard_url, recorded_jobs, tmp_path):
    _, _, enriched = recorded_jobs["enriched"]
    _, running = recorded_jobs["running"]
    # 3 s of virtual time: the page's script polls api/jobs once (2 s while a job runs) and stamps the page
    dom = chromium(dashboard_url, tmp_path / "profile-dom", "--virtual-time-budget=3000", "--dump-dom").stdout
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "dashboard.dom.html").write_text(dom, encoding="utf-8")
    assert "<h1>Batch jobs</h1>" in dom
    for job in (enriched, recorded_jobs["tickets"][2], running):
        assert f'data-batch="{job.batch_id}"' in dom
    assert re.search(r'id="refreshed"[^>]*>Updated ', dom), "the live-progress script did not run"
    running_row = dom[dom.index(f'data-batch="{running.batch_id}"'):]
    assert re.search(r"width: 31.4%.*width: 0.6%", running_row[:3000], re.S)  # 157 succeeded, 3 failed of 500
    assert f"jobs/{enriched.batch_id}/failures.csv" in dom

    screenshot = ARTIFACTS / "dashboard.png"
    screenshot.unlink(missing_ok=True)
    chromium(dashboard_url, tmp_path / "profile-shot", "--virtual-time-budget=1000", f"--screenshot={screenshot}")
    assert screenshot.stat().st_size > 20_000, "the screenshot is suspiciously small (blank page?)"


def test_dashboard_charts_render_in_chromium(dashboard_url, recorded_jobs, tmp_path):
    """The three charts are inline SVG in the page Chromium loads: rows per minute (one line per finished run),
    cost per agent (estimated and actual bars) and failure reasons; a screenshot shows them drawn."""
    from airflow_provider_batchorch.core.cost_estimate import format_usd

    dom = chromium(dashboard_url, tmp_path / "profile-charts", "--virtual-time-budget=1000", "--dump-dom").stdout
    finished = [recorded_jobs[name][2] for name in ("enriched", "tickets", "priced")]
    throughput = _element(dom, 'id="chart-throughput"')
    assert throughput.count("<polyline") == len(finished)
    for job in finished:
        assert f'data-series="{job.batch_id}"' in throughput
    cost = _element(dom, 'id="chart-cost"')
    priced = recorded_jobs["priced"][1]
    assert 'data-label="ticket-classifier-agent"' in cost and 'data-label="company-enrichment-agent"' in cost
    assert cost.count('class="bar"') == 2 * 2  # estimated and actual for each of the two agents
    assert format_usd(priced.actual_cost_usd) in cost and ">estimated<" in cost and ">actual<" in cost
    failures = _element(dom, 'id="chart-failures"')
    enriched = recorded_jobs["enriched"][1]
    for reason in enriched.failure_reasons:
        assert f'data-label="{reason}"' in failures
    priced_row = dom[dom.index(f'data-batch="{priced.batch_id}"'):]
    assert f"{format_usd(priced.estimated_cost_usd)} / {format_usd(priced.actual_cost_usd)}" in priced_row[:4000]

    screenshot = ARTIFACTS / "dashboard_charts.png"
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot.unlink(missing_ok=True)
    chromium(dashboard_url, tmp_path / "profile-charts-shot", "--virtual-time-budget=1000", "--window-size=1500,1500",
             f"--screenshot={screenshot}")
    assert screenshot.stat().st_size > 40_000, "the screenshot is suspiciously small (charts not drawn?)"


def _element(dom: str, marker: str) -> str:
    """The ``<svg ...>...</svg>`` whose opening tag holds ``marker``."""
    start = dom.rindex("<svg", 0, dom.index(marker))
    return dom[start:dom.index("</svg>", start)]
