"""Describe the CSVs S3 reported (``head_object``): their ``LastModified`` and ``ETag`` order and name their runs."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from botocore.exceptions import ClientError

from airflow_provider_batchorch.core.new_csv_runs import LandedCsv, order_landed
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri

log = logging.getLogger(__name__)


def describe_landed_csvs(s3, uris: Iterable[str]) -> list[LandedCsv]:
    """Each URI with its object's LastModified and ETag, oldest first (then by URI). An object that is gone
    or cannot be read keeps no date (it sorts last; its run reports the error)."""
    csvs = []
    for uri in dict.fromkeys(uris):
        bucket, key = parse_s3_uri(uri)
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            log.warning("Cannot describe the new CSV %s: %s", uri, exc)
            csvs.append(LandedCsv(uri=uri))
            continue
        csvs.append(LandedCsv(uri=uri, last_modified=head["LastModified"], etag=head.get("ETag", "").strip('"') or None))
    return order_landed(csvs)
