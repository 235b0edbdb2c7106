"""DAG parse time: how long each file in ``dags/`` takes to import, as Airflow's DAG processor would.

    python benchmarks/bench_dag_parse.py

Each file is imported in a fresh interpreter, ``--repeat`` times. Two figures per file:

- ``file_s``: the file with Airflow's task SDK already imported (the DAG processor has it loaded when it parses
  a file): the cost the file adds, and what must stay well under a second;
- ``own_s``: the same with the Amazon provider's base hook (boto3, botocore) imported too: what is left is our
  package's own import and the DAG construction;
- ``cold_s``: the file in an interpreter that has imported nothing yet (Airflow's own import included).

The median of the repeats is reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DAGS = REPO / "airflow_provider_batchorch" / "dag_builders" / "dags"
TARGET_SECONDS = 1.0

_PROBE = """
import json, runpy, sys, time
if sys.argv[2] in ("warm", "own"):
    import airflow.sdk  # noqa: F401  (what the DAG processor has already imported)
if sys.argv[2] == "own":
    import airflow.providers.amazon.aws.hooks.base_aws  # noqa: F401  (boto3, botocore)
started = time.perf_counter()
namespace = runpy.run_path(sys.argv[1])
seconds = time.perf_counter() - started
from airflow.sdk import DAG
print(json.dumps({"seconds": seconds, "dags": sorted(v.dag_id for v in namespace.values() if isinstance(v, DAG))}))
"""


def _probe(path: Path, mode: str) -> dict:
    completed = subprocess.run([sys.executable, "-c", _PROBE, str(path), mode], cwd=REPO, capture_output=True,
                               text=True)
    if completed.returncode:
        raise RuntimeError(f"{path.name} failed to import: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run(repeat: int = 3) -> dict:
    files = []
    for path in sorted(DAGS.glob("*.py")):
        runs = {mode: [_probe(path, mode) for _ in range(repeat)] for mode in ("warm", "own", "cold")}
        files.append({
            "file": f"dag_builders/dags/{path.name}",
            "dags": runs["warm"][0]["dags"],
            **{f"{key}_s": round(statistics.median(r["seconds"] for r in runs[mode]), 3)
               for key, mode in (("file", "warm"), ("own", "own"), ("cold", "cold"))},
        })
    worst = max((f["file_s"] for f in files), default=0.0)
    return {"files": files, "worst_file_s": worst, "meets_target": worst < TARGET_SECONDS}


def print_result(result: dict) -> None:
    print(f"{'file':42}{'file s':>8}{'own s':>8}{'cold s':>9}  dags")
    for f in result["files"]:
        print(f"{f['file']:42}{f['file_s']:>8.3f}{f['own_s']:>8.3f}{f['cold_s']:>9.3f}  {', '.join(f['dags'])}")
    print(f"worst file alone: {result['worst_file_s']:.3f} s "
          f"({'under' if result['meets_target'] else 'NOT under'} {TARGET_SECONDS:g} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.repeat)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_result(result)


if __name__ == "__main__":
    main()
