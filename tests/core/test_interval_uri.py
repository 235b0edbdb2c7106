"""csv_uri / output_uri templated on a run's data interval: the documented names only, anything else refused."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from airflow_provider_batchorch.core.errors import UriTemplateError
from airflow_provider_batchorch.core.interval_uri import RunInterval, render_interval_uri, render_request_uris

DAY = RunInterval(start=datetime(2026, 1, 5, 6, tzinfo=timezone.utc), end=datetime(2026, 1, 6, 6, tzinfo=timezone.utc))


def test_each_name_resolves_for_the_interval():
    assert render_interval_uri("s3://b/{{ ds }}/companies.csv", DAY) == "s3://b/2026-01-05/companies.csv"
    assert render_interval_uri("s3://b/{{yyyy}}/{{ mm }}/{{dd}}/{{ ds_nodash }}-{{ hh }}.csv", DAY) == \
        "s3://b/2026/01/05/20260105-06.csv"
    assert render_interval_uri("s3://b/{{ ts_nodash }}.csv", DAY) == "s3://b/20260105T060000.csv"
    assert render_interval_uri("s3://b/{{ data_interval_end }}", DAY) == "s3://b/2026-01-06T06:00:00+00:00"


def test_a_run_without_an_interval_uses_the_day_it_was_due():
    manual = RunInterval(run_after=datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc))
    assert render_interval_uri("s3://b/{{ ds }}/x.csv", manual) == "s3://b/2026-03-01/x.csv"


@pytest.mark.parametrize("template", ["s3://b/{{ conf }}/x.csv", "s3://b/{{ ds.__class__ }}/x.csv",
                                      "s3://b/{{ range(10**9) }}", "s3://b/{% for x in y %}{% endfor %}",
                                      "s3://b/{{ ds }/x.csv"])
def test_anything_but_a_documented_name_is_refused_naming_it(template):
    with pytest.raises(UriTemplateError) as refused:
        render_interval_uri(template, DAY)
    assert refused.value.code == "INVALID_URI_TEMPLATE" and "ds" in refused.value.hint


def test_only_the_locations_are_rendered():
    request = {"csv_uri": "s3://b/{{ ds }}.csv", "output_uri": "s3://o/{{ ds }}/", "agent": "{{ ds }}"}
    assert render_request_uris(request, DAY) == {"csv_uri": "s3://b/2026-01-05.csv",
                                                 "output_uri": "s3://o/2026-01-05/", "agent": "{{ ds }}"}
