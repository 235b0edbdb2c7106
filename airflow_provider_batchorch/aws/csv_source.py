"""Read a CSV from S3 as a stream (analysis never downloads it whole) and upload local files."""

from __future__ import annotations

from pathlib import Path

from botocore.exceptions import ClientError

from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.core.csv.profile import analyze_csv
from airflow_provider_batchorch.core.errors import CsvNotFoundError
from airflow_provider_batchorch.core.models import CsvProfile


def analyze_s3_csv(s3, uri: str, *, chunk_rows: int = 100, encoding: str | None = None) -> CsvProfile:
    bucket, key = parse_s3_uri(uri)
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in ("NoSuchKey", "NoSuchBucket", "404", "AccessDenied", "403"):
            raise CsvNotFoundError(
                f"cannot read {uri} ({code}).", hint="Check the bucket and key, and that the AWS connection may read it."
            ) from exc
        raise
    with obj["Body"] as body:
        return analyze_csv(body, uri=uri, size_bytes=obj["ContentLength"], chunk_rows=chunk_rows, encoding=encoding)


def read_range(s3, uri: str, start: int, end: int) -> bytes:
    """Bytes ``[start, end)`` of an object."""
    if end <= start:
        return b""
    bucket, key = parse_s3_uri(uri)
    return s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")["Body"].read()


def upload_file(s3, path: str | Path, uri: str) -> str:
    bucket, key = parse_s3_uri(uri)
    s3.upload_file(str(path), bucket, key)
    return uri
