"""One batch run per CSV that landed: which CSVs a run's triggering asset events name, in which order, under which
run id.

Several CSVs that land together (one S3 event each, folded by Airflow into one asset-triggered run) each get their
own run of the per-CSV DAG. Order: oldest first by the object's ``LastModified``, then by URI. The run id is derived
from the object (URI, ``LastModified``, ``ETag``), so a CSV detected twice (the event redelivered, the watcher
restarted) names the same run and Airflow starts it once; a new version of the same key is a new run.

A fixed ``output_uri`` in the request (the defaults, a Variable) names one object; with several CSVs each run
writes its own instead (``per_csv_output_uri``): ``out/result.csv`` becomes ``out/result__<CSV stem>.csv``, with
the run id's digest added when two CSVs share a stem. One CSV keeps the ``output_uri`` as given.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, Field

from airflow_provider_batchorch.core.s3_events import csv_uris_from_sqs_messages

_NOT_IN_RUN_ID = re.compile(r"[^A-Za-z0-9_.~:+-]+")
RUN_ID_PREFIX = "new_csv__"


class LandedCsv(BaseModel):
    """A CSV S3 reported, as the trigger described it (``head_object``)."""

    uri: str = Field(description="s3://bucket/key")
    last_modified: datetime | None = Field(None, description="The object's LastModified (None: not known)")
    etag: str | None = Field(None, description="The object's ETag (None: not known)")

    @property
    def sort_key(self) -> tuple[datetime, str]:
        return (self.last_modified or datetime.max.replace(tzinfo=timezone.utc), self.uri)


class CsvRun(BaseModel):
    """The keyword arguments of one ``TriggerDagRunOperator`` mapped task: the run of one CSV."""

    trigger_run_id: str
    conf: dict[str, Any]
    run_after: datetime = Field(description="The scheduler starts queued runs in this order (oldest CSV first)")


def order_landed(csvs: Iterable[LandedCsv]) -> list[LandedCsv]:
    """Each object once, oldest first by LastModified, then by URI."""
    unique = {(csv.uri, csv.last_modified, csv.etag): csv for csv in csvs}
    return sorted(unique.values(), key=lambda csv: csv.sort_key)


def csv_run_id(csv: LandedCsv) -> str:
    """``new_csv__<file name>__<digest>``: the same for the same object, another for another key or version."""
    identity = f"{csv.uri}|{csv.last_modified.isoformat() if csv.last_modified else ''}|{csv.etag or ''}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    name = _NOT_IN_RUN_ID.sub("-", csv.uri.rsplit("/", 1)[-1]).strip("-")[:60] or "csv"
    return f"{RUN_ID_PREFIX}{name}__{digest}"


def landed_csvs_from_asset_events(events: Iterable[tuple[datetime, Mapping[str, Any] | None]]) -> list[LandedCsv]:
    """The CSVs named by asset events (``(timestamp, extra)`` pairs): our ``NewCsvTrigger``'s ``csvs``, else its
    ``csv_uris`` or the Amazon provider's ``SqsSensorTrigger`` ``message_batch`` (the event time stands in for
    LastModified)."""
    csvs: list[LandedCsv] = []
    for timestamp, extra in events:
        payload = (extra or {}).get("payload") or {}
        if payload.get("csvs"):
            csvs += [LandedCsv.model_validate(item) for item in payload["csvs"]]
            continue
        uris = payload.get("csv_uris") or csv_uris_from_sqs_messages(payload.get("message_batch") or [])
        csvs += [LandedCsv(uri=uri, last_modified=timestamp) for uri in uris]
    return order_landed(csvs)


def per_csv_output_uri(output_uri: str, csv: LandedCsv, *, unique_stem: bool = True) -> str:
    """``output_uri`` with the CSV's file stem before its extension (and the run id's digest unless the stem is
    unique among the planned CSVs), so that runs of several CSVs never write one output."""
    folder, _, name = output_uri.rpartition("/")
    base, dot, extension = name.rpartition(".") if "." in name else (name, "", "")
    stem = _file_name(csv.uri)
    stem = stem[:-4] if stem.lower().endswith(".csv") else stem
    suffix = stem if unique_stem else f"{stem}__{csv_run_id(csv).rsplit('__', 1)[-1]}"
    return f"{folder}/{base}__{suffix}{dot}{extension}"


def plan_csv_runs(csvs: Iterable[LandedCsv], request: Mapping[str, Any], *,
                  now: datetime | None = None) -> list[CsvRun]:
    """One run per CSV, oldest first: ``request`` with the CSV's ``csv_uri``. ``run_after`` is the CSV's
    LastModified (a microsecond apart when two are equal, so the order holds), never later than ``now``. With
    several CSVs a fixed ``output_uri`` becomes one per CSV (``per_csv_output_uri``)."""
    now = now or datetime.now(timezone.utc)
    runs: list[CsvRun] = []
    previous: datetime | None = None
    ordered = order_landed(csvs)
    output_uri = request.get("output_uri") if len(ordered) > 1 else None
    names = Counter(_file_name(csv.uri).lower() for csv in ordered)
    for csv in ordered:
        after = min(csv.last_modified or now, now)
        if previous is not None and after <= previous:
            after = previous + timedelta(microseconds=1)
        previous = after
        conf = {**request, "csv_uri": csv.uri}
        if output_uri:
            unique = names[_file_name(csv.uri).lower()] == 1
            conf["output_uri"] = per_csv_output_uri(output_uri, csv, unique_stem=unique)
        runs.append(CsvRun(trigger_run_id=csv_run_id(csv), conf=conf, run_after=after))
    return runs


def _file_name(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]
