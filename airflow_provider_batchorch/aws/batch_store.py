"""Where a batch lives in S3: ``s3://bucket/batchorch/runs/<batch_id>/`` holds profile, config, manifest, parts."""

from __future__ import annotations

import json

from airflow_provider_batchorch.core.s3_uri import join_uri, parse_s3_uri, to_s3_uri
from airflow_provider_batchorch.core.models import BatchConfig, BatchSummary, ChunkSpec, ChunkSummary, CsvProfile
from airflow_provider_batchorch.core.output_location import RUNS_KEY_PREFIX


def batch_prefix(bucket: str, batch_id: str) -> str:
    return to_s3_uri(bucket, f"{RUNS_KEY_PREFIX}{batch_id}/")


def part_uri(config: BatchConfig, chunk: int) -> str:
    return join_uri(config.prefix_uri, f"parts/chunk-{chunk:06d}.csv")


def chunk_summary_uri(config: BatchConfig, chunk: int) -> str:
    return join_uri(config.prefix_uri, f"parts/chunk-{chunk:06d}.json")


def chunk_error_uri(prefix_uri: str, chunk: int) -> str:
    """Why a chunk could not be processed: the results step reports it if the chunk has no part."""
    return join_uri(prefix_uri, f"parts/chunk-{chunk:06d}.error.txt")


def put_bytes(s3, uri: str, body: bytes, content_type: str = "application/json") -> str:
    bucket, key = parse_s3_uri(uri)
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    return uri


def get_bytes(s3, uri: str) -> bytes:
    bucket, key = parse_s3_uri(uri)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def save_profile(s3, profile: CsvProfile, prefix_uri: str) -> str:
    return put_bytes(s3, join_uri(prefix_uri, "profile.json"), profile.model_dump_json().encode())


def load_profile(s3, uri: str) -> CsvProfile:
    return CsvProfile.model_validate_json(get_bytes(s3, uri))


def stage_batch(s3, config: BatchConfig, chunks: list[ChunkSpec]) -> str:
    """Write ``config.json`` and the chunk manifest the Distributed Map reads; returns the manifest URI."""
    put_bytes(s3, join_uri(config.prefix_uri, "config.json"), config.model_dump_json().encode())
    manifest = json.dumps([chunk.model_dump() for chunk in chunks], separators=(",", ":")).encode()
    return put_bytes(s3, join_uri(config.prefix_uri, "manifest.json"), manifest)


def load_config(s3, prefix_uri: str) -> BatchConfig:
    return BatchConfig.model_validate_json(get_bytes(s3, join_uri(prefix_uri, "config.json")))


def save_chunk_summary(s3, config: BatchConfig, summary: ChunkSummary) -> str:
    return put_bytes(s3, chunk_summary_uri(config, summary.chunk), summary.model_dump_json().encode())


def save_summary(s3, config: BatchConfig, summary: BatchSummary) -> str:
    return put_bytes(s3, join_uri(config.prefix_uri, "summary.json"), summary.model_dump_json(indent=2).encode())


def load_summary(s3, prefix_uri: str) -> BatchSummary:
    return BatchSummary.model_validate_json(get_bytes(s3, join_uri(prefix_uri, "summary.json")))
