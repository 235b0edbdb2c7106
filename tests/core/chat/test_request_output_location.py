"""A chat request cannot make a batch write over its input, another run's files or the state: it gets a question."""

from __future__ import annotations

import pytest

from airflow_provider_batchorch.builtin_agents import builtin_registry
from airflow_provider_batchorch.core.chat.request_parser import parse_request
from airflow_provider_batchorch.core.chat.request_policy import RequestPolicy

POLICY = RequestPolicy(allowed_buckets=["my-data", "crm"], default_bucket="uploads")


@pytest.mark.parametrize("text, says", [
    ("enrich s3://my-data/companies.csv with industry and save results to s3://my-data/companies.csv",
     "s3://my-data/companies.csv is the input CSV"),
    ("enrich companies.csv with industry and save the results to s3://uploads/companies.csv",
     "s3://uploads/companies.csv is the input CSV"),
    ("use the company enricher on <s3://my-data/firms.csv|firms.csv> and save the results to s3://my-data/",
     "s3://my-data/ is a folder holding the input CSV"),
    ("enrich s3://my-data/companies.csv with industry, save the results to "
     "s3://my-data/batchorch/runs/batch-orchestrator-x/config.json", "inside batchorch/runs/"),
])
def test_an_output_over_the_input_or_a_run_gets_a_question_not_a_run(text, says):
    parsed = parse_request(text, builtin_registry(), POLICY)
    assert not parsed.ready and parsed.reason == "unsafe_output", parsed
    assert says in parsed.question


def test_a_separate_output_in_an_allowed_bucket_still_runs():
    text = "enrich s3://my-data/companies.csv with industry and save results to s3://crm/out/companies.csv"
    parsed = parse_request(text, builtin_registry(), POLICY)
    assert parsed.ready and parsed.request.output_uri == "s3://crm/out/companies.csv"
