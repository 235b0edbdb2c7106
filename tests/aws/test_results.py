"""write_output_csv: parts fetched ahead in parallel still come out whole and in chunk order."""

import boto3
import pytest
from moto import mock_aws

from airflow_provider_batchorch.aws import results
from airflow_provider_batchorch.aws.batch_store import get_bytes, part_uri
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.core.models import BatchConfig
from tests.support import agents


def _config(chunk_count: int) -> BatchConfig:
    return BatchConfig(
        batch_id="b", csv_uri="s3://bucket/in.csv", encoding="utf-8", delimiter=",", columns=["id", "text"],
        agent=agents.spec(), input_mapping={"text": "text"}, output_fields=["upper", "length"], concurrency=1,
        chunk_concurrency=1, row_concurrency=1, timeout_seconds=1, total_rows=chunk_count, chunk_count=chunk_count,
        prefix_uri="s3://bucket/runs/b/", output_uri="s3://bucket/runs/b/output/out.csv",
    )


@pytest.mark.parametrize("prefetch_max_bytes", [results.PREFETCH_MAX_BYTES, 0])  # held whole, or streamed
@mock_aws
def test_many_parts_come_out_in_order(monkeypatch, prefetch_max_bytes):
    monkeypatch.setattr(results, "PREFETCH_MAX_BYTES", prefetch_max_bytes)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="bucket")
    config = _config(chunk_count=3 * results.PART_READERS + 5)
    expected = [b"id,text,upper,length," + ",".join(config.output_columns[4:]).encode() + b"\n"]
    for chunk in range(config.chunk_count):
        bucket, key = parse_s3_uri(part_uri(config, chunk))
        body = f'{chunk},"t, {chunk}\nline",T,{chunk},SUCCEEDED,,,a,1,0,x\n'.encode()
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        expected.append(body)
    results.write_output_csv(s3, config)
    assert get_bytes(s3, config.output_uri) == b"".join(expected)
