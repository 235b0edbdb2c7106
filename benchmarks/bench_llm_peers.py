"""LLM agents side by side with the peers a user would pick instead, against one fake OpenAI-compatible server.

    python benchmarks/bench_llm_peers.py             # 2,000 rows; C = 50, 200; latency 0.2 s, 1.0 s
    python benchmarks/bench_llm_peers.py --small     # 300 rows; C = 50, 200; latency 0.2 s (about 2 minutes,
                                                     # once the peers' venvs exist)
    python benchmarks/bench_llm_peers.py --rows 1000 --systems raw,batchorch

The server (benchmarks/peers/fake_openai_server.py, its own process) answers every chat completion after a
fixed latency with a schema-valid structured answer. Each system runs as a subprocess over the same CSV:
- raw: asyncio + aiohttp + a JSON Schema check (the network's limit); openai-sdk: the openai SDK alone (httpx);
- batchorch: ``batchorch run --agent bench-peer-llm-agent`` (benchmarks/peers/llm_registry.yaml, kind: llm) with
  ``--concurrency C --json``; rows/s from the summary's ``processing_time_seconds``;
- common-ai: apache-airflow-providers-common-ai, one LLMOperator per row, C at once (benchmarks/peers/common_ai.py);
- docetl: DocETL's map with litellm (benchmarks/peers/docetl_map.py).
The two peers each get a venv under out/bench/peers/<name>/venv, made once and reused; a peer that does not
install or run is a row of the table with the reason.
efficiency = rows/s / (C / latency). CPU ms/row is the user+sys CPU of the system's whole process tree (children
included: batchorch's workers and emulator) over its whole run, start-up included; "loop CPU" is what a runner
measured inside its own processing loop (for batchorch: its workers' CPU from their first poll to their stop, which
each worker logs). Peak RSS is the largest sum of the tree's RSS,
sampled every 0.1 s. "rows ok" = every row came back, in input order, valid for the schema.
JSON: out/bench/peers.json.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import psutil

ROOT = Path(__file__).resolve().parents[1]
PEERS_DIR = ROOT / "benchmarks" / "peers"
OUT = ROOT / "out" / "bench"
WORK = OUT / "peers"
BATCHORCH = ROOT / ".venv" / "bin" / "batchorch"
MAIN_PYTHON = ROOT / ".venv" / "bin" / "python"
REGISTRY_TEMPLATE = PEERS_DIR / "llm_registry.yaml"
TEMPLATE_BASE_URL = "http://127.0.0.1:8000/v1"
AGENT = "bench-peer-llm-agent"
KEY_ENV = "BENCH_FAKE_OPENAI_KEY"
RUN_TIMEOUT_SECONDS = 600

sys.path.insert(0, str(PEERS_DIR))
from peer_common import API_KEY, SCHEMA  # noqa: E402

PEER_VENVS = {  # name -> the requirements its venv gets
    "common-ai": ["apache-airflow-providers-common-ai[openai]==1.0.0"],
    "docetl": ["docetl==0.3.0"],
}
SYSTEMS = {  # name -> (label, runner script or None for batchorch, venv name or None for the main venv)
    "raw": ("limit: asyncio + aiohttp + JSON Schema check", "raw_aiohttp.py", None),
    "openai-sdk": ("openai SDK alone (httpx), same loop", "openai_sdk.py", None),
    "batchorch": ("batchorch `run` (processing time)", None, None),
    "common-ai": ("apache-airflow-providers-common-ai 1.0, LLMOperator per row", "common_ai.py", "common-ai"),
    "docetl": ("DocETL 0.3 map", "docetl_map.py", "docetl"),
}


class FakeServer:
    """benchmarks/peers/fake_openai_server.py in a child process; stops when its stdin closes."""

    def __init__(self, latency: float) -> None:
        self.process = subprocess.Popen(
            [str(MAIN_PYTHON), str(PEERS_DIR / "fake_openai_server.py"), "--latency", str(latency)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http://127.0.0.1:"):
            self.process.kill()
            raise RuntimeError(f"fake server did not start: {self.base_url!r}")

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.base_url.removesuffix("/v1") + "/stats", timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        for index in range(rows):
            writer.writerow([index, f"ROW-{index:06d} Company {index} makes widgets in town {index % 17}."])


def staged_agent(work: Path, base_url: str, rows: int) -> tuple[Path, Path, Any]:
    """For the in-process benchmarks: the CSV of ``rows`` rows, the registry pointed at ``base_url`` (its key in
    the environment) and the agent's validated spec, all under ``work``."""
    from airflow_provider_batchorch.agents.registry_loader import assemble_registry
    from airflow_provider_batchorch.core.registry_trust import trusting_registry_files

    csv_path, registry = work / "rows.csv", work / "registry.yaml"
    write_csv(csv_path, rows)
    registry.write_text(REGISTRY_TEMPLATE.read_text().replace(TEMPLATE_BASE_URL, base_url))
    os.environ[KEY_ENV] = API_KEY
    with trusting_registry_files(str(registry)):
        return csv_path, registry, assemble_registry(str(registry)).validate(AGENT)


def expected_row_id(index: int) -> str:
    return f"ROW-{index:06d}"


def check_outputs(outputs: list[Any], rows: int) -> tuple[bool, str]:
    """Every row back, in input order, valid for the schema."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    if len(outputs) != rows:
        return False, f"{len(outputs)} of {rows} rows came back"
    invalid = sum(1 for output in outputs if output is None or not validator.is_valid(output))
    if invalid:
        return False, f"{invalid} rows missing or not schema-valid"
    out_of_order = sum(1 for index, output in enumerate(outputs) if output["row_id"] != expected_row_id(index))
    if out_of_order:
        return False, f"{out_of_order} rows out of input order"
    return True, "all rows, in order, schema-valid"


def ensure_venv(name: str) -> tuple[Path | None, str]:
    """The peer's venv, made and installed once (a stamp marks a finished install); (python, '') or (None, why)."""
    venv = WORK / name / "venv"
    python = venv / "bin" / "python"
    stamp = venv / ".bench-installed"
    requirements = PEER_VENVS[name] + ["jsonschema", "psutil"]
    if stamp.exists() and stamp.read_text() == json.dumps(requirements):
        return python, ""
    log = WORK / name / "install.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as handle:
        steps = [[sys.executable, "-m", "venv", str(venv)], [str(python), "-m", "pip", "install", "--quiet", *requirements]]
        for step in steps:
            print(f"[{name}] {' '.join(step)}", file=sys.stderr, flush=True)
            if subprocess.run(step, stdout=handle, stderr=subprocess.STDOUT).returncode != 0:
                tail = [line for line in log.read_text().splitlines() if not line.startswith("WARNING: Location")]
                return None, f"install failed ({' '.join(step[2:4])}): {' / '.join(tail[-2:])[:200]}"
    stamp.write_text(json.dumps(requirements))
    return python, ""


class TreeSampler:
    """Peak RSS of a process and its descendants, and the last CPU times seen of each (for unreaped children)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak_rss = 0
        self.cpu_by_pid: dict[int, float] = {}
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while self.running:
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            rss = 0
            for process in processes:
                try:
                    rss += process.memory_info().rss
                    times = process.cpu_times()
                    self.cpu_by_pid[process.pid] = times.user + times.system
                except psutil.Error:
                    pass
            self.peak_rss = max(self.peak_rss, rss)
            time.sleep(0.1)

    def stop(self) -> None:
        self.running = False
        self.thread.join(timeout=5)


def run_measured(command: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run a command, with its stderr to ``log``; its stdout, exit code, wall time, tree CPU and peak RSS."""
    started = time.perf_counter()
    with log.open("w") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, env=env, cwd=ROOT, text=True)
        sampler = TreeSampler(process.pid)
        reader: list[str] = []
        thread = threading.Thread(target=lambda: reader.append(process.stdout.read()), daemon=True)
        thread.start()
        timed_out = False
        deadline = started + RUN_TIMEOUT_SECONDS
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                timed_out = True
                process.kill()
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
        thread.join(timeout=10)
    wall = time.perf_counter() - started
    reaped_cpu = usage.ru_utime + usage.ru_stime  # the process and the children it waited for
    sampled_cpu = sum(sampler.cpu_by_pid.values())  # last seen of each pid, for children nobody waited for
    return {
        "returncode": process.returncode,
        "timed_out": timed_out,
        "stdout": reader[0] if reader else "",
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(max(reaped_cpu, sampled_cpu), 2),
        "peak_rss_mb": round(max(sampler.peak_rss, usage.ru_maxrss * 1024) / 2**20, 1),
    }


def last_json_line(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None


def tail_of(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return " / ".join(lines[-2:])[:240]


def run_peer(name: str, python: Path, csv_path: Path, base_url: str, concurrency: int, cell: str) -> dict[str, Any]:
    script = PEERS_DIR / SYSTEMS[name][1]
    output = WORK / f"{name}-{cell}.jsonl"
    output.unlink(missing_ok=True)
    log = WORK / f"{name}-{cell}.log"
    command = [str(python), str(script), "--csv", str(csv_path), "--base-url", base_url,
               "--concurrency", str(concurrency), "--output", str(output)]
    measured = run_measured(command, dict(os.environ), log)
    line = last_json_line(measured.pop("stdout"))
    if measured["returncode"] != 0 or line is None:
        reason = "timed out" if measured["timed_out"] else f"exit {measured['returncode']}: {tail_of(log)}"
        return {**measured, "error": reason}
    outputs = [json.loads(text) for text in output.read_text().splitlines()]
    return {**measured, "rows_per_s": line["rows_per_s"], "processing_seconds": line["seconds"],
            "loop_cpu_seconds": line["loop_cpu_seconds"], "outputs": outputs}


def batchorch_outputs(path: Path) -> list[Any]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    outputs: list[Any] = []
    for row in rows:
        if row.get("_status") != "SUCCEEDED":
            outputs.append(None)
            continue
        try:
            score: Any = float(row["score"])
        except (KeyError, ValueError):
            score = row.get("score")
        outputs.append({"row_id": row.get("row_id"), "label": row.get("label"), "score": score})
    return outputs


def batchorch_command() -> list[str]:
    """The ``batchorch`` console script; when the venv's script is stale (the package's modules moved and the
    editable install was not redone), the entry point that pyproject.toml names, run by the venv's python."""
    if subprocess.run([str(BATCHORCH), "run", "--help"], capture_output=True).returncode == 0:
        return [str(BATCHORCH)]
    import tomllib

    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["batchorch"]
    module, function = target.split(":")
    launcher = f"import sys; sys.argv[0] = 'batchorch'; from {module} import {function}; sys.exit({function}())"
    print(f"[batchorch] the console script fails; running {target} instead", file=sys.stderr, flush=True)
    return [str(MAIN_PYTHON), "-c", launcher]


def workers_polling_cpu(log: Path) -> float | None:
    """The CPU seconds batchorch's workers spent from their first poll to their stop (their own log lines: chunk
    work, not start-up); None when a worker's line is missing."""
    found = re.search(r"logs in (\S+)", log.read_text(errors="replace"))
    logs = sorted(Path(found.group(1)).glob("worker-*.log")) if found else []
    seconds = []
    for worker_log in logs:
        stopped = re.search(r"worker stopped after \d+ chunks \(([\d.]+) s of CPU", worker_log.read_text(errors="replace"))
        if stopped is None:
            return None
        seconds.append(float(stopped.group(1)))
    return round(sum(seconds), 3) if seconds else None


def run_batchorch(csv_path: Path, base_url: str, concurrency: int, cell: str) -> dict[str, Any]:
    registry = WORK / "registry.yaml"
    registry.write_text(REGISTRY_TEMPLATE.read_text().replace(TEMPLATE_BASE_URL, base_url))
    output = WORK / f"batchorch-{cell}.csv"
    output.unlink(missing_ok=True)
    log = WORK / f"batchorch-{cell}.log"
    command = [*batchorch_command(), "run", "--csv", str(csv_path), "--agent", AGENT, "--registry", str(registry),
               "--concurrency", str(concurrency), "--json", "--output", str(output)]
    measured = run_measured(command, {**os.environ, KEY_ENV: API_KEY}, log)
    summary = last_json_line(measured.pop("stdout"))
    if measured["returncode"] != 0 or summary is None or not output.exists():
        reason = "timed out" if measured["timed_out"] else f"exit {measured['returncode']}: {tail_of(log)}"
        return {**measured, "error": reason, "summary": summary}
    seconds = summary["processing_time_seconds"]
    return {**measured, "rows_per_s": round(summary["rows_processed"] / seconds, 1), "processing_seconds": seconds,
            "loop_cpu_seconds": workers_polling_cpu(log), "outputs": batchorch_outputs(output),
            "summary": {key: summary.get(key) for key in ("status", "rows_processed", "rows_failed", "failure_reasons")}}


def run(rows: int, concurrencies: list[int], latencies: list[float], systems: list[str]) -> dict[str, Any]:
    WORK.mkdir(parents=True, exist_ok=True)
    csv_path = WORK / f"rows-{rows}.csv"
    write_csv(csv_path, rows)
    pythons: dict[str, Path] = {}
    install_errors: dict[str, str] = {}
    for name in systems:
        venv = SYSTEMS[name][2]
        if venv is None:
            pythons[name] = MAIN_PYTHON
            continue
        python, why = ensure_venv(venv)
        if python is None:
            install_errors[name] = why
        else:
            pythons[name] = python
    results: list[dict[str, Any]] = []
    for latency in latencies:
        server = FakeServer(latency)
        try:
            for concurrency in concurrencies:
                cell = f"c{concurrency}-l{latency}"
                for name in systems:
                    print(f"[{cell}] {name} ...", file=sys.stderr, flush=True)
                    before = server.stats()
                    if name in install_errors:
                        result: dict[str, Any] = {"error": install_errors[name]}
                    elif name == "batchorch":
                        result = run_batchorch(csv_path, server.base_url, concurrency, cell)
                    else:
                        result = run_peer(name, pythons[name], csv_path, server.base_url, concurrency, cell)
                    after = server.stats()
                    served = after["requests"] - before["requests"]
                    result["requests_served"] = served
                    result["server_cpu_ms_per_request"] = (
                        round((after["cpu_seconds"] - before["cpu_seconds"]) / served * 1000, 3) if served else None
                    )
                    outputs = result.pop("outputs", None)
                    if outputs is not None:
                        result["rows_ok"], result["rows_check"] = check_outputs(outputs, rows)
                        ideal = concurrency / latency
                        result["efficiency"] = round(result["rows_per_s"] / ideal, 3)
                        result["cpu_ms_per_row"] = round(result["cpu_seconds"] / rows * 1000, 2)
                        if result.get("loop_cpu_seconds") is not None:
                            result["loop_cpu_ms_per_row"] = round(result["loop_cpu_seconds"] / rows * 1000, 2)
                    results.append({"system": name, "concurrency": concurrency, "latency_s": latency, **result})
                    print(f"[{cell}] {name}: {summary_text(results[-1])}", file=sys.stderr, flush=True)
        finally:
            server.stop()
    return {
        "benchmark": "llm_peers",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "rows": rows,
        "cpus": os.cpu_count(),
        "results": results,
    }


def summary_text(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"failed: {result['error']}"
    return (f"{result['rows_per_s']} rows/s, eff {result['efficiency']}, {result['cpu_ms_per_row']} CPU ms/row, "
            f"{result['peak_rss_mb']} MB, {result['rows_check']}")


def markdown(report: dict[str, Any]) -> str:
    results = report["results"]
    cells = sorted({(r["concurrency"], r["latency_s"]) for r in results}, key=lambda c: (c[1], c[0]))
    systems = list(dict.fromkeys(r["system"] for r in results))
    by_key = {(r["system"], r["concurrency"], r["latency_s"]): r for r in results}
    header = "| system | " + " | ".join(f"C={c}, {lat} s" for c, lat in cells) + " |"
    lines = [
        f"{report['rows']} rows, {report['cpus']} CPUs, {report['date']}. Each cell: efficiency (rows/s) · "
        "CPU ms/row of the whole process tree (in-loop; for batchorch: its workers) · peak RSS MB · rows back in order and schema-valid.",
        "",
        header,
        "|---|" + "---|" * len(cells),
    ]
    for name in systems:
        row = [SYSTEMS[name][0]]
        for concurrency, latency in cells:
            result = by_key.get((name, concurrency, latency))
            if result is None:
                row.append("–")
            elif "error" in result:
                row.append(f"failed: {result['error']}".replace("|", "/"))
            else:
                loop = result.get("loop_cpu_ms_per_row")
                cpu = f"{result['cpu_ms_per_row']}" + (f" ({loop})" if loop is not None else "")
                ok = "yes" if result["rows_ok"] else f"NO: {result['rows_check']}"
                row.append(f"{result['efficiency']} ({result['rows_per_s']}/s) · {cpu} ms · "
                           f"{result['peak_rss_mb']:.0f} MB · {ok}")
        lines.append("| " + " | ".join(row) + " |")
    server = [r["server_cpu_ms_per_request"] for r in results if r.get("server_cpu_ms_per_request")]
    if server:
        lines += ["", f"Fake server CPU per request: {min(server)}–{max(server)} ms."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="300 rows, latency 0.2 s only (about 2 minutes)")
    parser.add_argument("--rows", type=int, help="rows in the CSV (default 2000; 300 with --small)")
    parser.add_argument("--concurrency", default="50,200", help="comma-separated concurrencies")
    parser.add_argument("--latency", help="comma-separated latencies in seconds (default 0.2,1.0; 0.2 with --small)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, of {', '.join(SYSTEMS)}")
    args = parser.parse_args()
    rows = args.rows or (300 if args.small else 2000)
    latencies = [float(x) for x in (args.latency or ("0.2" if args.small else "0.2,1.0")).split(",")]
    concurrencies = [int(x) for x in args.concurrency.split(",")]
    systems = [name for name in args.systems.split(",") if name]
    unknown = [name for name in systems if name not in SYSTEMS]
    if unknown:
        parser.error(f"unknown systems {unknown}; known: {', '.join(SYSTEMS)}")
    report = run(rows, concurrencies, latencies, systems)
    report["command"] = "python benchmarks/bench_llm_peers.py " + " ".join(sys.argv[1:])
    report["markdown"] = markdown(report)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "peers.json").write_text(json.dumps(report, indent=2))
    print(report["markdown"])


if __name__ == "__main__":
    main()
