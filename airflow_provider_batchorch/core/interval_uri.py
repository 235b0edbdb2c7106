"""``csv_uri`` / ``output_uri`` templated on a run's data interval: ``s3://b/{{ ds }}/companies.csv``.

Only the names below, in Airflow's spelling, each as ``{{ name }}``; nothing else is evaluated (no Jinja
expressions, filters or blocks), so a value from a run conf cannot compute anything. An unknown name is refused
naming it. A run with no data interval (a manual run of a scheduled DAG) uses the day it was triggered for.

    ds             2026-01-05            ds_nodash        20260105
    ts             2026-01-05T06:00:00+00:00                ts_nodash  20260105T060000
    data_interval_start / data_interval_end (ISO 8601)     yyyy, mm, dd, hh (of the interval's start)
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from pydantic import BaseModel, Field

from airflow_provider_batchorch.core.errors import UriTemplateError

_PLACEHOLDER = re.compile(r"{{\s*([^{}]*?)\s*}}")
TEMPLATE_FIELDS = ("csv_uri", "output_uri")
NAMES = ("ds", "ds_nodash", "ts", "ts_nodash", "data_interval_start", "data_interval_end", "yyyy", "mm", "dd", "hh")


class RunInterval(BaseModel):
    """The dates of one DAG run, as Airflow's template context has them."""

    start: datetime | None = Field(None, description="data_interval_start")
    end: datetime | None = Field(None, description="data_interval_end")
    run_after: datetime | None = Field(None, description="When the run was due: stands in for a missing interval")

    def values(self) -> dict[str, str]:
        start = _utc(self.start or self.run_after or datetime.now(timezone.utc))
        end = _utc(self.end) if self.end else start
        return {"ds": f"{start:%Y-%m-%d}", "ds_nodash": f"{start:%Y%m%d}", "ts": start.isoformat(),
                "ts_nodash": f"{start:%Y%m%dT%H%M%S}", "data_interval_start": start.isoformat(),
                "data_interval_end": end.isoformat(), "yyyy": f"{start:%Y}", "mm": f"{start:%m}",
                "dd": f"{start:%d}", "hh": f"{start:%H}"}


def is_templated(value: object) -> bool:
    return isinstance(value, str) and "{{" in value


def render_interval_uri(template: str, interval: RunInterval) -> str:
    """``template`` with each ``{{ name }}`` replaced by the interval's value."""
    values = interval.values()

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise UriTemplateError(f"{template!r} uses {{{{ {name} }}}}, which is not a data-interval name.",
                                   hint=f"Use one of {', '.join(NAMES)}, e.g. s3://bucket/{{{{ ds }}}}/file.csv.")
        return values[name]

    rendered = _PLACEHOLDER.sub(value, template)
    if "{{" in rendered or "{%" in rendered or "}}" in rendered:
        raise UriTemplateError(f"{template!r} has an unclosed or nested placeholder.",
                               hint="Write each one as {{ name }}, e.g. s3://bucket/{{ ds }}/file.csv.")
    return rendered


def render_request_uris(request: dict, interval: RunInterval) -> dict:
    """The request with its templated locations (``csv_uri``, ``output_uri``) rendered for ``interval``."""
    return {key: render_interval_uri(value, interval) if key in TEMPLATE_FIELDS and is_templated(value) else value
            for key, value in request.items()}


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
