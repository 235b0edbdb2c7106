"""Every benchmark, one command: figures on stdout, JSON and Markdown tables under out/bench/.

    python benchmarks/run_all.py --small   # CI: about 5 minutes, smaller sizes, same code paths
    python benchmarks/run_all.py           # the issue's targets (about 25 minutes on 2 CPUs)
    python benchmarks/run_all.py --only throughput,overhead

Sections (sizes small / full):
- throughput: efficiency = ideal / processing time at concurrency 10, 50, 200 (500), rows = concurrency x 50 so
  every run is 50 agent calls per row slot: ideal 10 s at 0.2 s a row (small), 60 s at 1.2 s a row (full);
- cli (full only): the whole `batchorch run` on 10,000 rows at 1.2 s a row, concurrency 200;
- overhead: an instant agent, 20,000 (50,000) rows, chunk_rows packed (the default), 100 and 1000;
- analysis: benchmarks/bench_analysis.py at 5 MiB (1,000 and 5,000 MiB);
- results: benchmarks/bench_results.py at 20,000 (1,000,000) rows;
- dag_parse: benchmarks/bench_dag_parse.py;
- llm_agents: benchmarks/bench_llm_agents.py (small in both modes: it is not the subject here);
- llm_peers: benchmarks/bench_llm_peers.py, the network's limit, the openai SDK and batchorch on 300 rows at
  C=50/200, 0.2 s (full: 2,000 rows, 0.2 and 1.0 s, with common-ai and DocETL in venvs of their own);
- stream: benchmarks/bench_stream.py, 300 rows at 30/s (2,000 at 50/s), agent 0.05 s a row;
- chaos: the table of the last `pytest tests/chaos` run (out/chaos/report.json), if there is one.
A failed section is reported and the others still run; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
OUT = REPO / "out" / "bench"


def throughput(small: bool) -> dict:
    from benchmarks import bench_throughput

    if small:
        cases = bench_throughput.efficiency_cases([10, 50, 200], latency=0.2, ideal_seconds=10)
    else:
        cases = bench_throughput.efficiency_cases([10, 50, 200, 500], latency=1.2, ideal_seconds=60)
    return {"cases": bench_throughput.run(cases)}


def cli(small: bool) -> dict:
    from benchmarks import bench_throughput

    return bench_throughput.run_cli(rows=10_000, latency=1.2, concurrency=200)


def overhead(small: bool) -> dict:
    from benchmarks import bench_throughput

    rows = 20_000 if small else 50_000
    return {"cases": bench_throughput.run(bench_throughput.overhead_cases(rows, [None, 100, 1000]))}


def analysis(small: bool) -> dict:
    from benchmarks import bench_analysis

    return {"sizes": [bench_analysis.run(size) for size in ([5] if small else [1000, 5000])]}


def results(small: bool) -> dict:
    from benchmarks import bench_results

    return bench_results.run(20_000 if small else 1_000_000)


def dag_parse(small: bool) -> dict:
    from benchmarks import bench_dag_parse

    return bench_dag_parse.run(repeat=1 if small else 3)


def llm_agents(small: bool) -> dict:
    from benchmarks import bench_llm_agents

    return bench_llm_agents.run(True)


def llm_peers(small: bool) -> dict:
    from benchmarks import bench_llm_peers

    if small:  # the peers' own venvs (common-ai, DocETL) take minutes to install: `make bench-peers` runs them
        report = bench_llm_peers.run(300, [50, 200], [0.2], ["raw", "openai-sdk", "batchorch"])
    else:
        report = bench_llm_peers.run(2000, [50, 200], [0.2, 1.0], list(bench_llm_peers.SYSTEMS))
    return {**report, "markdown": bench_llm_peers.markdown(report)}


def stream(small: bool) -> dict:
    from benchmarks import bench_stream

    return bench_stream.run(rows=300, rate=30) if small else bench_stream.run(rows=2000, rate=50)


def chaos(small: bool) -> dict:
    path = Path(os.environ.get("BATCHORCH_CHAOS_REPORT", REPO / "out" / "chaos" / "report.json"))
    if not path.is_file():
        return {"cases": [], "note": "no chaos report yet: run `pytest tests/chaos` (part of `make test`)"}
    return {"cases": json.loads(path.read_text()), "from": str(path)}


SECTIONS = {"throughput": throughput, "cli": cli, "overhead": overhead, "analysis": analysis, "results": results,
            "dag_parse": dag_parse, "llm_agents": llm_agents, "llm_peers": llm_peers, "chaos": chaos, "stream": stream}
FULL_ONLY = {"cli"}


def _table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows), ""]


def markdown(report: dict) -> str:
    """The figures as the tables BENCHMARKS.md shows."""
    lines = [f"Mode: {report['mode']}, {report['cpus']} CPUs, {report['started']}.", ""]
    sections = report["sections"]
    if "cases" in sections.get("throughput", {}):
        lines += _table(
            ["concurrency", "rows", "s/row", "chunks (in flight x rows each)", "ideal s", "processing s",
             "processing / ideal", "efficiency", "batch wall s"],
            [[c["concurrency"], f"{c['rows']:,}", c["latency_s"],
              f"{c['chunks']} ({c['chunks_in_flight']} x {c['rows_per_chunk_in_flight']})", c["ideal_s"],
              c["processing_s"], c["ratio_to_ideal"], c["efficiency"], c["wall_s"]]
             for c in sections["throughput"]["cases"]])
    if "command_wall_s" in sections.get("cli", {}):
        c = sections["cli"]
        lines += [f"`batchorch run`, {c['rows']:,} rows, {c['latency_s']} s/row, concurrency {c['concurrency']}: "
                  f"{c['command_wall_s']} s for the whole command (target 2 x ideal + 60 = {c['target_wall_s']} s: "
                  f"{'met' if c['meets_target'] else 'MISSED'}), processing {c['processing_s']} s "
                  f"(ideal {c['ideal_s']}), {c['rows_out']:,} rows in the output CSV.", ""]
    if "cases" in sections.get("overhead", {}):
        lines += _table(["rows", "chunk_rows", "chunks", "processing s", "rows/s", "batch wall s"],
                        [[f"{c['rows']:,}", c["chunk_rows"] or "packed", c["chunks"], c["processing_s"], f"{c['rows_per_s']:,}",
                          c["wall_s"]] for c in sections["overhead"]["cases"]])
    if "sizes" in sections.get("analysis", {}):
        lines += _table(
            ["CSV MiB", "rows", "analyze_csv s", "MiB/s", "peak RSS MiB", "pyarrow open_csv s", "pyarrow peak RSS MiB"],
            [[f"{a['size_mb']:,}", f"{a['rows']:,}", f"{a['analyze']['seconds']:.2f}",
              f"{a['analyze']['mb_per_s']:.0f}", f"{a['analyze']['peak_rss_mb']:.0f}",
              f"{a['pyarrow']['seconds']:.2f}", f"{a['pyarrow']['peak_rss_mb']:.0f}"]
             for a in sections["analysis"]["sizes"]])
    if "assemble" in sections.get("results", {}):
        r = sections["results"]
        lines += _table(
            [f"results, {r['rows']:,} rows in {r['parts']:,} parts ({r['output_mb']} MiB)", "seconds", "peak RSS MiB"],
            [[label, f"{r[key]['seconds']:.2f}", f"{r[key]['peak_rss_mb']:.0f}"]
             for label, key in (("write_output_csv, moto S3 -> moto S3", "assemble"),
                                ("pyarrow read + write, local files (baseline)", "pyarrow"),
                                ("pyarrow read + write, moto S3 -> moto S3", "pyarrow_s3"))])
        lines += [f"Ratio to the baseline: x{r['ratio_vs_pyarrow']} (to pyarrow on moto S3: "
                  f"x{r['ratio_vs_pyarrow_s3']}); write_output_csv peak RSS at a tenth of the rows: "
                  f"{r.get('assemble_peak_rss_mb_at_10pct_rows', 0):.0f} MiB.", ""]
    if "files" in sections.get("dag_parse", {}):
        lines += _table(
            ["DAG file", "DAGs", "import s (airflow.sdk loaded)", "of which not boto3", "cold interpreter s"],
            [[f["file"], ", ".join(f["dags"]), f"{f['file_s']:.3f}", f"{f['own_s']:.3f}", f"{f['cold_s']:.3f}"]
             for f in sections["dag_parse"]["files"]])
    if "stream" in sections.get("stream", {}):
        st = sections["stream"]
        lines += _table(
            [f"stream, {st['rows']:,} rows at {st['rate_per_s']:g}/s, agent {st['agent_latency_s']} s", "p50 ms",
             "p95 ms", "max ms"],
            [[label, st[key]["p50_ms"], st[key]["p95_ms"], st[key]["max_ms"]]
             for label, key in (("stream-worker: sent -> result on the destination", "stream"),
                                ("baseline: SQS relay, no agent", "relay"),
                                ("baseline: the agent called in-process", "direct"))])
        lines += [f"Stream / relay: p50 x{st['ratio_p50_vs_relay']}, p95 x{st['ratio_p95_vs_relay']}; stream p50 minus "
                  f"the agent's: {st['overhead_p50_ms']} ms; every id once on the destination and in the parts: "
                  f"{st['stream']['exactly_once']}.", ""]
    if "markdown" in sections.get("llm_peers", {}):
        lines += [sections["llm_peers"]["markdown"], ""]
    if sections.get("chaos", {}).get("cases"):
        lines += _table(["chaos case", "rows in", "rows out", "duplicates", "lost", "notes"],
                        [[c["case"], c["rows_in"], c["rows_out"], c["duplicates"], c["lost"], c.get("notes", "")]
                         for c in sections["chaos"]["cases"]])
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="CI sizes (about 5 minutes)")
    parser.add_argument("--only", help="comma-separated sections: " + ", ".join(SECTIONS))
    args = parser.parse_args()
    names = args.only.split(",") if args.only else [n for n in SECTIONS if not (args.small and n in FULL_ONLY)]
    mode = "small" if args.small else "full"
    report = {"mode": mode, "cpus": os.cpu_count(), "started": time.strftime("%Y-%m-%d %H:%M:%S"), "sections": {}}
    failed = []
    for name in names:
        started = time.perf_counter()
        print(f"== {name} ...", flush=True)
        try:
            result = SECTIONS[name](args.small)
        except Exception as exc:  # noqa: BLE001 - report it, run the rest
            traceback.print_exc()
            result = {"error": f"{type(exc).__name__}: {exc}"}
            failed.append(name)
        result["section_seconds"] = round(time.perf_counter() - started, 1)
        report["sections"][name] = result
        print(json.dumps(result, default=str), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"results-{mode}.json").write_text(json.dumps(report, indent=2, default=str))
    table = markdown(report)
    (OUT / f"report-{mode}.md").write_text(table)
    print("\n" + table)
    total = sum(s["section_seconds"] for s in report["sections"].values())
    print(f"{len(names)} sections in {total:.0f} s; JSON and Markdown in {OUT}"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
