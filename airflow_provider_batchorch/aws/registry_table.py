"""The DynamoDB ``AgentRegistry`` table as an agent source (plain boto3 DynamoDB client passed in).

Key: ``agent_name`` (S, partition) and ``version`` (S, sort). Each item holds the whole spec as JSON in
``spec`` plus a ``structured_output`` map (``enabled``, ``schema`` as JSON text, ``output_fields``) so the
table can be read by other tools and an agent can be switched off by setting ``enabled`` to false.
Loading keeps the latest version of every agent. Reading the table needs ``dynamodb:Scan``.

Items written by the origin (step-functions-agent: ``structured_output`` / ``structuredOutput`` as JSON text,
``metadata.type``, ``state_machine_arn`` / ``agentArn``) are read too (``core/registry.agent_from_table_item``);
an item that is not a valid agent is skipped with a warning naming it.

Which table: ``configured_registry_table`` -- an operator setting (``BATCHORCH_REGISTRY_TABLE``, the AWS
connection extra ``batchorch_registry_table``, or the DAG factory's ``registry_table``), never the run conf.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from airflow_provider_batchorch.aws.dynamodb_tables import ensure_table
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import RegistryError
from airflow_provider_batchorch.core.registry import AgentRegistry, agent_from_table_item

log = logging.getLogger(__name__)

TABLE_NAME = "AgentRegistry"
REGISTRY_TABLE_ENV = "BATCHORCH_REGISTRY_TABLE"
REGISTRY_TABLE_EXTRA = "batchorch_registry_table"
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


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values -> plain Python (numbers as int or float)."""
    from boto3.dynamodb.types import TypeDeserializer  # here: the DAG files import this module

    deserializer = TypeDeserializer()

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, dict):
            return {key: plain(v) for key, v in value.items()}
        if isinstance(value, (list, set, tuple)):
            return [plain(v) for v in value]
        return value

    return {key: plain(deserializer.deserialize(value)) for key, value in item.items()}


def _item_label(item: dict[str, Any], table: str) -> str:
    name = item.get("agent_name", {}).get("S", "?")
    version = item.get("version", {}).get("S", "?")
    return f"DynamoDB table {table}: agent '{name}' version '{version}'"


def spec_from_item(item: dict[str, Any], table: str = TABLE_NAME) -> AgentSpec:
    """One table item (low-level attribute values), in this package's shape or the origin's, as an AgentSpec;
    ``RegistryError`` naming the item when it is not a valid agent."""
    label = _item_label(item, table)
    try:
        plain = _plain(item)
    except (TypeError, ValueError) as exc:
        raise RegistryError(f"{label} holds attribute values that cannot be read ({exc}).") from None
    return agent_from_table_item(plain, label)


def load_registry_table(ddb: Any, table: str = TABLE_NAME) -> AgentRegistry:
    """The latest version of every agent in the table. An item that is not a valid agent is left out with a
    warning naming it (the other agents stay usable); a missing table is a ``RegistryError``."""
    items: list[dict[str, Any]] = []
    try:
        for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            items.extend(page.get("Items", []))
    except ClientError as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            raise RegistryError(f"DynamoDB table {table} not found.",
                                hint=f"Create it with `batchorch registry import FILE --table {table}`, or set "
                                f"{REGISTRY_TABLE_ENV} to the table that holds your agents.") from None
        raise
    by_agent: dict[str, dict[str, dict[str, Any]]] = {}
    for item in items:
        name = item.get("agent_name", {}).get("S")
        version = item.get("version", {}).get("S")
        if name and version is not None:
            by_agent.setdefault(name, {})[version] = item
    specs = []
    for _, versions in sorted(by_agent.items()):
        item = versions[latest_version(versions)]
        try:
            specs.append(spec_from_item(item, table))
        except RegistryError as exc:
            log.warning("Skipped %s: %s", _item_label(item, table), exc)
    return AgentRegistry(specs)


def configured_registry_table(explicit: str | None = None, connection_extra: Mapping[str, Any] | None = None,
                              environ: Mapping[str, str] | None = None) -> str | None:
    """The AgentRegistry table the deployment configured, or ``None``: the DAG factory's ``registry_table``, else
    ``BATCHORCH_REGISTRY_TABLE``, else the AWS connection extra's ``batchorch_registry_table``.

    An operator setting on purpose, never a run-conf value: the table is a trusted source (its python agents run),
    so whoever triggers a run must not be able to pick it."""
    environ = os.environ if environ is None else environ
    for candidate in (explicit, environ.get(REGISTRY_TABLE_ENV), (connection_extra or {}).get(REGISTRY_TABLE_EXTRA)):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None


def load_configured_registry_table(ddb: Any, explicit: str | None = None,
                                   connection_extra: Mapping[str, Any] | None = None) -> AgentRegistry | None:
    """The agents of the configured table (``configured_registry_table``), or ``None`` when none is configured."""
    table = configured_registry_table(explicit, connection_extra)
    return load_registry_table(ddb, table) if table else None
