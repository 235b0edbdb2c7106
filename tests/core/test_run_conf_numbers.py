"""The run conf's numbers (DAG conf, CLI flags, chat): checked against ``BatchRequest``'s ranges, never coerced,
and refused with one line that names the range read from the model."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from airflow_provider_batchorch.core.errors import invalid_conf
from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.core.number_limits import number_range

BASE = {"csv_uri": "s3://bucket/companies.csv", "agent": "company-enrichment-agent"}

REFUSED = [
    ("concurrency", "5.5", "must be a whole number from 1 to 1,000"),
    ("concurrency", 5.5, "must be a whole number from 1 to 1,000"),
    ("concurrency", "1e9", "must be a whole number from 1 to 1,000"),
    ("concurrency", 1e9, "must be a whole number from 1 to 1,000"),
    ("concurrency", True, "must be a whole number from 1 to 1,000, not a boolean"),
    ("concurrency", -1, "must be a whole number from 1 to 1,000"),
    ("concurrency", 0, "must be a whole number from 1 to 1,000"),
    ("concurrency", "abc", "must be a whole number from 1 to 1,000"),
    ("timeout_seconds", 0, "must be a number of seconds above 0 and at most 900"),
    ("timeout_seconds", -30, "must be a number of seconds above 0 and at most 900"),
    ("timeout_seconds", False, "must be a number of seconds above 0 and at most 900, not a boolean"),
    ("timeout_seconds", "nan", "must be a number of seconds above 0 and at most 900"),
    ("chunk_rows", 0, "must be a whole number from 1 to 1,000,000"),
    ("chunk_rows", 2.5, "must be a whole number from 1 to 1,000,000"),
]


@pytest.mark.parametrize("name, value, allowed", REFUSED, ids=[f"{n}={v!r}" for n, v, _ in REFUSED])
def test_a_bad_number_in_the_conf_is_refused_with_its_range(name, value, allowed):
    with pytest.raises(ValidationError) as caught:
        BatchRequest.model_validate({**BASE, name: value})
    line = str(invalid_conf(caught.value))
    assert f"{name}: {allowed} (got {value!r})" in line
    assert "\n" not in line


@pytest.mark.parametrize("value, read", [("5", 5), (5.0, 5), (1000, 1000)])
def test_lax_but_exact_numbers_are_read(value, read):
    assert BatchRequest.model_validate({**BASE, "concurrency": value}).concurrency == read


def test_the_range_is_read_from_the_model_fields():
    concurrency = number_range(BatchRequest, "concurrency")
    assert (concurrency.whole, concurrency.low, concurrency.high) == (True, 1, 1000)
    timeout = number_range(BatchRequest, "timeout_seconds")
    assert (timeout.whole, timeout.low, timeout.low_inclusive, timeout.high) == (False, 0, False, 900)
    assert concurrency.capped(50, "the configured maximum").describe() == (
        "a whole number from 1 to 50 (the configured maximum)")
    assert concurrency.capped(5000, "looser").describe() == "a whole number from 1 to 1,000"
    assert not concurrency.accepts(True) and not concurrency.accepts(float("nan")) and concurrency.accepts(5.0)
