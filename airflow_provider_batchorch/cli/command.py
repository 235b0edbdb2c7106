"""``batchorch``: run a batch, analyse a CSV, run a worker, deploy the processor.

Logs go to stderr; ``--json`` prints exactly one JSON line on stdout. A refused input exits 2 with one line
``error: CODE: message. what to do``; a run that fails for another reason exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path

from pydantic import ValidationError

from airflow_provider_batchorch.cli.evaluate_command import add_evaluate_parser, cmd_evaluate
from airflow_provider_batchorch.cli.run_flags import add_run_setting_flags, request_from_flags
from airflow_provider_batchorch.cli.schedules import add_schedules_parser, cmd_schedules
from airflow_provider_batchorch.cli.stream_command import add_stream_worker_parser, cmd_stream_worker
from airflow_provider_batchorch.core.errors import BatchorchError, InvalidConfError, invalid_conf
from airflow_provider_batchorch.local.stack import add_local_parser, cmd_local

EXIT_REFUSED = 2
EXIT_FAILED = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="batchorch", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run an agent over every row of a CSV (the batch_orchestrator DAG)")
    add_run_setting_flags(run)  # one flag per BatchRequest field: --csv, --agent, --concurrency, ...
    run.add_argument("--retry-failed", metavar="OUTPUT.csv",
                     help="instead of --csv: rerun the failed rows of a previous local output CSV and merge them "
                     "back (--output: the merged CSV, default OUTPUT_retried.csv)")
    run.add_argument("--workers", type=int, default=None,
                     help="local worker processes on the embedded default (at least 1, default: one per core, at most 8)")
    run.add_argument("--output", help="download the output CSV to this path")
    run.add_argument("--json", action="store_true", help="print the summary as one JSON line on stdout")

    analyze = commands.add_parser("analyze", help="profile a local CSV: columns, types, rows, chunks")
    analyze.add_argument("--csv", required=True)
    analyze.add_argument("--chunk-rows", type=int, default=100)
    analyze.add_argument("--encoding")
    analyze.add_argument("--json", action="store_true")

    worker = commands.add_parser("worker", help="process chunk tasks from the processor's queue until stopped")
    _aws_arguments(worker)
    worker.add_argument("--queue", default="batchorch-chunks")
    worker.add_argument("--progress-table", default="batchorch-progress")
    worker.add_argument("--max-chunks", type=int, default=32, help="chunks processed at once by this worker")
    worker.add_argument("--idle-exit-seconds", type=float, help="exit after this long without work")
    worker.add_argument("--processes", type=int, default=None,
                        help="worker processes on this host (default: one per core)")
    _aws_arguments(add_stream_worker_parser(commands))  # batchorch stream-worker (cli/stream_command.py)

    registry = commands.add_parser("registry", help="agents: built-in, a registry file, the AgentRegistry table")
    registry.add_argument("action", choices=["list", "show", "put", "import"])
    registry.add_argument("name", nargs="?", help="agent name (show), or the YAML/JSON registry file (import)")
    registry.add_argument("--file", help="a YAML/JSON registry file: merged for list/show, uploaded by put")
    registry.add_argument("--table", default=os.environ.get("BATCHORCH_REGISTRY_TABLE") or None,
                          help="the DynamoDB AgentRegistry table (list/show include it; put and import write it); "
                          "default BATCHORCH_REGISTRY_TABLE (import: else AgentRegistry)")
    _aws_arguments(registry)

    commands.add_parser("mcp", help="MCP server (stdio) with the orchestrator's tools, under the chat RequestPolicy "
                        "(BATCHORCH_CHAT_*); BATCHORCH_MCP_LAUNCHER=embedded (default) or airflow-api")
    request = commands.add_parser("request", help="dry run of a chat request: print the run conf it would trigger")
    request.add_argument("text", help='e.g. "enrich s3://my-data/companies.csv with industry, 25 parallel workers"')
    request.add_argument("--allowed-bucket", action="append", default=[], dest="allowed_buckets",
                         help="a bucket requests may use (repeat); default BATCHORCH_CHAT_ALLOWED_BUCKETS, else any")
    request.add_argument("--default-bucket", help="where a bare file name (companies.csv) is looked for")
    request.add_argument("--max-concurrency", type=int, help="cap on concurrency (default 50)")
    request.add_argument("--registry", help="YAML/JSON agent registry file with more agents")

    add_local_parser(commands)  # batchorch local up/down (local/stack.py)
    add_schedules_parser(commands, _aws_arguments)  # batchorch schedules list|remove (cli/schedules.py)
    add_evaluate_parser(commands)  # batchorch evaluate (cli/evaluate_command.py)

    deploy = commands.add_parser("deploy", help="create or update the processor (state machine, queues, tables)")
    _aws_arguments(deploy)
    deploy.add_argument("--target", choices=["emulator", "aws"], default="emulator",
                        help="emulator (default): create what is missing with API calls at --endpoint-url (moto, "
                        "LocalStack); aws: the CloudFormation stack deploy/batchorch.yaml, workers and IAM included")
    deploy.add_argument("--bucket", help="emulator: create this bucket too; aws: the data bucket (DataBucketName)")
    deploy.add_argument("--role-arn", help="emulator: IAM role for the state machine")
    deploy.add_argument("--stack-name", default="batchorch", help="aws: the stack (default batchorch)")
    deploy.add_argument("--template", help="aws: the template (default: deploy/batchorch.yaml of the checkout)")
    deploy.add_argument("--worker-image", help="aws: worker image with the package installed (WorkerImage)")
    deploy.add_argument("--vpc-id", help="aws: VPC of the worker tasks (VpcId)")
    deploy.add_argument("--subnet-ids", help="aws: comma-separated subnets of the worker tasks (SubnetIds)")
    deploy.add_argument("--input-prefix", help="aws: key prefix the CSVs are read from (InputPrefix; default all)")
    deploy.add_argument("--airflow-role-name", help="aws: attach the Airflow policy to this role (AirflowRoleName)")
    deploy.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE",
                        help="aws: any other template parameter, e.g. WorkerCount=4 (repeat)")
    deploy.add_argument("--no-wait", action="store_true", help="aws: return once the stack operation started")
    return parser


def _aws_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-url", default=os.environ.get("BATCHORCH_AWS_ENDPOINT_URL"),
                        help="AWS endpoint (a moto server); default: real AWS")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))


def _clients(args: argparse.Namespace, *services: str):
    import boto3

    return [boto3.client(s, endpoint_url=args.endpoint_url, region_name=args.region) for s in services]


@contextlib.contextmanager
def _stdout_to_stderr():
    """Everything written to fd 1 goes to stderr, so stdout carries only the --json line."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def cmd_run(args: argparse.Namespace) -> int:
    from airflow_provider_batchorch.core.summary import summary_text
    from airflow_provider_batchorch.cli.local_run import run_batch

    if bool(args.csv_uri) == bool(args.retry_failed):
        raise InvalidConfError("give either --csv or --retry-failed.", hint="e.g. --csv companies.csv")
    if args.retry_failed:
        return _retry_failed(args)
    request = request_from_flags(args)
    with _stdout_to_stderr():
        summary = run_batch(request, workers=args.workers, output_path=args.output)
    if args.json:
        print(summary.model_dump_json())
    else:
        print(summary_text(summary))
        if args.output:
            print(f"Output CSV downloaded to: {Path(args.output).resolve()}")
    return 0


def _retry_failed(args: argparse.Namespace) -> int:
    from airflow_provider_batchorch.core.summary import summary_text
    from airflow_provider_batchorch.cli.local_retry_failed import retry_failed_output, retry_text

    args.csv_uri = args.retry_failed  # replaced by the failed rows' CSV
    with _stdout_to_stderr():
        outcome, summary = retry_failed_output(args.retry_failed, request_from_flags(args), workers=args.workers,
                                               output_path=args.output)
    if args.json:
        print(json.dumps({**outcome.model_dump(mode="json"),
                          "retry_batch": summary.model_dump(mode="json") if summary else None}))
        return 0
    if summary:
        print(summary_text(summary))
    print(retry_text(outcome))
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from airflow_provider_batchorch.aws.csv_source import analyze_local_csv

    path = Path(args.csv)
    profile = analyze_local_csv(path, chunk_rows=args.chunk_rows, encoding=args.encoding)  # CSV_NOT_FOUND: one line
    if args.json:
        print(profile.without_chunks().model_dump_json())
        return 0
    print(f"{path}: {profile.row_count} rows, {len(profile.columns)} columns, {profile.size_bytes} bytes, "
          f"delimiter {profile.delimiter!r}, encoding {profile.encoding}{' (BOM)' if profile.has_bom else ''}, "
          f"{len(profile.chunks)} chunks of {profile.chunk_rows} rows")
    for column in profile.columns:
        print(f"  {column}: {profile.data_types.get(column, 'string')}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from airflow_provider_batchorch.agents.kinds import preload_agent_kinds
    from airflow_provider_batchorch.aws.worker import run_worker, worker_clients

    from airflow_provider_batchorch.aws import worker_processes

    processes = args.processes if args.processes is not None else worker_processes.default_processes()
    if processes < 1:
        raise InvalidConfError(f"--processes must be at least 1 (got {processes}).", hint="Give --processes 1 or more.")
    copies = worker_processes.start_worker_copies(worker_processes.argv_without_processes(sys.argv[1:]), processes - 1)
    clients = worker_clients(endpoint_url=args.endpoint_url, region=args.region)  # with retries for throttling/5xx
    queue_url = clients["sqs"].get_queue_url(QueueName=args.queue)["QueueUrl"]
    preload_agent_kinds()
    logging.getLogger(__name__).info("worker polling %s", queue_url)
    polling_cpu = time.process_time()
    try:
        done = run_worker(**clients, queue_url=queue_url, progress_table=args.progress_table,
                          max_chunks=args.max_chunks, idle_exit_seconds=args.idle_exit_seconds)
    finally:
        worker_processes.stop_worker_copies(copies)
    logging.getLogger(__name__).info("worker stopped after %d chunks (%.3f s of CPU since it started polling)", done,
                                     time.process_time() - polling_cpu)
    # Every chunk in hand was answered; what may still run is an agent thread past its row timeout, which
    # would otherwise keep the process alive until the agent returns.
    logging.shutdown()
    os._exit(0)


def cmd_deploy(args: argparse.Namespace) -> int:
    return _deploy_stack(args) if args.target == "aws" else _deploy_with_api_calls(args)


def _deploy_with_api_calls(args: argparse.Namespace) -> int:
    import requests

    from airflow_provider_batchorch.aws.job_records import ensure_jobs_table
    from airflow_provider_batchorch.aws.processor import ProcessorNames, ensure_processor

    if args.endpoint_url:  # moto runs state machines only when asked to; other emulators answer 404
        try:
            requests.post(f"{args.endpoint_url.rstrip('/')}/moto-api/config",
                          json={"stepfunctions": {"execute_state_machine": True}}, timeout=10).raise_for_status()
        except requests.RequestException as exc:
            logging.getLogger(__name__).warning("not a moto server, Step Functions interpreter left as is: %s", exc)
    s3, sfn, sqs, ddb = _clients(args, "s3", "stepfunctions", "sqs", "dynamodb")
    if args.bucket:
        from botocore.exceptions import ClientError

        try:
            s3.create_bucket(Bucket=args.bucket, **({} if args.region == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": args.region}}))
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
    refs = ensure_processor(sfn, sqs, ddb, ProcessorNames(role_arn=args.role_arn))
    print(json.dumps({**refs.model_dump(), "jobs_table": ensure_jobs_table(ddb), "bucket": args.bucket}, indent=2))
    return 0


def _deploy_stack(args: argparse.Namespace) -> int:
    from airflow_provider_batchorch.aws.cloudformation import StackDeployError, deploy_stack, load_template

    parameters = {"DataBucketName": args.bucket, "WorkerImage": args.worker_image, "VpcId": args.vpc_id,
                  "SubnetIds": args.subnet_ids, "InputPrefix": args.input_prefix,
                  "AirflowRoleName": args.airflow_role_name}
    for item in args.parameter:
        key, sep, value = item.partition("=")
        if not sep:
            raise BatchorchError(f"--parameter {item!r} is not KEY=VALUE.", hint="e.g. --parameter WorkerCount=4")
        parameters[key.strip()] = value
    missing = [key for key in ("DataBucketName", "WorkerImage", "VpcId", "SubnetIds") if not parameters.get(key)]
    if missing:
        raise BatchorchError(f"the stack needs {', '.join(missing)}.",
                             hint="Give --bucket, --worker-image, --vpc-id and --subnet-ids (see deploy/README.md).")
    (cfn,) = _clients(args, "cloudformation")
    try:
        result = deploy_stack(cfn, stack_name=args.stack_name, parameters=parameters,
                              template=load_template(args.template), wait=not args.no_wait)
    except StackDeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(result.model_dump_json(indent=2))
    return 0


def cmd_registry(args: argparse.Namespace) -> int:
    from airflow_provider_batchorch.aws.registry_table import (
        TABLE_NAME,
        create_registry_table,
        load_registry_table,
        put_agents,
    )
    from airflow_provider_batchorch.core.registry import load_registry_file
    from airflow_provider_batchorch.core.registry_trust import RegistryTrust
    from airflow_provider_batchorch.agents.registry_loader import assemble_registry

    if args.action in ("put", "import"):
        file = args.name if args.action == "import" else args.file
        table = args.table or (TABLE_NAME if args.action == "import" else None)
        if not (file and table):
            raise BatchorchError(f"registry {args.action} needs a registry file and a table.",
                                 hint="e.g. batchorch registry import agents.yaml --table AgentRegistry")
        agents = load_registry_file(file).list()  # checked before anything is written
        (ddb,) = _clients(args, "dynamodb")
        create_registry_table(ddb, table)
        count = put_agents(ddb, agents, table)
        print(f"stored {count} agents in {table}")
        return 0
    table = load_registry_table(_clients(args, "dynamodb")[0], args.table) if args.table else None
    registry = assemble_registry(trust=RegistryTrust.from_env(registry_files=[args.file]), table=table)  # your --file
    if args.action == "show":
        if not args.name:
            raise BatchorchError("registry show needs an agent name.", hint="e.g. batchorch registry show company-enrichment-agent")
        print(json.dumps(registry.describe(args.name), indent=2))
        return 0
    for spec in registry.list():
        marker = "structured" if spec.is_structured else "NOT structured"
        print(f"{spec.name}  v{spec.version}  [{spec.invocation.kind}, {marker}]  {spec.description[:70]}")
    return 0


def cmd_request(args: argparse.Namespace) -> int:
    """The conf JSON on stdout; notes, or the clarifying question (exit 2), on stderr."""
    from airflow_provider_batchorch.core.registry_trust import RegistryTrust
    from airflow_provider_batchorch.agents.registry_loader import assemble_registry
    from airflow_provider_batchorch.core.chat.request_parser import parse_request
    from airflow_provider_batchorch.core.chat.request_policy import ANY_BUCKET, RequestPolicy

    overrides = {key: value for key, value in (("default_bucket", args.default_bucket),
                                               ("max_concurrency", args.max_concurrency),
                                               ("registry", args.registry and str(Path(args.registry).resolve())))
                 if value is not None}
    if args.allowed_buckets or not os.environ.get("BATCHORCH_CHAT_ALLOWED_BUCKETS"):
        overrides["allowed_buckets"] = args.allowed_buckets or [ANY_BUCKET]  # a dry run on your own machine
    policy = RequestPolicy.from_env(**overrides)
    registry = assemble_registry(trust=RegistryTrust.from_env(registry_files=[policy.registry]))  # configured
    parsed = parse_request(args.text, registry, policy)
    for note in parsed.notes:
        print(f"note: {note}", file=sys.stderr)
    if not parsed.ready:
        print(f"question: {parsed.question}", file=sys.stderr)
        return EXIT_REFUSED
    print(parsed.request.model_dump_json())
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from airflow_provider_batchorch.orchestrator.mcp_server import cmd_mcp as serve

    return serve(args)


COMMANDS = {"run": cmd_run, "analyze": cmd_analyze, "worker": cmd_worker, "deploy": cmd_deploy,
            "registry": cmd_registry, "request": cmd_request, "local": cmd_local,
            "mcp": cmd_mcp, "evaluate": cmd_evaluate, "stream-worker": cmd_stream_worker,
            "schedules": lambda args: cmd_schedules(args, _clients)}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except BatchorchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED if not exc.code.startswith(("RUN_", "EXECUTION_")) else EXIT_FAILED
    except ValidationError as exc:
        print(f"error: {invalid_conf(exc)}", file=sys.stderr)
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
