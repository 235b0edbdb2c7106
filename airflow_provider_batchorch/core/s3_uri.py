"""``s3://bucket/key`` parsing, in one place (plain Python): every layer imports it from here."""

from __future__ import annotations

from airflow_provider_batchorch.core.errors import InvalidConfError


def parse_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise InvalidConfError(f"{uri!r} is not an S3 URI.", hint="Use s3://bucket/key.")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise InvalidConfError(f"{uri!r} names no bucket.", hint="Use s3://bucket/key.")
    return bucket, key


def to_s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key.lstrip('/')}"


def join_uri(prefix_uri: str, *parts: str) -> str:
    return "/".join([prefix_uri.rstrip("/"), *(p.strip("/") for p in parts)])
