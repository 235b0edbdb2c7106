"""What a chat request may ask for, and the one place a request draft becomes a ``BatchRequest``.

A draft comes from the offline parser (``core.chat.request_parser``) or from an LLM (``agents.llm_request_parser``);
either way ``finalize_draft`` applies the same rules, so nothing written in a request can widen them:

- agents: only structured-output agents of the configured registry, and only the allowed ones;
- buckets: the CSV and the output must be in an allowed bucket (``"*"`` allows any);
- outputs: never the input CSV, another run's files or the incremental state (``core.output_location``);
- numbers: concurrency, the per-row timeout and chunk rows must be in ``BatchRequest``'s ranges, and under the
  configured maxima; a value outside (0, -5, 5.5, 1e9, "abc") is asked about with the range, never capped,
  rounded or replaced by the default;
- the agent registry file comes from configuration, never from the request.

Configuration (``RequestPolicy.from_env``): ``BATCHORCH_CHAT_ALLOWED_BUCKETS`` (comma separated, ``*`` = any),
``BATCHORCH_CHAT_DEFAULT_BUCKET`` and ``BATCHORCH_CHAT_DEFAULT_PREFIX`` (where a bare ``companies.csv`` is
looked for; the default bucket is always allowed), ``BATCHORCH_CHAT_MAX_CONCURRENCY``,
``BATCHORCH_CHAT_MAX_TIMEOUT_SECONDS``, ``BATCHORCH_CHAT_ALLOWED_AGENTS``, ``BATCHORCH_CHAT_REGISTRY``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from typing import Annotated, Literal, Mapping, Union

from pydantic import BaseModel, Field, StrictFloat, StrictInt, ValidationError

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.chat.recommendation import rank_by_columns
from airflow_provider_batchorch.core.chat.replies import agent_menu
from airflow_provider_batchorch.core.errors import BatchorchError, InvalidConfError
from airflow_provider_batchorch.core.mapping import normalize_name, select_output_fields
from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.core.number_limits import NumberRange, number_range, show_number
from airflow_provider_batchorch.core.output_location import OutputRules, check_output_locations
from airflow_provider_batchorch.core.registry import AgentRegistry, agent_key
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri

ANY_BUCKET = "*"
EXAMPLE_REQUEST = "/enrich s3://my-data/companies.csv with industry and employee count"

QuestionReason = Literal[
    "empty_request",
    "missing_csv",
    "several_csvs",
    "csv_location",
    "missing_agent",
    "ambiguous_agent",
    "unknown_agent",
    "agent_not_allowed",
    "bucket_not_allowed",
    "unknown_output_field",
    "unknown_input_field",
    "unsafe_output",
    "invalid_number",
    "invalid_request",
]

# What a request may write for a number: kept as written (5.5 stays 5.5) for the checks; true is no number.
WrittenNumber = Annotated[Union[StrictInt, StrictFloat], Field(description="The number as written, unrounded")]


class RequestPolicy(BaseModel):
    """The deployment's rules for chat requests; set by whoever runs Airflow, never by a request."""

    allowed_buckets: list[str] = Field(default_factory=list, description='Buckets a request may use; "*" = any')
    default_bucket: str | None = Field(None, description="Where a bare file name (companies.csv) is looked for")
    default_prefix: str = Field("", description="Key prefix for bare file names, e.g. uploads/")
    default_concurrency: int = Field(10, ge=1, le=1000)
    max_concurrency: int = Field(50, ge=1, le=1000)
    max_timeout_seconds: float = Field(300, gt=0, le=900)
    allowed_agents: list[str] | None = Field(None, description="None = every structured-output agent")
    registry: str | None = Field(None, description="Extra agent registry file, passed on to the batch")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> "RequestPolicy":
        environ = os.environ if environ is None else environ

        def listed(name: str) -> list[str] | None:
            raw = environ.get(name, "").strip()
            return [item.strip() for item in raw.split(",") if item.strip()] if raw else None

        values: dict[str, object] = {
            "allowed_buckets": listed("BATCHORCH_CHAT_ALLOWED_BUCKETS") or [],
            "default_bucket": environ.get("BATCHORCH_CHAT_DEFAULT_BUCKET") or None,
            "default_prefix": environ.get("BATCHORCH_CHAT_DEFAULT_PREFIX", ""),
            "allowed_agents": listed("BATCHORCH_CHAT_ALLOWED_AGENTS"),
            "registry": environ.get("BATCHORCH_CHAT_REGISTRY") or None,
        }
        for key, name in (("max_concurrency", "BATCHORCH_CHAT_MAX_CONCURRENCY"),
                          ("default_concurrency", "BATCHORCH_CHAT_DEFAULT_CONCURRENCY"),
                          ("max_timeout_seconds", "BATCHORCH_CHAT_MAX_TIMEOUT_SECONDS")):
            if environ.get(name, "").strip():
                values[key] = environ[name].strip()
        values.update(overrides)
        return cls.model_validate(values)

    def bucket_allowed(self, bucket: str) -> bool:
        return ANY_BUCKET in self.allowed_buckets or bucket in self.allowed_buckets or bucket == self.default_bucket

    def allowed_bucket_list(self) -> str:
        buckets = [*self.allowed_buckets, *([self.default_bucket] if self.default_bucket else [])]
        return ", ".join(f"s3://{b}" for b in dict.fromkeys(buckets)) or "(none configured)"

    def locate_bare_name(self, name: str) -> str | None:
        """``companies.csv`` as ``s3://<default bucket>/<default prefix>companies.csv``; ``None`` without a default
        bucket or for a path (``export/tickets.csv``: where is it?)."""
        if not self.default_bucket or "/" in name.strip("/"):
            return None
        prefix = self.default_prefix.strip("/")
        return f"s3://{self.default_bucket}/{prefix + '/' if prefix else ''}{name}"

    def output_rules(self) -> OutputRules:
        """Outputs go only to the buckets chat requests may use (the default bucket included)."""
        buckets = [*self.allowed_buckets, *([self.default_bucket] if self.default_bucket else [])]
        return OutputRules(allowed_buckets=buckets, explicit=True)

    def usable_agents(self, registry: AgentRegistry) -> list[AgentSpec]:
        """The structured-output agents a request may name, in registry order."""
        compatible = registry.compatible()
        if self.allowed_agents is None:
            return compatible
        allowed = {agent_key(name) for name in self.allowed_agents}
        return [spec for spec in compatible if agent_key(spec.name) in allowed]


class RequestDraft(BaseModel):
    """What a request says, before the policy checks: every field may be missing or wrong."""

    csv_uri: str | None = Field(None, description="s3://bucket/key.csv of the input CSV, or a bare file name")
    agent: str | None = Field(None, description="The agent's registry name")
    agent_candidates: list[str] = Field(default_factory=list, description="Agents that fit equally well")
    concurrency: WrittenNumber | None = Field(None, description="Agent calls in flight, e.g. 25 for '25 parallel workers'")
    timeout_seconds: WrittenNumber | None = Field(None, description="Per-row timeout in seconds")
    chunk_rows: WrittenNumber | None = Field(None, description="Rows per chunk")
    numbers_written: dict[str, str] = Field(
        default_factory=dict, description="concurrency / timeout_seconds / chunk_rows -> the words the request uses "
        "for it (e.g. '-5', 'abc'); a number that cannot be read is only here, its field left empty")
    output_fields: list[str] = Field(default_factory=list, description="Output fields asked for; empty = all")
    input_mapping: dict[str, str] = Field(default_factory=dict, description="agent input field -> CSV column")
    output_uri: str | None = Field(None, description="s3://... where the output CSV should go, if asked")
    encoding: str | None = Field(None, description="CSV encoding when the user names one")
    incremental: bool = Field(False, description="Only new or changed rows call the agent ('only new rows')")
    schedule: str | None = Field(None, description="@daily, @weekly, @hourly or a cron if a schedule is asked")
    clarifying_question: str | None = Field(None, description="Ask this instead of guessing, when unclear")
    csv_candidates: list[str] = Field(default_factory=list, description="Several CSVs were named")


class ParsedRequest(BaseModel):
    """A validated ``BatchRequest``, or the question to ask before one can be built."""

    request: BatchRequest | None = None
    question: str | None = None
    reason: QuestionReason | None = None
    notes: list[str] = Field(default_factory=list, description="What was assumed, capped or left out")
    schedule: str | None = None

    @property
    def ready(self) -> bool:
        return self.request is not None


def ask(reason: QuestionReason, question: str, notes: list[str] | None = None) -> ParsedRequest:
    return ParsedRequest(question=question, reason=reason, notes=notes or [])


def _bucket_and_key(uri: str) -> tuple[str, str]:
    """``parse_s3_uri`` for a chat draft: ``("", "")`` when the URI names no bucket (the policy asks or refuses)."""
    try:
        return parse_s3_uri(uri)
    except InvalidConfError:
        return "", ""


def finalize_draft(draft: RequestDraft, registry: AgentRegistry, policy: RequestPolicy,
                   columns: Sequence[str] = ()) -> ParsedRequest:
    """Apply the policy to a draft: a ``BatchRequest`` the batch DAG accepts, or a question.

    :param columns: The input CSV's header, when it was read: a question about the agent offers the agents best
        fed by these columns first (they order the menu, never pick the agent).
    """
    notes: list[str] = []
    columns = list(columns)
    if draft.clarifying_question:
        return ask("invalid_request", draft.clarifying_question)
    if len(draft.csv_candidates) > 1:
        listed = ", ".join(draft.csv_candidates)
        return ask("several_csvs", f"You named several CSVs ({listed}): which one should I process?")
    refused = _refuse_buckets(draft, policy)  # first: nothing else in the request matters then
    if refused:
        return refused
    numbers = _checked_numbers(draft, policy)
    if isinstance(numbers, ParsedRequest):
        return numbers
    agents = policy.usable_agents(registry)
    agent = _resolve_agent(draft, registry, agents, columns)
    if isinstance(agent, ParsedRequest):
        return agent
    csv_uri = _resolve_csv(draft, policy, agent)
    if isinstance(csv_uri, ParsedRequest):
        return csv_uri
    try:
        output_fields = select_output_fields(agent, draft.output_fields) if draft.output_fields else []
    except BatchorchError as error:
        return ask("unknown_output_field", f"{error.message} {error.hint}")
    input_mapping = _resolve_input_mapping(draft.input_mapping, agent)
    if isinstance(input_mapping, ParsedRequest):
        return input_mapping
    if draft.schedule:
        notes.append(f"Asked to repeat {draft.schedule}: a chat request runs once now; schedule recurring runs "
                     "with a scheduled DAG.")
    conf: dict[str, object] = {
        "csv_uri": csv_uri,
        "agent": agent.name,
        "input_mapping": input_mapping,
        "output_fields": output_fields,
        "output_uri": draft.output_uri,
        "registry": policy.registry,
        "encoding": draft.encoding,
    }
    if draft.incremental:
        conf["incremental"] = True
    conf.update(numbers)
    try:
        request = BatchRequest.model_validate(conf)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return ask("invalid_request", f"I couldn't build a valid run from that ({problems}). Could you rephrase?")
    try:
        check_output_locations(request, policy.output_rules())
    except BatchorchError as error:
        return ask("unsafe_output", f"I can't write there: {error.message}. {error.hint}")
    return ParsedRequest(request=request, notes=notes, schedule=draft.schedule)


# What a user calls each number, and the maximum the policy sets for it (None: the model's range only).
_NUMBER_NAMES = {"concurrency": "concurrency", "timeout_seconds": "the timeout per row", "chunk_rows": "rows per chunk"}
_POLICY_MAXIMA = {"concurrency": "max_concurrency", "timeout_seconds": "max_timeout_seconds"}


def allowed_range(name: str, policy: RequestPolicy) -> NumberRange:
    """``BatchRequest``'s range for the number, with the policy's maximum when it is tighter."""
    allowed = number_range(BatchRequest, name)
    maximum = _POLICY_MAXIMA.get(name)
    return allowed.capped(getattr(policy, maximum), "the configured maximum") if maximum else allowed


def _checked_numbers(draft: RequestDraft, policy: RequestPolicy) -> dict[str, object] | ParsedRequest:
    """The draft's numbers as conf values, or one line naming each one outside its range. Checked, not coerced:
    -5 is not 5, 0 is not the default, 200 is not capped to 50 without asking."""
    values: dict[str, object] = {}
    problems: list[str] = []
    for name, label in _NUMBER_NAMES.items():
        value, written = getattr(draft, name), draft.numbers_written.get(name)
        if value is None and written is None:
            continue
        allowed = allowed_range(name, policy)
        if value is None or not allowed.accepts(value):
            shown = written if written is not None else show_number(value)
            problems.append(f"{label[0].upper()}{label[1:]} must be {allowed.describe()}; you wrote {shown}.")
        else:
            values[name] = int(value) if allowed.whole else float(value)
    if problems:
        return ask("invalid_number", " ".join(problems) + " What should I use?")
    if "concurrency" not in values:
        values["concurrency"] = min(policy.default_concurrency, policy.max_concurrency)
    default_timeout = BatchRequest.model_fields["timeout_seconds"].default
    if "timeout_seconds" not in values and default_timeout > policy.max_timeout_seconds:
        values["timeout_seconds"] = policy.max_timeout_seconds
    return values


def _menu(options: list[AgentSpec], columns: list[str]) -> str:
    return agent_menu(rank_by_columns(options, columns), columns)


def _resolve_agent(draft: RequestDraft, registry: AgentRegistry, agents: list[AgentSpec],
                   columns: list[str]) -> AgentSpec | ParsedRequest:
    allowed = {spec.name for spec in agents}
    if draft.agent:
        if draft.agent not in registry:
            names = {agent_key(n): spec.name for spec in agents for n in (spec.name, *spec.aliases)}
            close = difflib.get_close_matches(agent_key(draft.agent), list(names), n=1, cutoff=0.75)
            hint = f" Did you mean {names[close[0]]}?" if close else ""
            return ask("unknown_agent", f"I don't know the agent '{draft.agent}'.{hint} "
                       f"I can use:\n{_menu(agents, columns)}")
        spec = registry.get(draft.agent)
        if spec.name not in allowed:
            reason = "doesn't have structured output" if not spec.is_structured else "isn't enabled for chat requests"
            return ask("agent_not_allowed", f"The agent '{spec.name}' {reason}. I can use:\n{_menu(agents, columns)}")
        return spec
    candidates = [registry.get(name) for name in draft.agent_candidates if name in registry]
    candidates = [spec for spec in candidates if spec.name in allowed]
    if len(candidates) > 1:
        return ask("ambiguous_agent", "Which agent should process the rows?\n" + _menu(candidates, columns)
                   + "\nSay the agent's name in your request.")
    return ask("missing_agent", "What would you like to do with the rows? Available options with structured "
               "output support:\n" + _menu(agents, columns) + f"\nSay which one, for example: {EXAMPLE_REQUEST}")


def _resolve_csv(draft: RequestDraft, policy: RequestPolicy, agent: AgentSpec) -> str | ParsedRequest:
    doing = f"I'll use {agent.name}. "
    uri = (draft.csv_uri or "").strip()
    if not uri:
        return ask("missing_csv", f"{doing}Which CSV should I process? Give its S3 URI, e.g. "
                   f"s3://{policy.default_bucket or 'my-bucket'}/companies.csv.")
    if not uri.startswith("s3://"):
        located = policy.locate_bare_name(uri)
        if located is None:
            return ask("csv_location", f"{doing}Where is {uri}? Give its S3 URI, e.g. s3://my-bucket/{uri.split('/')[-1]}.")
        uri = located
    bucket, key = _bucket_and_key(uri)
    if not bucket or not key:
        return ask("csv_location", f"{doing}{uri} names no file: give s3://bucket/path/file.csv.")
    return uri


def _refuse_buckets(draft: RequestDraft, policy: RequestPolicy) -> ParsedRequest | None:
    if draft.output_uri and not draft.output_uri.startswith("s3://"):
        return ask("invalid_request", f"Where should the output go? Give an s3:// URI, not {draft.output_uri!r}.")
    for uri, verb in ((draft.csv_uri, "read"), (draft.output_uri, "write to")):
        if uri and uri.startswith("s3://") and not policy.bucket_allowed(bucket := _bucket_and_key(uri)[0]):
            return ask("bucket_not_allowed", f"I can't {verb} s3://{bucket}: chat requests may only "
                       f"use {policy.allowed_bucket_list()}.")
    return None


def _resolve_input_mapping(mapping: dict[str, str], agent: AgentSpec) -> dict[str, str] | ParsedRequest:
    fields = {normalize_name(field.name): field.name for field in agent.input_fields}
    resolved: dict[str, str] = {}
    for field, column in mapping.items():
        name = fields.get(normalize_name(field))
        if name is None:
            known = ", ".join(f.name for f in agent.input_fields)
            return ask("unknown_input_field", f"{agent.name} has no input field '{field}'; its inputs are {known}. "
                       "Which column goes to which input?")
        resolved[name] = column.strip()
    return resolved
