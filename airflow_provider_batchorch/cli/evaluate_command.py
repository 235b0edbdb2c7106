"""``batchorch evaluate --agent A --golden golden.csv``: the golden-sample gate alone, printing the per-field report.

The agent (its cascade included) answers every row of the labelled CSV (a local path, or ``s3://`` through the
default AWS credentials and ``BATCHORCH_AWS_ENDPOINT_URL``); each labelled field is scored (core/golden_gate/).
``batchorch evaluate --agent A --judge J --rows N --csv input.csv`` instead: the agent answers the first N rows of
the input and the judge agent J (built-in or from your --registry) scores each answer (core/golden_gate/judge.py).
Exit 0 when every field reaches ``--min-accuracy``, 1 when one does not; ``--json`` prints the report as one line.
``--registry`` is a file you trust, as for ``batchorch run``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from airflow_provider_batchorch.core.golden_gate.evaluate import DEFAULT_MIN_ACCURACY
from airflow_provider_batchorch.core.models import GOLDEN_JUDGE_MAX_ROWS


def add_evaluate_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    evaluate = commands.add_parser("evaluate", help="score an agent on a labelled CSV (the golden-sample gate alone)")
    evaluate.add_argument("--agent", required=True, help="the agent, by registry name")
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--golden", help="the labelled CSV: a local path or s3://bucket/key.csv")
    source.add_argument("--judge", help="instead of labels: the agent that judges the answers on --csv's first rows")
    evaluate.add_argument("--csv", help="with --judge: the input CSV, a local path or s3://bucket/key.csv")
    evaluate.add_argument("--rows", type=int, default=20,
                          help=f"with --judge: how many first rows, 1-{GOLDEN_JUDGE_MAX_ROWS} (default 20)")
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


def _s3():
    import boto3

    return boto3.client("s3", endpoint_url=os.environ.get("BATCHORCH_AWS_ENDPOINT_URL"))


def _golden_text(source: str) -> str:
    if source.startswith("s3://"):
        from airflow_provider_batchorch.aws.s3_text import s3_object_text

        return s3_object_text(_s3(), source)
    return Path(source).expanduser().read_text(encoding="utf-8-sig")


@contextlib.contextmanager
def _csv_lines(source: str) -> Iterator[TextIO]:
    if source.startswith("s3://"):
        from airflow_provider_batchorch.aws.s3_text import s3_text_reader

        with s3_text_reader(_s3(), source) as lines:
            yield lines
    else:
        with Path(source).expanduser().open(encoding="utf-8-sig", newline="") as lines:
            yield lines


def _judged_report(args: argparse.Namespace, registry, spec, mapping):
    from airflow_provider_batchorch.agents.golden_evaluation import judge_agent
    from airflow_provider_batchorch.core.golden_gate.judge import read_judge_sample

    if not args.csv:
        raise SystemExit("batchorch evaluate: --judge needs --csv (the input whose first --rows rows are judged)")
    if not 1 <= args.rows <= GOLDEN_JUDGE_MAX_ROWS:
        raise SystemExit(f"batchorch evaluate: --rows must be from 1 to {GOLDEN_JUDGE_MAX_ROWS}")
    judge = registry.validate(args.judge)
    with _csv_lines(args.csv) as lines:
        sample = read_judge_sample(lines, spec, args.rows, source=f"first {args.rows} rows of {args.csv}",
                                   input_mapping=mapping)
    return judge_agent(spec, judge, sample, fields=args.output_fields or None, min_accuracy=args.min_accuracy,
                       timeout_seconds=args.timeout_seconds, concurrency=args.concurrency)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from airflow_provider_batchorch.agents.golden_evaluation import evaluate_agent
    from airflow_provider_batchorch.agents.registry_loader import assemble_registry
    from airflow_provider_batchorch.cli.run_flags import _mapping
    from airflow_provider_batchorch.core.golden_gate.report import report_text
    from airflow_provider_batchorch.core.registry_trust import RegistryTrust

    registry = assemble_registry(trust=RegistryTrust.from_env(registry_files=[args.registry]))  # your --registry
    spec = registry.validate(args.agent)
    if args.judge:
        report = _judged_report(args, registry, spec, _mapping(args.mapping))
    else:
        report = evaluate_agent(spec, _golden_text(args.golden), source=args.golden,
                                input_mapping=_mapping(args.mapping), fields=args.output_fields or None,
                                min_accuracy=args.min_accuracy, timeout_seconds=args.timeout_seconds,
                                concurrency=args.concurrency)
    if args.json:
        print(report.model_dump_json())
    else:
        print(report_text(report))
    return 0 if report.passed else 1
