"""The DynamoDB ``AgentRegistry`` table as an agent source (plain boto3 DynamoDB client passed in).

Key: ``agent_name`` (S, partition) and ``version`` (S, sort). Each item holds the whole spec as JSON in
``spec`` plus a ``structured_output`` map (``enabled``, ``schema`` as JSON text, ``output_fields``) so the
table can be read by other tools and an agent can be switched off by setting ``enabled`` to false.
Loading keeps the latest version of every agent. Reading the table needs ``dynamodb:Scan``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Iterable

from botocore.exceptions import ClientError

from airflow_provider_batchorch.aws.dynamodb_tables import ensure_table
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import RegistryError
from airflow_provider_batchorch.core.registry import AgentRegistry, parse_agent_spec

TABLE_NAME = "AgentRegistry"
_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def create_registry_table(ddb: Any, name: str = TABLE_NAME) -> str:
    """Create the table (on-demand billing) unless it exists; wait until it is active. Returns its name."""
    return ensure_table(
        ddb,
        name,
        KeySchema=[{"AttributeName": "agent_name", "KeyType": "HASH"},
                   {"AttributeName": "version", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "agent_name", "AttributeType": "S"},
                              {"AttributeName": "version", "AttributeType": "S"}],
    )


def agent_item(spec: AgentSpec) -> dict[str, Any]:
    """The DynamoDB item (low-level attribute values) of one agent version."""
    schema = spec.output_schema
    return {
        "agent_name": {"S": spec.name},
        "version": {"S": spec.version},
        "description": {"S": spec.description},
        "spec": {"S": spec.model_dump_json()},
        "structured_output": {"M": {
            "enabled": {"BOOL": spec.is_structured},
            "schema": {"S": json.dumps(schema)} if schema is not None else {"NULL": True},
            "output_fields": {"L": [{"S": field} for field in spec.output_fields]},
        }},
        "updated_at": {"S": datetime.now(timezone.utc).isoformat(timespec="seconds")},
    }


def put_agent(ddb: Any, spec: AgentSpec, table: str = TABLE_NAME) -> None:
    """Store (or replace) one agent version."""
    ddb.put_item(TableName=table, Item=agent_item(spec))


def put_agents(ddb: Any, specs: Iterable[AgentSpec], table: str = TABLE_NAME) -> int:
    count = 0
    for spec in specs:
        put_agent(ddb, spec, table)
        count += 1
    return count


def latest_version(versions: Iterable[str]) -> str:
    """The newest of some versions: numerically (``"10" > "9"``, ``"1.10.0" > "1.9.2"``, a release above its
    pre-releases) when all of them look like numbers or semver, else the lexically greatest."""
    candidates = list(versions)
    parsed = {version: _VERSION.match(version) for version in candidates}
    if not all(parsed.values()):
        return max(candidates)
    numbers = {v: tuple(int(part) for part in m.group(1).split(".")) for v, m in parsed.items() if m}
    width = max(len(n) for n in numbers.values())

    def key(version: str) -> tuple[tuple[int, ...], bool, str]:
        prerelease = parsed[version].group(2)  # type: ignore[union-attr]
        return numbers[version] + (0,) * (width - len(numbers[version])), prerelease is None, prerelease or ""

    return max(candidates, key=key)


def _spec_from_item(item: dict[str, Any], table: str) -> AgentSpec:
    name = item.get("agent_name", {}).get("S", "?")
    version = item.get("version", {}).get("S", "?")
    label = f"DynamoDB table {table}: agent '{name}' version '{version}'"
    if "spec" not in item:
        raise RegistryError(f"{label} has no 'spec' attribute.",
                            hint="Write agents with put_agent() so the item holds the spec as JSON.")
    try:
        data = json.loads(item["spec"]["S"])
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise RegistryError(f"{label}: 'spec' is not JSON text ({exc}).") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{label}: 'spec' must be a JSON object.")
    data.update(name=name, version=version)
    enabled = item.get("structured_output", {}).get("M", {}).get("enabled", {}).get("BOOL")
    if enabled is False:
        data["structured_output"] = False
    return parse_agent_spec(data, label)


def load_registry_table(ddb: Any, table: str = TABLE_NAME) -> AgentRegistry:
    """The latest version of every agent in the table."""
    items: list[dict[str, Any]] = []
    try:
        for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            items.extend(page.get("Items", []))
    except ClientError as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            raise RegistryError(f"DynamoDB table {table} not found.",
                                hint="Create it with create_registry_table() (batchorch deploy does).") from None
        raise
    by_agent: dict[str, dict[str, dict[str, Any]]] = {}
    for item in items:
        name = item.get("agent_name", {}).get("S")
        version = item.get("version", {}).get("S")
        if name and version is not None:
            by_agent.setdefault(name, {})[version] = item
    specs = [_spec_from_item(versions[latest_version(versions)], table)
             for _, versions in sorted(by_agent.items())]
    return AgentRegistry(specs)
