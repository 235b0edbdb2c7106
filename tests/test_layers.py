"""The import rules of ARCHITECTURE.md, read from the code with ``ast`` (function-level imports included):

- ``core/`` imports nothing above it (``builtin_agents/``, ``agents/``, ``aws/``, ...), nor Airflow, an LLM client
  (pydantic_ai, openai, anthropic), boto3/botocore or moto;
- ``agents/`` and ``aws/`` do not import Airflow; ``builtin_agents/`` imports neither Airflow nor an AWS SDK;
- no import circle inside the package, and no arrow from a lower layer to a higher one (``LAYERS`` in
  scripts/layout_metrics.py, which this test shares its import reader with).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_metrics():
    spec = importlib.util.spec_from_file_location("layout_metrics", ROOT / "scripts" / "layout_metrics.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("layout_metrics", module)
    spec.loader.exec_module(module)
    return module


layout_metrics = _load_metrics()

# Known exceptions (none left: issue 10 moved the last one, Airflow's stats client, from aws.job_records to
# hooks.batch_metrics). The test fails when this set has an entry the code no longer has, so it only shrinks.
KNOWN_FORBIDDEN: set[str] = set()


def _without_line(entry: str) -> str:
    return entry.split(" line ")[0]


@pytest.fixture(scope="module")
def package():
    return layout_metrics.measure(ROOT, top=10)


def test_every_module_has_a_layer(package):
    assert package["modules_without_layer"] == [], "add the new folder to LAYERS in scripts/layout_metrics.py"


def test_no_import_circle(package):
    assert package["circles"] == []


def test_no_arrow_runs_upward(package):
    assert package["upward_arrows"] == []


def test_no_forbidden_third_party_import(package):
    found = {_without_line(entry) for entry in package["forbidden_external_imports"]}
    assert found - KNOWN_FORBIDDEN == set(), package["forbidden_external_imports"]
    assert KNOWN_FORBIDDEN - found == set(), "gone from the code: remove it from KNOWN_FORBIDDEN"


# ---- the checker itself, on a synthetic tree: it must be able to fail

def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    package = tmp_path / layout_metrics.PACKAGE
    for rel, text in {"__init__.py": "", "core/__init__.py": "", "aws/__init__.py": "",
                      "agents/__init__.py": "", **files}.items():
        path = package / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_a_clean_tree_passes(tmp_path):
    root = _tree(tmp_path, {
        "core/plain.py": "import json\n",
        "aws/store.py": "import boto3\nfrom airflow_provider_batchorch.core import plain\n",
        "agents/kind.py": "from ..core.plain import json\n",
    })
    m = layout_metrics.measure(root, top=3)
    assert (m["circles"], m["upward_arrows"], m["forbidden_external_imports"], m["modules_without_layer"]) == (
        [], [], [], [])


def test_core_importing_aws_inside_a_function_is_an_upward_arrow_and_a_circle(tmp_path):
    root = _tree(tmp_path, {
        "core/calls.py": "def build():\n    from airflow_provider_batchorch.aws.lambda_agent import call\n",
        "aws/lambda_agent.py": "from airflow_provider_batchorch.core.calls import build\ncall = build\n",
    })
    m = layout_metrics.measure(root, top=3)
    assert m["upward_arrows"] == ["core.calls (L0) -> aws.lambda_agent (L2) line 2 [lazy]"]
    assert [c["modules"] for c in m["circles"]] == [["aws.lambda_agent", "core.calls"]]


def test_core_importing_airflow_an_llm_client_or_an_aws_sdk_is_forbidden(tmp_path):
    root = _tree(tmp_path, {"core/bad.py": (
        "import boto3\nfrom pydantic_ai import Agent\n"
        "def f():\n    import airflow.sdk\n    import openai, anthropic, moto, botocore.config\n")})
    found = {_without_line(e) for e in layout_metrics.measure(root, top=3)["forbidden_external_imports"]}
    assert found == {"core.bad -> boto3", "core.bad -> pydantic_ai", "core.bad -> airflow.sdk", "core.bad -> openai",
                     "core.bad -> anthropic", "core.bad -> moto", "core.bad -> botocore.config"}


def test_agents_and_aws_importing_airflow_is_forbidden(tmp_path):
    root = _tree(tmp_path, {"agents/kind.py": "from airflow.hooks.base import BaseHook\n",
                            "aws/store.py": "def f():\n    from airflow.sdk import Variable\n"})
    found = {_without_line(e) for e in layout_metrics.measure(root, top=3)["forbidden_external_imports"]}
    assert found == {"agents.kind -> airflow.hooks.base", "aws.store -> airflow.sdk"}


def test_a_relative_import_upward_is_seen(tmp_path):
    root = _tree(tmp_path, {"core/rel.py": "from ..agents import kind\n", "agents/kind.py": ""})
    assert layout_metrics.measure(root, top=3)["upward_arrows"] == ["core.rel (L0) -> agents.kind (L2) line 1"]


def test_a_new_folder_without_a_layer_is_reported(tmp_path):
    root = _tree(tmp_path, {"gadgets/__init__.py": "", "gadgets/thing.py": ""})
    assert layout_metrics.measure(root, top=3)["modules_without_layer"] == ["gadgets", "gadgets.thing"]
