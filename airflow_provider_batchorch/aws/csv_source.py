"""Read a CSV from S3 as a stream (analysis never downloads it whole), open local ones, and upload local files.

A CSV that cannot be read -- no such key or bucket, no permission, a local path that is a directory or cannot be
opened -- is a ``CsvNotFoundError`` (``CSV_NOT_FOUND``): one line for the user, never a traceback."""

from __future__ import annotations

import io
from pathlib import Path

from botocore.exceptions import ClientError, EndpointConnectionError

from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.core.csv.profile import analyze_csv
from airflow_provider_batchorch.core.errors import CsvNotFoundError
from airflow_provider_batchorch.core.models import CsvProfile


_UNREADABLE_CODES = ("NoSuchKey", "NoSuchBucket", "404", "NotFound", "AccessDenied", "403", "Forbidden")


def _not_readable(uri: str, exc: ClientError) -> CsvNotFoundError | None:
    code = exc.response.get("Error", {}).get("Code", "")
    if code not in _UNREADABLE_CODES:
        return None
    what = {"NoSuchBucket": "the bucket does not exist", "AccessDenied": "access denied", "403": "access denied",
            "Forbidden": "access denied"}.get(code, "no such object")
    return CsvNotFoundError(f"cannot read {uri}: {what} ({code}).",
                            hint="Check the bucket and key, and that the AWS connection may read it.")


def check_s3_csv(s3, uri: str) -> int:
    """The size of the CSV object at ``uri``; ``CsvNotFoundError`` when it cannot be read (a HEAD: nothing is
    downloaded)."""
    bucket, key = parse_s3_uri(uri)
    try:
        return int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NotFound"):  # a HEAD has no body: which is missing?
            raise _missing_object_or_bucket(s3, uri, bucket) from None
        error = _not_readable(uri, exc)
        if error is None:
            raise
        raise error from None
    except EndpointConnectionError as exc:
        raise CsvNotFoundError(f"cannot read {uri}: {exc}.", hint="Check the AWS endpoint and network.") from None


def _missing_object_or_bucket(s3, uri: str, bucket: str) -> CsvNotFoundError:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        return CsvNotFoundError(f"cannot read {uri}: the bucket {bucket} does not exist (NoSuchBucket).",
                                hint="Check the bucket name, and that the AWS connection may read it.")
    return CsvNotFoundError(f"cannot read {uri}: no such object (NoSuchKey).",
                            hint="Check the key (the path after the bucket name).")


def open_local_csv(path: str | Path):
    """A local CSV opened for reading (binary); ``CsvNotFoundError`` when it is missing, a directory or cannot be
    opened (permission denied, ...)."""
    file = Path(path).expanduser()
    if file.is_dir():
        raise CsvNotFoundError(f"{file} is a directory, not a CSV file.", hint="Give the path of a CSV file.")
    if not file.exists():
        raise CsvNotFoundError(f"no such file: {file}", hint="Give a path to a CSV file or an s3:// URI.")
    try:
        return file.open("rb")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CsvNotFoundError(f"cannot open {file}: {reason}.",
                               hint="Check the file's permissions (the user running batchorch must read it).") from None


def analyze_local_csv(path: str | Path, *, chunk_rows: int = 100, encoding: str | None = None) -> CsvProfile:
    """The profile of a local CSV; ``CsvNotFoundError`` when it cannot be opened (see ``open_local_csv``)."""
    file = Path(path).expanduser()
    with open_local_csv(file) as stream:
        return analyze_csv(stream, uri=str(file), size_bytes=file.stat().st_size, chunk_rows=chunk_rows,
                           encoding=encoding)


def _get_csv_object(s3, uri: str, **get_object_args) -> dict:
    """``s3.get_object`` of the CSV at ``uri``; ``CsvNotFoundError`` when it cannot be read (see ``_not_readable``)."""
    bucket, key = parse_s3_uri(uri)
    try:
        return s3.get_object(Bucket=bucket, Key=key, **get_object_args)
    except ClientError as exc:
        error = _not_readable(uri, exc)
        if error is None:
            raise
        raise error from None


def analyze_s3_csv(s3, uri: str, *, chunk_rows: int = 100, encoding: str | None = None) -> CsvProfile:
    obj = _get_csv_object(s3, uri)
    with obj["Body"] as body:
        return analyze_csv(body, uri=uri, size_bytes=obj["ContentLength"], chunk_rows=chunk_rows, encoding=encoding)


HEAD_BYTES = 64 << 10


def analyze_s3_csv_head(s3, uri: str, *, max_bytes: int = HEAD_BYTES, encoding: str | None = None) -> CsvProfile:
    """The profile of the first rows of an S3 CSV: one ranged read of at most ``max_bytes``, cut after its last
    whole line, so the columns, types and sample come without reading the file (row count and chunks describe
    only that head). ``CsvNotFoundError`` when it cannot be read, ``CsvError`` when the head is no usable CSV."""
    obj = _get_csv_object(s3, uri, Range=f"bytes=0-{max_bytes - 1}")
    with obj["Body"] as body:
        head = body.read(max_bytes)
    if len(head) >= max_bytes and (last_line_end := head.rfind(b"\n")) > 0:
        head = head[: last_line_end + 1]
    return analyze_csv(io.BytesIO(head), uri=uri, encoding=encoding)


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
