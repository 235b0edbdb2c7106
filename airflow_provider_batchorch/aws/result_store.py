"""The store behind incremental processing: agent outputs kept across batches, by input hash."""

from __future__ import annotations

from airflow_provider_batchorch.aws.s3_uri import parse_s3_uri
from airflow_provider_batchorch.core.agent_cache import LocalDirResultCache, ResultStore, S3ResultCache


def result_store(s3, state_uri: str | None) -> ResultStore | None:
    """``s3://bucket/prefix/`` in production, a local folder on the embedded default, None for no reuse."""
    if not state_uri:
        return None
    if state_uri.startswith("s3://"):
        bucket, prefix = parse_s3_uri(state_uri)
        return S3ResultCache(s3, bucket, prefix or "batchorch/state")
    return LocalDirResultCache(state_uri.removeprefix("file://"))
