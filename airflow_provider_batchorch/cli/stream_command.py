"""``batchorch stream-worker``: answer a stream's rows (aws/stream_worker.py) until its stop marker or SIGTERM.

Either ``--config s3://.../stream.json`` (staged by the ``batch_stream`` DAG) or ``--agent NAME`` and the row
settings, which validates them against the agent, creates the stream's queues and ledger table if missing and
stages the config itself (for a stream run without Airflow).
"""

from __future__ import annotations

import argparse
import json
import logging
import os

log = logging.getLogger(__name__)


def add_stream_worker_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from airflow_provider_batchorch.core.stream.config import StreamPlaces, StreamRequest

    places, request = StreamPlaces.model_fields, StreamRequest.model_fields
    worker = commands.add_parser("stream-worker", help="answer a stream's rows from SQS until stopped (batch_stream)")
    source = worker.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="the stream's s3://.../stream.json, as batch_stream staged it")
    source.add_argument("--agent", help="start the stream here: " + request["agent"].description)
    worker.add_argument("--columns", help="comma-separated: " + request["columns"].description)
    worker.add_argument("--input-mapping", type=json.loads, help="JSON: " + request["input_mapping"].description)
    worker.add_argument("--output-fields", help="comma-separated: " + request["output_fields"].description)
    for name in ("concurrency", "timeout_seconds", "part_rows", "part_seconds"):
        field = request[name]
        worker.add_argument("--" + name.replace("_", "-"), type=field.annotation, default=field.default,
                            help=f"{field.description} (default {field.default})")
    worker.add_argument("--registry", help="a YAML/JSON registry file you trust, for --agent")
    for name in ("stream_id", "source_queue", "destination_queue", "ledger_table", "output_uri", "visibility_seconds"):
        field = places[name]
        worker.add_argument("--" + name.replace("_", "-"), type=field.annotation, default=field.default,
                            help=f"with --agent: {field.description} (default {field.default})")
    worker.add_argument("--idle-exit-seconds", type=float, help="exit after this long without rows")
    worker.add_argument("--processes", type=int, default=1, help="stream worker processes on this host (default 1)")
    return worker


def cmd_stream_worker(args: argparse.Namespace) -> int:
    from airflow_provider_batchorch.aws import worker_processes
    from airflow_provider_batchorch.aws.stream_resources import load_stream_config, stream_queues
    from airflow_provider_batchorch.aws.stream_worker import run_stream_worker
    from airflow_provider_batchorch.aws.worker import worker_clients
    from airflow_provider_batchorch.core.errors import InvalidConfError

    if args.processes < 1:
        raise InvalidConfError(f"--processes must be at least 1 (got {args.processes}).", hint="Give --processes 1 or more.")
    clients = worker_clients(endpoint_url=args.endpoint_url, region=args.region)
    s3, sqs, ddb = clients["s3"], clients["sqs"], clients["ddb"]
    if args.agent:
        config, queues = _start_here(args, s3, sqs, ddb)
    else:
        config = load_stream_config(s3, args.config)
        queues = stream_queues(sqs, config.places)
    copies = worker_processes.start_worker_copies(["stream-worker", "--config", config.config_uri,
                                                   *_aws_flags(args)], args.processes - 1)
    log.info("stream worker polling %s (stream %s, config %s)", queues.source_url, config.stream_id, config.config_uri)
    try:
        stats = run_stream_worker(s3=s3, sqs=sqs, ddb=ddb, config=config, queues=queues,
                                  idle_exit_seconds=args.idle_exit_seconds)
    finally:
        worker_processes.stop_worker_copies(copies)
    log.info("stream worker stopped: %d rows answered (%d failed), %d parts, latency p50 %.0f ms p95 %.0f ms",
             stats.rows_answered, stats.rows_failed, stats.parts_written, stats.latency_p50_ms, stats.latency_p95_ms)
    logging.shutdown()
    os._exit(0)  # an agent thread past its row timeout would keep the process alive (as `batchorch worker`)


def _aws_flags(args: argparse.Namespace) -> list[str]:
    return [*(["--endpoint-url", args.endpoint_url] if args.endpoint_url else []), "--region", args.region]


def _start_here(args: argparse.Namespace, s3, sqs, ddb):
    from airflow_provider_batchorch.agents.registry_loader import assemble_registry
    from airflow_provider_batchorch.aws.stream_resources import start_stream
    from airflow_provider_batchorch.core.registry_trust import RegistryTrust
    from airflow_provider_batchorch.core.stream.config import StreamPlaces, StreamRequest

    request = StreamRequest(agent=args.agent, columns=_names(args.columns), input_mapping=args.input_mapping,
                            output_fields=_names(args.output_fields), concurrency=args.concurrency,
                            timeout_seconds=args.timeout_seconds, part_rows=args.part_rows,
                            part_seconds=args.part_seconds)
    places = StreamPlaces(stream_id=args.stream_id, source_queue=args.source_queue,
                          destination_queue=args.destination_queue, ledger_table=args.ledger_table,
                          output_uri=args.output_uri, visibility_seconds=args.visibility_seconds)
    registry = assemble_registry(trust=RegistryTrust.from_env(registry_files=[args.registry]))
    return start_stream(s3, sqs, ddb, request, places, registry)


def _names(text: str | None) -> list[str] | None:
    return [name.strip() for name in text.split(",") if name.strip()] if text else None
