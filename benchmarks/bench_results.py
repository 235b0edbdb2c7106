"""Results assembly: ``write_output_csv`` stitching N rows of chunk parts on the moto server, against pyarrow.

    python benchmarks/bench_results.py --rows 1000000 --chunk-rows 1000   # the issue's target
    python benchmarks/bench_results.py --rows 50000                          # quick, for CI

The parts (the output columns of a 4-column CSV enriched with 3 fields, about 190 bytes a row, quoted commas)
are put on a fresh embedded moto server, as the workers would leave them. Then, each in a fresh process whose
peak RSS its parent reads (``RUSAGE_CHILDREN``):

- ``assemble``: ``write_output_csv`` (GET every part in order, multipart upload of the output, all on moto);
- ``pyarrow``: the baseline the issue names, pyarrow reading and writing the same data: the assembled output,
  from a local file in the page cache, parsed with ``pyarrow.csv.open_csv`` (streaming, string columns) and
  written with ``pyarrow.csv.CSVWriter`` to a local file. It does no network I/O, so it is the harder bar;
- ``pyarrow_s3``: the same read and write, but with the bytes coming from and going to the moto server
  (one GET, one multipart upload), i.e. the same storage our step uses.

Memory independent of row count: ``--rows`` at two sizes and compare peak RSS (``run`` does 10% and 100%).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

COLUMNS = ["id", "company", "description", "city"]
OUTPUT_FIELDS = ["industry", "employee_count", "confidence_score"]
TARGET_RATIO = 1.5
MIB = 1 << 20


def _part(first: int, rows: int) -> bytes:
    lines = []
    for i in range(first, first + rows):
        lines.append(
            f'{i},Company {i % 9973} GmbH,"Makes widgets, gadgets and ""things"" since {1900 + i % 120}",'
            f"City {i % 317},Manufacturing,{(i * 37) % 100000},0.{i % 100:02d},SUCCEEDED,,,"
            f"company-enrichment-agent,1.0.0,{i % 900},2026-01-01T00:00:{i % 60:02d}Z\n"
        )
    return "".join(lines).encode()


def stage_parts(aws, rows: int, chunk_rows: int):
    """Put the parts of a ``rows``-row batch on the server; returns its BatchConfig."""
    from airflow_provider_batchorch.aws.batch_store import batch_prefix, part_uri
    from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
    from airflow_provider_batchorch.core.models import BatchConfig
    from benchmarks import agents

    chunk_count = -(-rows // chunk_rows)
    prefix = batch_prefix(aws.bucket, f"bench-results-{rows}-{chunk_rows}")
    config = BatchConfig(
        batch_id=f"bench-results-{rows}", csv_uri=f"s3://{aws.bucket}/in.csv", encoding="utf-8", delimiter=",",
        columns=COLUMNS, agent=agents.spec(), input_mapping={"text": "description"}, output_fields=OUTPUT_FIELDS,
        concurrency=1, chunk_concurrency=1, row_concurrency=1, timeout_seconds=60, total_rows=rows,
        chunk_count=chunk_count, prefix_uri=prefix, output_uri=f"{prefix}output/out.csv",
    )
    s3 = aws.client("s3")

    def put(chunk: int) -> None:
        bucket, key = parse_s3_uri(part_uri(config, chunk))
        first = chunk * chunk_rows
        s3.put_object(Bucket=bucket, Key=key, Body=_part(first, min(chunk_rows, rows - first)))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(chunk_count)))
    return config


def _child(kind: str, args: dict) -> dict:
    """Run one measurement in a fresh interpreter (started by a fresh runner, for a clean RUSAGE_CHILDREN)."""
    from airflow_provider_batchorch.local.emulator import CREDENTIALS

    completed = subprocess.run([sys.executable, __file__, "--runner", kind, json.dumps(args)],
                               capture_output=True, text=True, env={**os.environ, **CREDENTIALS})
    if completed.returncode:
        raise RuntimeError(f"{kind} failed: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout)


def _runner(kind: str, args: str) -> None:
    completed = subprocess.run([sys.executable, __file__, "--work", kind, args], capture_output=True, text=True)
    if completed.returncode:
        sys.stderr.write(completed.stderr)
        sys.exit(completed.returncode)
    result = json.loads(completed.stdout)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    print(json.dumps(result))


def _work(kind: str, args: dict) -> dict:
    import boto3
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from airflow_provider_batchorch.aws.results import write_output_csv
    from airflow_provider_batchorch.core.models import BatchConfig

    s3 = boto3.client("s3", endpoint_url=args.get("endpoint_url"), region_name="us-east-1")
    started = time.perf_counter()
    if kind == "assemble":
        write_output_csv(s3, BatchConfig.model_validate_json(args["config"]))
    else:
        if kind == "pyarrow_s3":
            source = s3.get_object(Bucket=args["bucket"], Key=args["key"])["Body"].read()
            source, sink = pa.BufferReader(source), pa.BufferOutputStream()
        else:
            source, sink = args["source"], args["target"]
        columns = args["columns"]
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(block_size=8 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in columns},
                                                 strings_can_be_null=False),
        )
        with pacsv.CSVWriter(sink, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
        if kind == "pyarrow_s3":
            import io

            s3.upload_fileobj(io.BytesIO(sink.getvalue().to_pybytes()), args["bucket"], args["key"] + ".pyarrow")
    return {"seconds": round(time.perf_counter() - started, 3)}


def measure(aws, rows: int, chunk_rows: int, workdir: Path) -> dict:
    from airflow_provider_batchorch.core.s3_uri import parse_s3_uri

    config = stage_parts(aws, rows, chunk_rows)
    common = {"endpoint_url": aws.endpoint_url}
    assemble = _child("assemble", {**common, "config": config.model_dump_json()})
    bucket, key = parse_s3_uri(config.output_uri)
    local = workdir / "output.csv"
    aws.client("s3").download_file(bucket, key, str(local))
    size = local.stat().st_size
    with local.open("rb") as stream:
        header = stream.readline().decode().rstrip("\n").split(",")
        lines = 1 + sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(8 << 20), b""))
    assert header == config.output_columns and lines == rows + 1, (header, lines)
    baseline = _child("pyarrow", {"source": str(local), "target": str(workdir / "rewritten.csv"), "columns": header})
    baseline_s3 = _child("pyarrow_s3", {**common, "bucket": bucket, "key": key, "columns": header})
    return {
        "rows": rows, "chunk_rows": chunk_rows, "parts": config.chunk_count, "output_mb": round(size / MIB, 1),
        "assemble": assemble, "pyarrow": baseline, "pyarrow_s3": baseline_s3,
        "ratio_vs_pyarrow": round(assemble["seconds"] / baseline["seconds"], 2),
        "ratio_vs_pyarrow_s3": round(assemble["seconds"] / baseline_s3["seconds"], 2),
        "assemble_mb_per_s": round(size / MIB / assemble["seconds"], 1),
    }


def run(rows: int, chunk_rows: int = 1000, *, memory_check: bool = True) -> dict:
    """Figures at ``rows`` (and at a tenth of it, for memory vs. row count) on one fresh moto server."""
    from airflow_provider_batchorch.local.emulator import EmbeddedAws

    sizes = [max(1, rows // 10), rows] if memory_check else [rows]
    results = []
    with EmbeddedAws() as aws, tempfile.TemporaryDirectory(prefix="bench-results-") as workdir:
        for size in sizes:
            results.append(measure(aws, size, chunk_rows, Path(workdir)))
    main = results[-1]
    if memory_check:
        main["assemble_peak_rss_mb_at_10pct_rows"] = results[0]["assemble"]["peak_rss_mb"]
    main["meets_target"] = main["ratio_vs_pyarrow"] <= TARGET_RATIO
    return main


def print_result(result: dict) -> None:
    print(f"{result['rows']:,} rows in {result['parts']:,} parts of {result['chunk_rows']} rows, "
          f"{result['output_mb']} MiB output, {os.cpu_count()} CPUs")
    print(f"{'':44}{'seconds':>9}{'peak RSS MiB':>14}")
    for label, key in (("write_output_csv (moto S3 -> moto S3)", "assemble"),
                       ("pyarrow read+write, local files", "pyarrow"),
                       ("pyarrow read+write, moto S3 -> moto S3", "pyarrow_s3")):
        print(f"{label:44}{result[key]['seconds']:>9.2f}{result[key]['peak_rss_mb']:>14.0f}")
    print(f"ratio vs pyarrow local: x{result['ratio_vs_pyarrow']}, vs pyarrow on moto S3: "
          f"x{result['ratio_vs_pyarrow_s3']} (target x{TARGET_RATIO} of pyarrow local: "
          f"{'met' if result['meets_target'] else 'MISSED'})")
    if "assemble_peak_rss_mb_at_10pct_rows" in result:
        print(f"write_output_csv peak RSS at {result['rows'] // 10:,} rows: "
              f"{result['assemble_peak_rss_mb_at_10pct_rows']:.0f} MiB; at {result['rows']:,}: "
              f"{result['assemble']['peak_rss_mb']:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--chunk-rows", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--runner", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--work", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runner:
        _runner(*args.runner)
    elif args.work:
        print(json.dumps(_work(args.work[0], json.loads(args.work[1]))))
    else:
        result = run(args.rows, args.chunk_rows)
        print(json.dumps(result, indent=2) if args.json else "", end="\n" if args.json else "")
        if not args.json:
            print_result(result)


if __name__ == "__main__":
    main()
