"""``s3://bucket/key`` parsing: it lives in ``core.s3_uri`` (plain Python); the AWS side imports it from here."""

from __future__ import annotations

from airflow_provider_batchorch.core.s3_uri import join_uri, parse_s3_uri, to_s3_uri

__all__ = ["join_uri", "parse_s3_uri", "to_s3_uri"]
