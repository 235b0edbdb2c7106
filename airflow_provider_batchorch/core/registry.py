"""The agent registry: look agents up by name or alias, refuse agents without structured output, and load
extra agents from a YAML / JSON file (or text fetched from S3 by the caller).

File format::

    agents:
      - name: sentiment-agent
        description: ...
        input_fields: [{name: text, type: string, required: true}]     # or just [text]
        output_schema: {type: object, properties: {...}, required: [...]}
        invocation: {kind: python, callable: "package.module:function"}
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from pydantic import ValidationError

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import (
    EscalationError,
    IncompatibleAgentError,
    RegistryError,
    UnknownAgentError,
)

_WORD = re.compile(r"[a-z0-9]+")
_NAME_NOISE = {"agent", "the", "a", "an", "and", "of", "for", "with"}


def agent_key(name: str) -> str:
    """How names are compared: case-insensitive, spaces and underscores read as hyphens."""
    return re.sub(r"[\s_]+", "-", name.strip().casefold())


def _words(text: str) -> set[str]:
    found = set(_WORD.findall(text.casefold())) - _NAME_NOISE
    return {w[:-1] if len(w) > 4 and w.endswith("s") else w for w in found}


def _similarity(query: AgentSpec | str, candidate: AgentSpec) -> float:
    """How alike two agents are by name (difflib) and by the words of their names, descriptions and
    capabilities (Jaccard). Used to suggest a compatible replacement."""
    if isinstance(query, AgentSpec):
        name, words = query.name, _words(" ".join([query.name, query.description, *query.capabilities]))
    else:
        name, words = query, _words(query)
    name_ratio = max(difflib.SequenceMatcher(None, agent_key(name), agent_key(n)).ratio()
                     for n in (candidate.name, *candidate.aliases))
    theirs = _words(" ".join([candidate.name, candidate.description, *candidate.capabilities]))
    overlap = len(words & theirs) / len(words | theirs) if words and theirs else 0.0
    return 0.5 * name_ratio + 0.5 * overlap


class AgentRegistry:
    """Agents by canonical name; a later spec with the same name replaces an earlier one."""

    def __init__(self, specs: Iterable[AgentSpec] = ()) -> None:
        self._specs: dict[str, AgentSpec] = {}
        for spec in specs:
            self._specs[agent_key(spec.name)] = spec
        self._aliases: dict[str, str] = {}
        for key, spec in self._specs.items():
            for alias in spec.aliases:
                alias_key = agent_key(alias)
                if alias_key not in self._specs:
                    self._aliases.setdefault(alias_key, key)

    # --- lookup -------------------------------------------------------------------------------------------

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find(name) is not None

    def __iter__(self) -> Iterator[AgentSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def _find(self, name: str) -> AgentSpec | None:
        key = agent_key(name)
        key = self._aliases.get(key, key)
        return self._specs.get(key)

    def get(self, name: str) -> AgentSpec:
        """The agent called ``name`` (or one of its aliases), case-insensitively; else ``UnknownAgentError``."""
        spec = self._find(name or "")
        if spec is not None:
            return spec
        names = self.names()
        candidates = {agent_key(n): s.name for s in self for n in (s.name, *s.aliases)}
        close = difflib.get_close_matches(agent_key(name or ""), list(candidates), n=1, cutoff=0.5)
        closest = candidates[close[0]] if close else self._most_similar(name or "", list(self))
        message = f"Unknown agent '{name}'."
        if closest:
            message += f" Did you mean '{closest}'?"
        raise UnknownAgentError(
            message,
            hint=f"Available agents: {', '.join(names) or '(none)'}.",
            details={"agent": name, "closest_agent": closest, "available_agents": names},
        )

    def validate(self, name: str) -> AgentSpec:
        """The agent, if it can be used for batch CSV output; ``IncompatibleAgentError`` when it has no
        structured output (no object output schema with properties)."""
        spec = self.get(name)
        if spec.is_structured:
            check_escalation(spec)
            return spec
        compatible = [s.name for s in self.compatible()]
        alternative = self.closest_compatible(spec)
        raise IncompatibleAgentError(
            f"The agent '{spec.name}' doesn't support structured output. "
            f"Please choose one of these compatible agents: {compatible}",
            hint=f"Use '{alternative.name}' for similar functionality" if alternative else
            "Register an agent with an output_schema (a JSON Schema of type object).",
            details={"agent": spec.name, "compatible_agents": compatible,
                     "closest_compatible_agent": alternative.name if alternative else None},
        )

    def closest_compatible(self, spec: AgentSpec | str) -> AgentSpec | None:
        """The structured-output agent most like ``spec`` by name and description."""
        own_name = spec.name if isinstance(spec, AgentSpec) else None
        return self._most_similar_spec(spec, [s for s in self.compatible() if s.name != own_name])

    @staticmethod
    def _most_similar_spec(query: AgentSpec | str, candidates: list[AgentSpec]) -> AgentSpec | None:
        if not candidates:
            return None
        return max(candidates, key=lambda candidate: _similarity(query, candidate))

    def _most_similar(self, query: str, candidates: list[AgentSpec]) -> str | None:
        best = self._most_similar_spec(query, candidates)
        return best.name if best is not None and _similarity(query, best) > 0.3 else None

    # --- listing ------------------------------------------------------------------------------------------

    def list(self) -> list[AgentSpec]:
        return list(self._specs.values())

    def names(self) -> list[str]:
        return [spec.name for spec in self._specs.values()]

    def compatible(self) -> list[AgentSpec]:
        return [spec for spec in self._specs.values() if spec.is_structured]

    def merged(self, other: "AgentRegistry | Iterable[AgentSpec]") -> "AgentRegistry":
        """A new registry: this one's agents, then ``other``'s, which replace same-named ones."""
        return AgentRegistry([*self._specs.values(), *other])

    def describe(self, name: str) -> dict[str, Any]:
        """The design document's ``validate_agent_compatibility`` answer for one agent."""
        spec = self.get(name)
        answer: dict[str, Any] = {
            "agent": spec.name,
            "version": spec.version,
            "description": spec.description,
            "compatible": spec.is_structured,
            "structured_output_enabled": spec.is_structured,
            "output_schema": spec.output_schema,
            "available_fields": spec.output_fields if spec.is_structured else [],
            "input_fields": [field.model_dump() for field in spec.input_fields],
        }
        if not spec.is_structured:
            alternative = self.closest_compatible(spec)
            answer["compatible_agents"] = [s.name for s in self.compatible()]
            answer["suggestion"] = f"Use '{alternative.name}' for similar functionality" if alternative else None
        return answer


# --- registry files ----------------------------------------------------------------------------------------


def _summarise(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(entry)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def check_output_schema(schema: Any) -> None:
    """Raise ``RegistryError`` when ``schema`` is not a valid JSON Schema (for its ``$schema`` dialect)."""
    if not isinstance(schema, dict):
        raise RegistryError(f"output_schema must be a JSON object (a JSON Schema), got {type(schema).__name__}.")
    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        raise RegistryError(f"output_schema is not a valid JSON Schema: {exc.message}"
                            + (f" (at '{where}')" if where else "")) from None


def _entry(raw: Any, position: int, source: str) -> AgentSpec:
    label = f"{source}: entry {position + 1}"
    if not isinstance(raw, dict):
        raise RegistryError(f"{label} must be a mapping with name, input_fields, output_schema and invocation.")
    label += f" ('{raw['name']}')" if isinstance(raw.get("name"), str) else ""
    entry = dict(raw)
    if isinstance(entry.get("input_fields"), list):  # shorthand: a bare name is a required string field
        entry["input_fields"] = [{"name": f} if isinstance(f, str) else f for f in entry["input_fields"]]
    return parse_agent_spec(entry, label)


def check_escalation(spec: AgentSpec) -> None:
    """``EscalationError`` unless ``spec``'s ``escalate_to`` (if any) was resolved to a trusted agent that can stand in
    for it: structured, with every output field of ``spec``, needing no input ``spec`` does not get."""
    if spec.escalate_to is None:
        return
    strong = spec.escalation_agent
    label = f"the agent '{spec.name}' escalates to '{spec.escalate_to}'"
    if strong is None:
        raise EscalationError(f"{label}, which is not a trusted agent (built in, a configured registry file, or the "
                              "AgentRegistry table).", hint="Add the stronger agent to a configured registry, or "
                              "remove escalate_to.", details={"agent": spec.name, "escalate_to": spec.escalate_to})
    missing = [name for name in spec.output_fields if name not in strong.output_fields]
    inputs = {field.name for field in spec.input_fields}
    unmet = [field.name for field in strong.required_inputs if field.name not in inputs]
    problem = ("which has no structured output" if not strong.is_structured else
               f"which lacks the output fields {missing}" if missing else
               f"which needs the inputs {unmet} that '{spec.name}' does not take" if unmet else "")
    if problem:
        raise EscalationError(f"{label}, {problem}.", hint="Escalate to an agent with the same output fields and "
                              "inputs.", details={"agent": spec.name, "escalate_to": strong.name})


def parse_agent_spec(data: dict[str, Any], label: str) -> AgentSpec:
    """A registry entry from any source -> a checked ``AgentSpec``; errors say which entry and what is wrong."""
    if "escalation_agent" in data:  # filled by the registry from trusted agents (registry_trust), never written
        raise RegistryError(f"{label} sets escalation_agent, which the registry fills in itself.",
                            hint="Name the stronger agent with escalate_to.")
    try:
        spec = AgentSpec.model_validate(data)
    except ValidationError as exc:
        raise RegistryError(f"{label} is invalid: {_summarise(exc)}",
                            hint="See examples/registry.yaml for the entry format.") from None
    if spec.output_schema is not None:
        try:
            check_output_schema(spec.output_schema)
        except RegistryError as exc:
            raise RegistryError(f"{label}: {exc.message}") from None
    return spec


def _parse(text: str, source: str) -> Any:
    as_json = source.lower().endswith(".json") or text.lstrip().startswith(("{", "["))
    if as_json:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}"
            raise RegistryError(f"{source} is not valid JSON: {exc.msg} at {where}.") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RegistryError(f"{source} is not valid YAML{where}: {problem}.") from None


def load_registry_text(text: str, source_name: str = "<registry>") -> AgentRegistry:
    """Agents from the text of a YAML or JSON registry file; ``source_name`` is used in error messages
    (and a ``.json`` suffix selects JSON)."""
    document = _parse(text, source_name)
    if isinstance(document, list):
        document = {"agents": document}
    if not isinstance(document, dict) or "agents" not in document:
        raise RegistryError(f"{source_name} must have a top-level 'agents' list.",
                            hint="See examples/registry.yaml for the format.")
    unknown = sorted(set(document) - {"agents", "version"})
    if unknown:
        raise RegistryError(f"{source_name} has unknown top-level keys {unknown}; expected 'agents'.")
    entries = document["agents"] or []
    if not isinstance(entries, list):
        raise RegistryError(f"{source_name}: 'agents' must be a list of agent entries.")
    specs: list[AgentSpec] = []
    seen: dict[str, int] = {}
    for position, raw in enumerate(entries):
        spec = _entry(raw, position, source_name)
        key = agent_key(spec.name)
        if key in seen:
            raise RegistryError(f"{source_name}: entry {position + 1} repeats the name '{spec.name}' "
                                f"(already used by entry {seen[key] + 1}).")
        seen[key] = position
        specs.append(spec)
    return AgentRegistry(specs)


def read_registry_file(path: str | Path) -> str:
    """The text of a local registry file; ``RegistryError`` when it is missing or unreadable."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise RegistryError(f"Registry file not found: {file}",
                            hint="Give the path of a YAML or JSON registry file (see examples/registry.yaml).")
    try:
        return file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError(f"Cannot read registry file {file}: {exc}") from None


def load_registry_file(path: str | Path) -> AgentRegistry:
    return load_registry_text(read_registry_file(path), str(Path(path).expanduser()))


# --- AgentRegistry table items -----------------------------------------------------------------------------

STRUCTURED_OUTPUT_AGENT_TYPE = "structured-output-agent"


def _json_value(value: Any, what: str, label: str) -> Any:
    """A value a table item may hold as JSON text (how the origin stores maps) or as a map."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise RegistryError(f"{label}: '{what}' is not JSON text ({exc.msg}).") from None


def _origin_schema(config: dict[str, Any], label: str) -> dict[str, Any] | None:
    """The output schema of an origin ``structured_output`` map: ``schema``, else the ``defaultSchema`` (or only)
    entry of ``schemas``, else one built from ``output_fields`` (any value per field)."""
    schema = _json_value(config.get("schema"), "structured_output.schema", label)
    schemas = config.get("schemas") or {}
    if schema is None and isinstance(schemas, dict) and schemas:
        chosen = schemas.get(config.get("defaultSchema") or config.get("default_schema") or "")
        chosen = chosen if chosen is not None else next(iter(schemas.values()))
        schema = chosen.get("schema", chosen) if isinstance(chosen, dict) else chosen
        schema = _json_value(schema, "structured_output.schemas", label)
    fields = config.get("output_fields") or config.get("outputFields") or []
    if schema is None and fields:
        schema = {"type": "object", "properties": {str(field): {} for field in fields}}
    return schema


def _origin_input_fields(item: dict[str, Any], label: str) -> list[Any]:
    fields = _json_value(item.get("input_fields"), "input_fields", label)
    if isinstance(fields, list):
        return [{"name": f} if isinstance(f, str) else f for f in fields]
    schema = _json_value(item.get("input_schema") or item.get("inputSchema"), "input_schema", label)
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        required = set(schema.get("required") or [])
        types = {"string", "integer", "number", "boolean"}
        return [{"name": name, "required": name in required,
                 "type": prop.get("type") if isinstance(prop, dict) and prop.get("type") in types else "string",
                 "description": prop.get("description", "") if isinstance(prop, dict) else ""}
                for name, prop in schema["properties"].items()]
    return []


def _origin_invocation(item: dict[str, Any], label: str) -> dict[str, Any]:
    invocation = _json_value(item.get("invocation"), "invocation", label)
    if isinstance(invocation, dict):
        return invocation
    arn = item.get("state_machine_arn") or item.get("stateMachineArn") or item.get("agentArn")
    if isinstance(arn, str) and arn.startswith("arn:"):
        return {"kind": "stepfunctions", "state_machine_arn": arn}
    raise RegistryError(f"{label} says neither how to call the agent ('invocation') nor its state machine "
                        "('state_machine_arn' or 'agentArn').",
                        hint="Add the agent's state machine ARN, or write it with `batchorch registry import`.")


def agent_from_table_item(item: dict[str, Any], label: str) -> AgentSpec:
    """An AgentRegistry table item (attribute values already plain Python) -> a checked ``AgentSpec``.

    Two shapes: this package's (``spec``: the whole spec as JSON, ``structured_output.enabled`` can switch it off)
    and the origin's (step-functions-agent): ``agent_name``/``agentId``, ``description``, ``system_prompt``,
    ``state_machine_arn``/``agentArn``, and ``structured_output`` or ``structuredOutput`` (a map or JSON text:
    ``enabled``, ``schema`` or ``schemas`` + ``defaultSchema``, ``output_fields``), or only ``metadata.type:
    structured-output-agent`` (then there is no schema, so the agent is listed as not structured).
    """
    name = item.get("agent_name") or item.get("agentId") or item.get("name")
    version = str(item.get("version") or "1")
    structured = _json_value(item.get("structured_output", item.get("structuredOutput")), "structured_output", label)
    if "spec" in item:
        data = _json_value(item["spec"], "spec", label)
        if not isinstance(data, dict):
            raise RegistryError(f"{label}: 'spec' must be a JSON object.")
        data = {**data, "name": name or data.get("name"), "version": version}
        if isinstance(structured, dict) and structured.get("enabled") is False:
            data["structured_output"] = False
        return parse_agent_spec(data, label)
    if not isinstance(name, str) or not name.strip():
        raise RegistryError(f"{label} has no agent name ('agent_name' or 'agentId').")
    metadata = _json_value(item.get("metadata"), "metadata", label)
    metadata = metadata if isinstance(metadata, dict) else {}
    config = structured if isinstance(structured, dict) else {"enabled": structured} if isinstance(structured, bool) else {}
    enabled = config.get("enabled")
    if enabled is None:
        enabled = (metadata.get("type") == STRUCTURED_OUTPUT_AGENT_TYPE or bool(metadata.get("structured_output_enabled"))
                   or bool(config))
    schema = _origin_schema(config, label)
    fields = [f for f in (config.get("output_fields") or []) if isinstance(f, str)]
    data = {
        "name": name.strip(),
        "version": version,
        "description": str(item.get("description") or ""),
        "capabilities": [str(c) for c in (_json_value(item.get("capabilities"), "capabilities", label) or [])],
        "input_fields": _origin_input_fields(item, label),
        "structured_output": bool(enabled),
        "output_schema": schema,
        "output_field_order": [f for f in fields if isinstance(schema, dict) and f in (schema.get("properties") or {})],
        "prompt": str(item.get("system_prompt") or item.get("prompt") or ""),
        "invocation": _origin_invocation(item, label),
    }
    return parse_agent_spec(data, label)
