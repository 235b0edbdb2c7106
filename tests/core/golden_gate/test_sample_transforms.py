"""The gate scores the setup the batch runs: the batch's transforms (input rules, row filter) on the sample's rows,
and the judged rows read with the CSV's detected delimiter, quote character and encoding."""

from __future__ import annotations

import asyncio
import io

from airflow_provider_batchorch.core.agent_call import AgentResult
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.csv.profile import analyze_csv
from airflow_provider_batchorch.core.golden_gate.evaluate import evaluate_golden
from airflow_provider_batchorch.core.golden_gate.judge import csv_text_encoding, read_judge_sample
from airflow_provider_batchorch.core.golden_gate.sample import read_golden_sample
from airflow_provider_batchorch.core.transforms.rules import TransformRules

SPEC = AgentSpec(name="greeter", input_fields=[{"name": "text"}],
                 output_schema={"type": "object", "properties": {"greeting": {"type": "string"}}},
                 invocation={"kind": "python", "callable": "json:dumps", "isolation": "none"})
RULES = TransformRules.model_validate({"input": [{"kind": "concat", "columns": ["first", "last"], "into": "full"}],
                                       "filter": 'country == "DE"'})


def test_the_labelled_sample_runs_the_batchs_input_rules_and_filter():
    golden = "first,last,country,greeting\nAda,Lovelace,DE,hi Ada Lovelace\nAlan,Turing,UK,hi Alan Turing\n"
    seen: list[dict] = []

    async def call(inputs):
        seen.append(inputs)
        return AgentResult({"greeting": f"hi {inputs['text']}"})

    # input_mapping names the column the concat rule creates: without the rules the gate refused a valid batch
    sample = read_golden_sample(golden, SPEC, source="golden.csv", input_mapping={"text": "full"}, transforms=RULES)
    report = asyncio.run(evaluate_golden(sample.agent, call, sample))
    assert seen == [{"text": "Ada Lovelace"}]  # the UK row is one the batch's filter skips: not called, not scored
    assert report.passed and (report.rows, report.fields[0].correct) == (1, 1)


def test_the_judged_rows_are_read_as_the_csv_was_detected_and_transformed():
    data = "first;last;country\n\"Jos\u00e9;Mar\u00eda\";Pe\u00f1a;DE\nHans;M\u00fcller;AT\nJ\u00fcrgen;Wei\u00df;DE\n"
    raw = data.encode("latin-1")
    profile = analyze_csv(io.BytesIO(raw), uri="s3://b/in.csv", encoding="latin-1")
    assert (profile.delimiter, csv_text_encoding(profile)) == (";", profile.encoding)
    lines = io.TextIOWrapper(io.BytesIO(raw), encoding=csv_text_encoding(profile), newline="")
    sample = read_judge_sample(lines, SPEC, 5, source="in.csv", input_mapping={"text": "full"}, profile=profile,
                               transforms=RULES)
    assert [row["first"] for row in sample.rows] == ["Jos\u00e9;Mar\u00eda", "J\u00fcrgen"]
    assert sample.input_mapping == {"text": "full"} and sample.columns == ["first", "last", "country"]
