"""`batchorch evaluate --agent A --golden golden.csv`: the gate alone, on the shipped example (offline agents)."""

from __future__ import annotations

import json
from pathlib import Path

from airflow_provider_batchorch.cli.command import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ARGS = ["evaluate", "--agent", "sentiment-agent", "--registry", str(EXAMPLES / "registry.yaml"),
        "--golden", str(EXAMPLES / "golden_sentiment.csv")]


def test_evaluate_prints_the_per_field_report_and_exits_1_below_the_threshold(capsys):
    assert main(ARGS) == 1
    out = capsys.readouterr().out
    assert "FAILED for sentiment-agent (threshold 90% per field, 10 rows, 0 failed)" in out
    assert "FAIL sentiment   80.0%  (8/10)" in out and "row 8: expected 'Negative', got 'Neutral'" in out
    assert "ok   polarity   100.0%  (7/7)" in out


def test_evaluate_exits_0_at_or_above_the_threshold_and_prints_json(capsys):
    assert main([*ARGS, "--min-accuracy", "0.8", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(f["field"], f["correct"], f["scored"], f["passed"]) for f in report["fields"]] == [
        ("sentiment", 8, 10, True), ("polarity", 7, 7, True)]


JUDGED = ["evaluate", "--agent", "sentiment-agent", "--registry", str(EXAMPLES / "registry.yaml"),
          "--judge", "sentiment-judge", "--csv", str(EXAMPLES / "tickets.csv"), "--rows", "4", "--mapping", "text=body"]


def test_evaluate_with_a_judge_scores_the_first_rows_of_the_input(capsys):
    assert main([*JUDGED, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["rows"], report["agent_calls"], report["judge"], report["judge_calls"]) == (
        4, 4, "sentiment-judge", 4)
    assert report["source"].startswith("first 4 rows of ") and report["source"].endswith("tickets.csv")
    assert [(f["field"], f["correct"], f["scored"]) for f in report["fields"]] == [("sentiment", 4, 4),
                                                                                  ("polarity", 4, 4)]


def test_a_field_the_judge_gives_no_verdict_on_fails(capsys):
    assert main([*JUDGED, "--output-field", "positive_terms"]) == 1
    out = capsys.readouterr().out
    assert "FAIL positive_terms    0.0%  (0/4)" in out and "expected 'judge: no verdict'" in out
