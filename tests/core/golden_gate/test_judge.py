"""The judged sample: the first N input rows, the agent's answers, a judge's per-field verdicts (booleans or scores)."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_batchorch.core.agent_call import AgentResult
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import GoldenGateFailedError
from airflow_provider_batchorch.core.golden_gate.evaluate import check_gate
from airflow_provider_batchorch.core.golden_gate.judge import evaluate_judged, read_judge_sample, verdict
from airflow_provider_batchorch.core.golden_gate.report import report_text

PYTHON = {"kind": "python", "callable": "json:dumps", "isolation": "none"}
AGENT = AgentSpec(name="sentiment-agent", input_fields=[{"name": "text", "synonyms": ["review"]}],
                  output_schema={"type": "object", "properties": {"sentiment": {"type": "string"},
                                                                  "score": {"type": "number"}}},
                  invocation=PYTHON)
JUDGE = AgentSpec(name="judge", input_fields=[{"name": "inputs"}, {"name": "answer"}, {"name": "fields"}],
                  output_schema={"type": "object", "properties": {"sentiment": {}, "score": {}}}, invocation=PYTHON)
TRUTH = {"great": "positive", "awful": "negative", "fine": "neutral", "meh": "neutral"}


def lines(reviews, read: list):
    """The CSV's lines, noting each one the reader took."""
    for line in ["review\n", *(f"{review}\n" for review in reviews)]:
        read.append(line)
        yield line


def agent(wrong=frozenset(), fail=frozenset()):
    async def call(inputs):
        text = inputs["text"]
        if text in fail:
            raise RuntimeError("model down")
        return AgentResult({"sentiment": "positive" if text in wrong else TRUTH[text], "score": 0.7})
    return call


def judge(seen: list, broken=frozenset()):
    async def call(inputs):
        seen.append(inputs)
        text = inputs["inputs"]["text"]
        if text in broken:
            raise RuntimeError("judge down")
        return AgentResult({"sentiment": inputs["answer"]["sentiment"] == TRUTH[text],
                            "score": 0.5 if text == "great" else 0.2})
    return call


def test_the_reader_takes_the_first_rows_and_reads_no_further():
    read: list[str] = []
    sample = read_judge_sample(lines(["great", "awful", "fine", "meh", "never read"], read), AGENT, 3, source="in")
    assert [row["review"] for row in sample.rows] == ["great", "awful", "fine"]
    assert len(read) == 4 and sample.input_mapping == {"text": "review"}


@pytest.mark.parametrize("said, right, shown", [
    (True, True, "true"), (False, False, "false"), (0.5, True, "score 0.5"), (0.49, False, "score 0.49"),
    (1, True, "score 1"), (1.5, False, "not a verdict: 1.5"), ("yes", False, "not a verdict: yes"),
    (None, False, "no verdict")])
def test_a_verdict_is_a_boolean_or_a_score_right_at_one_half(said, right, shown):
    given = verdict({"sentiment": said}, "sentiment")
    assert (given.right, given.said) == (right, shown)


def test_the_judge_scores_each_field_and_a_row_it_cannot_judge_is_wrong():
    seen: list[dict] = []
    sample = read_judge_sample(lines(list(TRUTH), []), AGENT, 4, source="first 4 rows of in.csv")
    report = asyncio.run(evaluate_judged(AGENT, agent(wrong={"awful"}, fail={"meh"}), JUDGE,
                                         judge(seen, broken={"fine"}), sample, min_accuracy=0.5))
    sentiment, score = report.fields
    assert (sentiment.correct, sentiment.scored, sentiment.passed) == (1, 4, False)  # awful wrong, fine/meh no verdict
    assert (score.correct, score.passed) == (1, False)  # only "great" scored 0.5
    assert [m.expected for m in sentiment.mismatches] == [
        "judge: false", "judge error: Agent raised RuntimeError: judge down",
        "error: Agent raised RuntimeError: model down"]
    assert sorted(s["inputs"]["text"] for s in seen) == ["awful", "fine", "great"]  # the failed row is not judged
    assert seen[0]["fields"] == ["sentiment", "score"] and set(seen[0]["answer"]) == {"sentiment", "score"}
    assert (report.judge, report.judge_calls, report.agent_calls, report.rows_failed) == ("judge", 3, 4, 1)
    assert "judged by judge" in report_text(report)
    with pytest.raises(GoldenGateFailedError, match="sentiment 25%"):
        check_gate(report)


def test_the_judged_fields_are_those_the_judge_names():
    one_field = JUDGE.model_copy(update={"output_schema": {"type": "object", "properties": {"sentiment": {}}}})
    sample = read_judge_sample(lines(["great"], []), AGENT, 1, source="in")
    report = asyncio.run(evaluate_judged(AGENT, agent(), one_field, judge([]), sample))
    assert [(f.field, f.correct) for f in report.fields] == [("sentiment", 1)] and report.passed
