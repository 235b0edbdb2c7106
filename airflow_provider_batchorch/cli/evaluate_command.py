"""``batchorch evaluate --agent A --golden golden.csv``: the golden-sample gate alone, printing the per-field report.

The agent (its cascade included) answers every row of the labelled CSV (a local path, or ``s3://`` through the
default AWS credentials and ``BATCHORCH_AWS_ENDPOINT_URL``); each labelled field is scored (core/golden_gate/).
Exit 0 when every field reaches ``--min-accuracy``, 1 when one does not; ``--json`` prints the report as one line.
``--registry`` is a file you trust, as for ``batchorch run``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from airflow_provider_batchorch.core.golden_gate.evaluate import DEFAULT_MIN_ACCURACY


def add_evaluate_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    evaluate = commands.add_parser("evaluate", help="score an agent on a labelled CSV (the golden-sample gate alone)")
    evaluate.add_argument("--agent", required=True, help="the agent, by registry name")
    evaluate.add_argument("--golden", required=True, help="the labelled CSV: a local path or s3://bucket/key.csv")
    evaluate.add_argument("--registry", help="a YAML/JSON registry file you trust, adding agents")
    evaluate.add_argument("--mapping", action="append", default=[], metavar="FIELD=COLUMN",
                          help="agent input field=CSV column (repeat); wins over matching by name and synonyms")
    evaluate.add_argument("--output-field", action="append", default=[], dest="output_fields", metavar="FIELD",
                          help="score only these output fields (repeat); default every labelled one")
    evaluate.add_argument("--min-accuracy", type=float, default=DEFAULT_MIN_ACCURACY,
                          help=f"share of labelled rows each field must get right, 0-1 (default {DEFAULT_MIN_ACCURACY})")
    evaluate.add_argument("--concurrency", type=int, default=10, help="agent calls in flight (default 10)")
    evaluate.add_argument("--timeout-seconds", type=float, default=60.0, help="per row (default 60)")
    evaluate.add_argument("--json", action="store_true", help="print the report as one JSON line")
    return evaluate


def _golden_text(source: str) -> str:
    if source.startswith("s3://"):
        import boto3

        from airflow_provider_batchorch.aws.s3_text import s3_object_text

        return s3_object_text(boto3.client("s3", endpoint_url=os.environ.get("BATCHORCH_AWS_ENDPOINT_URL")), source)
    return Path(source).expanduser().read_text(encoding="utf-8-sig")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from airflow_provider_batchorch.agents.golden_evaluation import evaluate_agent
    from airflow_provider_batchorch.agents.registry_loader import assemble_registry
    from airflow_provider_batchorch.cli.run_flags import _mapping
    from airflow_provider_batchorch.core.golden_gate.report import report_text
    from airflow_provider_batchorch.core.registry_trust import RegistryTrust

    registry = assemble_registry(trust=RegistryTrust.from_env(registry_files=[args.registry]))  # your --registry
    spec = registry.validate(args.agent)
    report = evaluate_agent(spec, _golden_text(args.golden), source=args.golden, input_mapping=_mapping(args.mapping),
                            fields=args.output_fields or None, min_accuracy=args.min_accuracy,
                            timeout_seconds=args.timeout_seconds, concurrency=args.concurrency)
    if args.json:
        print(report.model_dump_json())
    else:
        print(report_text(report))
    return 0 if report.passed else 1
