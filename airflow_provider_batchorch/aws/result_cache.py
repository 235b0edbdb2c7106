"""The store behind incremental processing: agent outputs kept across batches, by input hash."""

from __future__ import annotations

from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.core.result_cache import LocalDirResultCache, ResultCache, S3ResultCache


def open_result_cache(s3, state_uri: str | None) -> ResultCache | None:
    """``s3://bucket/prefix/`` in production, a local folder on the embedded default, None for no reuse."""
    if not state_uri:
        return None
    if state_uri.startswith("s3://"):
        bucket, prefix = parse_s3_uri(state_uri)
        return S3ResultCache(s3, bucket, prefix or "batchorch/state")
    return LocalDirResultCache(state_uri.removeprefix("file://"))
