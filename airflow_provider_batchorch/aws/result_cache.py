"""The store behind incremental processing: agent outputs kept across batches, by input hash; in cost mode the
batch job's answers in front of it."""

from __future__ import annotations

from airflow_provider_batchorch.core.batch_api.models import answers_uri
from airflow_provider_batchorch.core.models import BatchConfig
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.core.result_cache import (
    LocalDirResultCache,
    ResultCache,
    S3ResultCache,
    SeededResultCache,
)


def open_result_cache(s3, state_uri: str | None) -> ResultCache | None:
    """``s3://bucket/prefix/`` in production, a local folder on the embedded default, None for no reuse."""
    if not state_uri:
        return None
    if state_uri.startswith("s3://"):
        bucket, prefix = parse_s3_uri(state_uri)
        return S3ResultCache(s3, bucket, prefix or "batchorch/state")
    return LocalDirResultCache(state_uri.removeprefix("file://"))


def open_batch_answers(s3, config: BatchConfig) -> S3ResultCache:
    """The batch job's answers (cost mode), next to the batch's files."""
    bucket, prefix = parse_s3_uri(answers_uri(config.prefix_uri))
    return S3ResultCache(s3, bucket, prefix)


def open_batch_store(s3, config: BatchConfig) -> ResultCache | None:
    """What the workers read before calling the agent: the batch job's answers when the batch is in cost mode,
    then the incremental store (``state_uri``)."""
    store = open_result_cache(s3, config.state_uri)
    if config.execution_mode != "batch_api":
        return store
    return SeededResultCache(open_batch_answers(s3, config), store)
