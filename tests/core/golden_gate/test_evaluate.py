"""The gate scores each labelled field of the golden sample and stops below the threshold with the report."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_batchorch.core.agent_call import AgentResult
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import GoldenGateFailedError, GoldenSampleError
from airflow_provider_batchorch.core.golden_gate.evaluate import check_gate, evaluate_golden
from airflow_provider_batchorch.core.golden_gate.report import report_text
from airflow_provider_batchorch.core.golden_gate.sample import read_golden_sample

SPEC = AgentSpec(name="sentiment-agent", input_fields=[{"name": "text"}],
                 output_schema={"type": "object", "properties": {"sentiment": {"type": "string"},
                                                                 "score": {"type": "number"}}},
                 invocation={"kind": "python", "callable": "json:dumps", "isolation": "none"})
GOLDEN = "review,sentiment,expected_score\ngreat,positive,0.9\nawful,negative,0.1\nfine,neutral,\nmeh,neutral,0.5\n"


def _agent(wrong: set[str] = frozenset(), fail: set[str] = frozenset()):
    truth = {"great": ("positive", 0.905), "awful": ("negative", 0.1), "fine": ("neutral", 0.5), "meh": ("neutral", 0.5)}

    async def call(inputs):
        text = inputs["text"]
        if text in fail:
            raise RuntimeError("model down")
        sentiment, score = truth[text]
        return AgentResult({"sentiment": "Positive " if text in wrong else sentiment, "score": score})

    return call


def _report(call, **options):
    sample = read_golden_sample(GOLDEN, SPEC, source="golden.csv", input_mapping={"text": "review"})
    return asyncio.run(evaluate_golden(SPEC, call, sample, **options))


def test_a_good_agent_passes_every_field():
    report = check_gate(_report(_agent()))
    assert report.passed and [(f.field, f.scored, f.correct) for f in report.fields] == [
        ("sentiment", 4, 4), ("score", 3, 3)]  # the blank score label is not scored; 0.905 is within 1 % of 0.9


def test_a_bad_agent_stops_with_the_per_field_report():
    report = _report(_agent(wrong={"awful", "meh"}, fail={"fine"}), min_accuracy=0.75)
    sentiment, score = report.fields
    assert (sentiment.correct, sentiment.accuracy, sentiment.passed) == (1, 0.25, False)
    assert (score.correct, score.passed) == (3, True)  # "fine" failed, but it has no score label
    assert report.rows_failed == 1 and report.failing_fields() == ["sentiment"]
    assert [(m.row, m.expected, m.actual) for m in sentiment.mismatches][:2] == [
        (2, "negative", "Positive "), (3, "neutral", "error: Agent raised RuntimeError: model down")]
    with pytest.raises(GoldenGateFailedError) as stopped:
        check_gate(report)
    assert "sentiment 25%" in str(stopped.value) and stopped.value.details["report"]["fields"][0]["correct"] == 1
    assert "FAIL sentiment" in report_text(report)


def test_a_sample_without_a_labelled_field_is_refused():
    with pytest.raises(GoldenSampleError, match="no column named after an output field"):
        read_golden_sample("text,mood\nhi,happy\n", SPEC)
