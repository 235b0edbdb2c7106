"""The shipped batch_orchestrator DAG finds an agent in the AgentRegistry table named by the operator's setting
(``BATCHORCH_REGISTRY_TABLE``), not by anything in the run conf (issue 12)."""

from __future__ import annotations

import json
import uuid

import pytest

from airflow_provider_batchorch.aws.registry_table import REGISTRY_TABLE_ENV, create_registry_table, put_agent
from airflow_provider_batchorch.builtin_agents import builtin_registry

pytestmark = pytest.mark.e2e


def table_only_agent():
    """The built-in company enrichment under a name only the table knows."""
    spec = builtin_registry().get("company-enrichment-agent")
    return spec.model_copy(update={"name": "table-only-enricher", "aliases": [], "version": "7"})


def test_the_shipped_dag_finds_an_agent_in_the_table_named_by_the_env_setting(airflow_db, aws_conn, upload_csv,
                                                                             monkeypatch):
    from airflow_provider_batchorch.dag_builders.orchestrator import build_batch_orchestrator_dag

    ddb = aws_conn.client("dynamodb")
    table = create_registry_table(ddb, f"AgentRegistry-{uuid.uuid4().hex[:6]}")
    put_agent(ddb, table_only_agent(), table)
    # an item the origin wrote that is not a usable agent: skipped with a warning, the lookup still works
    ddb.put_item(TableName=table, Item={"agent_name": {"S": "origin-agent"}, "version": {"S": "v1.0"},
                                        "structuredOutput": {"S": json.dumps({"enabled": True})}})
    conf = {"csv_uri": upload_csv("company_name,website\nAcme,https://acme.example\n"),
            "agent": "table-only-enricher"}

    dag = build_batch_orchestrator_dag(poll_interval=0.5)  # the shipped factory, no table argument
    assert str(dag.test(run_conf=conf).state) == "failed"  # no setting: the table is not read

    monkeypatch.setenv(REGISTRY_TABLE_ENV, table)
    run = dag.test(run_conf=conf)
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "success", states
    assert states["validate_agent"] == "success"
