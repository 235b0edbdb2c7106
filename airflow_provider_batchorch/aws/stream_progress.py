"""A stream's figures as its monitor reads them: the workers' progress records and the source queue's depth."""

from __future__ import annotations

import time

from airflow_provider_batchorch.aws.stream_ledger import StreamLedger
from airflow_provider_batchorch.aws.stream_resources import queue_depth, stop_requested
from airflow_provider_batchorch.core.stream.config import StreamConfig
from airflow_provider_batchorch.core.stream.stats import StreamStats, combine


def read_stream_stats(s3, sqs, ddb, config: StreamConfig) -> tuple[StreamStats, bool]:
    """(the stream's figures, whether its stop marker is there)."""
    places = config.places
    waiting, in_flight = queue_depth(sqs, sqs.get_queue_url(QueueName=places.source_queue)["QueueUrl"])
    workers = StreamLedger(ddb, places.ledger_table, config.stream_id).worker_stats()
    stats = combine(config.stream_id, workers, backlog=waiting, in_flight=in_flight, now=time.time())
    return stats, stop_requested(s3, config)
