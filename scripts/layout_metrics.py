#!/usr/bin/env python3
"""Layout metrics of the airflow_provider_batchorch package, read from the code with ``ast`` (nothing is imported).

Run from the repository root (or pass --repo DIR, e.g. a ``git archive`` of an older commit):

    python scripts/layout_metrics.py                 # human-readable report
    python scripts/layout_metrics.py --json          # the same as JSON (for a before/after diff)
    python scripts/layout_metrics.py --top 20        # more of the largest modules

What it measures
- modules: every ``*.py`` under the package (``__init__.py`` counted as the package module), and their lines;
- import arrows between package modules, from ``import X`` / ``from X import Y`` / relative imports, at any depth
  of the file (imports inside functions are arrows too, flagged "lazy");
- import circles: strongly connected components of size > 1 of that graph (Tarjan), each with its arrows;
- arrows running upward: an import from a lower layer to a higher one (LAYERS below, by path prefix, so the same
  table serves the old and the new layout), plus forbidden third-party imports from ``core`` (airflow, LLM clients,
  AWS SDKs) and from ``aws`` (airflow).

No dependency beyond the standard library. tests/test_layers.py runs ``measure`` on the package (and on
synthetic bad trees) and fails on any circle, upward arrow or forbidden import: ARCHITECTURE.md has the table.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

PACKAGE = "airflow_provider_batchorch"

# Layer of a module, by the longest matching dotted prefix below PACKAGE. Lower number = lower floor (imported by
# higher ones, imports none of them). The names from before the layout refactor (issue 10) are listed too, so the
# same script measures an old checkout.
LAYERS: dict[str, int] = {
    # 0: plain Python, no Airflow / AWS SDK / LLM client
    "core": 0,
    "errors": 0,
    # 1: built-in demo agents (python callables; use core only)
    "builtin_agents": 1,
    "core.agents": 1,  # the built-in agents before they moved to builtin_agents/
    # 2: adapters to the outside world: AWS, agent kinds (LLM clients, Lambda, SFN), Airflow hooks, local harness
    "aws": 2,
    "agents": 2,
    "invocation": 2,
    "hooks": 2,
    "local": 2,
    "local_airflow": 2,
    # 3: Airflow pieces that operators build on
    "links": 3,
    "triggers": 3,
    "notifications": 3,
    # 4: operators and sensors
    "operators": 4,
    "sensors": 4,
    # 5: DAG builders, Airflow UI plugins
    "dag_builders": 5,
    "dag_factory": 5,
    "pipeline_dag": 5,
    "chat_dag": 5,
    "scheduled_dags": 5,
    "plugins": 5,
    "plugins.airflow_api": 2,  # a plain httpx client of Airflow's REST API (the launcher and the plugins use it)
    # 6: entry points: DAG files, the CLI and its local runs
    "dags": 6,
    "dag_builders.dags": 6,
    "cli": 6,
    "orchestrator": 3,  # the toolset, the orchestrator agent and its conversations: the chat operator builds on them
    "orchestrator.mcp_server": 6,  # entry points beside the CLI
    "orchestrator.embedded_run": 6,  # (runs cli.local_run)
    "local_run": 6,
    "local_retry": 6,
}
TOP_LAYER = 6

# Third-party roots that a layer must not import (the issue: core never imports aws/, Airflow or an LLM client).
FORBIDDEN_EXTERNAL: dict[str, set[str]] = {
    "core": {"airflow", "pydantic_ai", "openai", "anthropic", "boto3", "botocore", "aiobotocore", "moto"},
    "builtin_agents": {"airflow", "boto3", "botocore", "moto"},
    "aws": {"airflow"},
    "agents": {"airflow"},
}


def layer_key(module: str) -> str | None:
    """The longest LAYERS key that is a dotted prefix of ``module`` (given without the PACKAGE prefix)."""
    best = None
    for key in LAYERS:
        if module == key or module.startswith(key + "."):
            if best is None or len(key) > len(best):
                best = key
    return best


def group_of(module: str) -> str:
    """The first part of a module name inside the package ('core', 'aws', 'cli', ...) for the external rule."""
    rel = module[len(PACKAGE) + 1:] if module.startswith(PACKAGE + ".") else ""
    if rel.startswith("core.agents"):
        return "builtin_agents"
    return rel.split(".")[0] if rel else "__init__"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def collect_modules(root: Path) -> dict[str, Path]:
    pkg = root / PACKAGE
    return {
        module_name(p, root): p
        for p in sorted(pkg.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def resolve_relative(current: str, is_package: bool, level: int, target: str | None) -> str:
    base = current.split(".") if is_package else current.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports_of(path: Path, current: str) -> list[tuple[str, list[str], int, bool]]:
    """(imported module, names taken, line, lazy) for every import statement in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, list[str], int, bool]] = []
    is_package = path.name == "__init__.py"

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append((alias.name, [], child.lineno, lazy))
            elif isinstance(child, ast.ImportFrom):
                target = (resolve_relative(current, is_package, child.level, child.module)
                          if child.level else (child.module or ""))
                found.append((target, [a.name for a in child.names], child.lineno, lazy))
            visit(child, inner)

    visit(tree, False)
    return found


def build_graph(root: Path):
    modules = collect_modules(root)
    edges: dict[tuple[str, str], list[dict]] = {}
    external: list[dict] = []
    for mod, path in modules.items():
        for target, names, line, lazy in imports_of(path, mod):
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                # ``from pkg.sub import name``: name may be a submodule
                candidates = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules] or [target]
                for cand in candidates:
                    dest = cand
                    while dest not in modules and "." in dest:
                        dest = dest.rsplit(".", 1)[0]
                    if dest == mod or dest not in modules:
                        continue
                    edges.setdefault((mod, dest), []).append(
                        {"line": line, "names": names, "lazy": lazy})
            else:
                external.append({"module": mod, "imports": target, "line": line, "lazy": lazy})
    return modules, edges, external


def strongly_connected(nodes: list[str], edges: set[tuple[str, str]]) -> list[list[str]]:
    graph: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        graph[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                result.append(sorted(comp))

    for n in nodes:
        if n not in index:
            connect(n)
    return sorted(result)


def short(mod: str) -> str:
    return mod[len(PACKAGE) + 1:] if mod.startswith(PACKAGE + ".") else mod


def measure(root: Path, top: int) -> dict:
    modules, edges, external = build_graph(root)
    lines = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in modules.items()}
    top_level_loose = sorted(short(m) for m, p in modules.items()
                             if p.parent == root / PACKAGE and p.name != "__init__.py")
    top_level_packages = sorted(d.name for d in (root / PACKAGE).iterdir()
                                if d.is_dir() and (d / "__init__.py").exists())
    circles = []
    for comp in strongly_connected(sorted(modules), set(edges)):
        inside = set(comp)
        circles.append({
            "modules": [short(m) for m in comp],
            "arrows": [f"{short(a)} -> {short(b)} ({', '.join(sorted({n for e in es for n in e['names']})) or 'module'})"
                       f"{' [lazy]' if all(e['lazy'] for e in es) else ''}"
                       for (a, b), es in sorted(edges.items()) if a in inside and b in inside],
        })
    upward = []
    for (a, b), es in sorted(edges.items()):
        ka, kb = layer_key(short(a)), layer_key(short(b))
        if ka is None or kb is None:
            continue
        if LAYERS[kb] > LAYERS[ka]:
            upward.append(f"{short(a)} (L{LAYERS[ka]}) -> {short(b)} (L{LAYERS[kb]}) line {es[0]['line']}"
                          f"{' [lazy]' if all(e['lazy'] for e in es) else ''}")
    forbidden = []
    for e in external:
        group = group_of(e["module"])
        rootname = e["imports"].split(".")[0]
        if rootname in FORBIDDEN_EXTERNAL.get(group, set()):
            forbidden.append(f"{short(e['module'])} -> {e['imports']} line {e['line']}{' [lazy]' if e['lazy'] else ''}")
    unlayered = sorted(short(m) for m in modules if layer_key(short(m)) is None and m != PACKAGE)
    largest = sorted(lines.items(), key=lambda kv: -kv[1])[:top]
    per_folder: dict[str, list[int]] = {}
    for m, n in lines.items():
        rel = short(m).split(".")
        key = ".".join(rel[:2]) if rel[0] == "core" and len(rel) > 2 else rel[0]
        if modules[m].parent == root / PACKAGE:
            key = "(top-level module) " + rel[0] if rel[0] != PACKAGE else "__init__"
        per_folder.setdefault(key, [0, 0])
        per_folder[key][0] += 1
        per_folder[key][1] += n
    return {
        "repo": str(root),
        "modules": len(modules),
        "lines_total": sum(lines.values()),
        "top_level_loose_modules": top_level_loose,
        "top_level_packages": top_level_packages,
        "largest": [{"module": short(m), "lines": n} for m, n in largest],
        "per_folder": {k: {"modules": v[0], "lines": v[1]} for k, v in sorted(per_folder.items())},
        "arrows": len(edges),
        "circles": circles,
        "upward_arrows": upward,
        "forbidden_external_imports": forbidden,
        "modules_without_layer": unlayered,
    }


def report(m: dict) -> str:
    out = [f"repo: {m['repo']}",
           f"modules: {m['modules']}   lines: {m['lines_total']}   arrows (package-internal imports): {m['arrows']}",
           f"loose modules at the package top ({len(m['top_level_loose_modules'])}): "
           f"{', '.join(m['top_level_loose_modules'])}",
           f"packages at the package top ({len(m['top_level_packages'])}): {', '.join(m['top_level_packages'])}",
           "", f"largest modules (top {len(m['largest'])}):"]
    out += [f"  {r['lines']:5d}  {r['module']}" for r in m["largest"]]
    out += ["", "modules and lines per folder (core's sub-packages apart):"]
    out += [f"  {v['modules']:3d} modules {v['lines']:6d} lines  {k}" for k, v in m["per_folder"].items()]
    out += ["", f"import circles: {len(m['circles'])}"]
    for i, c in enumerate(m["circles"], 1):
        out.append(f"  circle {i}: {', '.join(c['modules'])}")
        out += [f"      {a}" for a in c["arrows"]]
    out += ["", f"arrows running upward (lower layer imports higher layer): {len(m['upward_arrows'])}"]
    out += [f"  {a}" for a in m["upward_arrows"]]
    out += ["", f"forbidden third-party imports (core -> airflow/LLM/AWS SDK, aws -> airflow): "
            f"{len(m['forbidden_external_imports'])}"]
    out += [f"  {a}" for a in m["forbidden_external_imports"]]
    if m["modules_without_layer"]:
        out += ["", "modules with no layer in LAYERS (add them): " + ", ".join(m["modules_without_layer"])]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=".", help="repository root (holds the package folder)")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    root = Path(args.repo).resolve()
    if not (root / PACKAGE).is_dir():
        parser.error(f"{root} has no {PACKAGE}/ folder; pass --repo")
    m = measure(root, args.top)
    print(json.dumps(m, indent=2) if args.json else report(m))
    return 0


if __name__ == "__main__":
    sys.exit(main())
