"""Offline natural language -> ``BatchRequest`` (or the question to ask). No LLM, no network, deterministic.

    parse_request("enrich s3://my-data/companies.csv with industry and employee count, 25 parallel workers",
                  builtin_registry())

What it understands:

- the CSV: ``s3://`` URIs, S3 ``https://`` URLs, Slack's ``<url|label>`` links, a bare ``companies.csv`` (looked
  for in the policy's default bucket); a URI after "save / write / output / results" is the output location;
- the agent: its name or an alias ("ticket classifier", "score customers"), else the agent whose name,
  capabilities and output fields best fit the goal words (``core.chat.recommendation``); a close tie is a question.
  With the input CSV's header (``columns``), when the words fit several agents about as well ("classify" fits
  ticket classification, industry classification and product categories) the one the columns feed is chosen;
  the columns never choose an agent the words do not fit, and a request that fits none gets the menu of the
  compatible agents, best fed by the columns first;
- numbers: "25 parallel workers", "concurrency 25", "10 at a time", "timeout 30s", "2 minutes per row",
  "chunks of 500 rows" (digits or words up to a hundred), read as written: "-5 parallel workers" is -5, "1e9" is
  a billion, "concurrency abc" is a number that cannot be read; the policy asks about each one out of range;
- output fields: named ("industry and employee count", "suggested responses"), or listed ("fields: a, b");
  "all fields" means every field;
- input mapping: ``company_name=Company``, "map company_name to Org", "use column 'Org Name' for company_name";
- "only new rows" (incremental), an encoding ("encoding cp1252"), and a schedule ("every day"), which a chat
  request reports but does not set up.

Anything a request says passes ``core.chat.request_policy.finalize_draft``: allowed agents and buckets, checked limits.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import BatchorchError
from airflow_provider_batchorch.core.mapping import normalize_name
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.core.chat.recommendation import column_fit, goal_similarity, goal_words, words
from airflow_provider_batchorch.core.registry import AgentRegistry, agent_key
from airflow_provider_batchorch.core.chat.request_policy import (
    EXAMPLE_REQUEST,
    ParsedRequest,
    RequestDraft,
    RequestPolicy,
    ask,
    finalize_draft,
)

MIN_GOAL_SCORE = 0.3  # share of the goal's words an agent must cover to be picked without asking
MIN_GOAL_MARGIN = 0.2  # ... and by how much it must beat the runner-up
NAME_WORD_BONUS = 0.25
# Agents whose goal fit is within this of the best are "about as good" for the words: the CSV's columns choose.
COLUMN_CHOICE_MARGIN = 0.5

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "hundred": 100, "a hundred": 100,
}
# A number as written, sign and exponent included (so "-5" is not read as 5); not the tail of a word or decimal.
_NUM = (r"((?<![\w.])[-+\u2212]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?(?:e[-+]?\d+)?|\.\d+|"
        + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r"))")
_UNIT_REQUIRED = r"(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)"
_UNIT = _UNIT_REQUIRED + "?"
_ROW_NOUNS = r"(?:rows?|records?|items?|lines?|calls?|requests?|compan(?:y|ies)|tickets?|address(?:es)?|products?|customers?)"

_CONCURRENCY = [
    rf"\b(?:concurrency|parallelism)(?:\s+level)?\s*(?:of|=|:|to|at|is)?\s*{_NUM}\b",
    rf"{_NUM}\s*(?:x\s+)?(?:parallel|concurrent|simultaneous)\b(?:\s+(?:workers?|executions?|calls?|requests?|"
    r"jobs?|tasks?|threads?|runs?|processes|invocations?|agents?))?",
    rf"{_NUM}\s+(?:workers?|threads?)\b",
    rf"{_NUM}\s+(?:{_ROW_NOUNS}\s+)?(?:at\s+(?:a|one)\s+time|in\s+parallel|at\s+once|concurrently|simultaneously)\b",
    rf"\b(?:parallel|concurrent)\s+(?:workers?|calls?|executions?)\s*[:=]\s*{_NUM}\b",
]
_TIMEOUT = [
    rf"\btime[- ]?out\s*(?:of|=|:|to|at|is|after)?\s*{_NUM}\s*{_UNIT}\b",
    rf"{_NUM}\s*{_UNIT}\s+(?:time[- ]?out|limit)\b",
    rf"{_NUM}[- ]?{_UNIT}[- ](?:time[- ]?out)\b",
    rf"\b(?:max(?:imum)?\s+|at\s+most\s+|up\s+to\s+)?{_NUM}\s*{_UNIT_REQUIRED}\s+(?:per|for\s+each|each|a|an)\s+{_ROW_NOUNS}\b",
]
_CHUNK_ROWS = [
    rf"\bchunks?\s+of\s+{_NUM}(?:\s+rows?)?\b",
    rf"{_NUM}\s+rows?\s+(?:per|each|a|in\s+each)\s+chunk\b",
    rf"\bchunk[_ ]?(?:rows|size)\s*(?:of|=|:)?\s*{_NUM}\b",
]
# A setting named with something that is not a number after it ("concurrency abc"): asked about, not ignored.
_WORD_AFTER = r"\s*(?P<sep>of|=|:|to|at|is)?\s*(?P<raw>[^\s,;]+)"
_UNREADABLE = {
    "concurrency": [rf"\b(?:concurrency|parallelism)(?:\s+level)?{_WORD_AFTER}"],
    "timeout_seconds": [rf"\btime[- ]?out{_WORD_AFTER}"],
    "chunk_rows": [rf"\bchunk[_ ]?(?:rows|size){_WORD_AFTER}", rf"\bchunks?\s+of{_WORD_AFTER}"],
}
_CLAUSE_END = re.compile(r"\s*(?:$|[,;.!?]|(?:and|with|then|but|please)\b)", re.I)
_NOT_A_VALUE = {"and", "with", "then", "but", "please", "per", "for", "of", "the", "a", "an", "is", "at", "to", "in",
                "on", "limit", "limits", "setting", "settings", "level", "rows", "row"}

_ENCODING = re.compile(
    r"\b(?:encoding|encoded(?:\s+(?:in|as))?|charset)\s*(?:is|=|:|of)?\s*([a-z][\w-]*\d[\w-]*|latin-?1|utf-?8|ascii)\b"
    r"|\b(cp1252|windows-1252|latin-?1|iso-8859-\d+|utf-16(?:-?[lb]e)?|shift[_-]jis)\b",
    re.I,
)
_SCHEDULE = re.compile(
    r"\b(?:every\s+(day|night|morning|week|hour|month|monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"|(daily|nightly|weekly|hourly|monthly))\b",
    re.I,
)
_INCREMENTAL = re.compile(r"\b(?:only\s+(?:the\s+)?(?:new|changed|new\s+or\s+changed)\s+(?:rows?|records?|lines?)"
                          r"|incremental(?:ly)?|skip\s+(?:the\s+)?(?:rows?\s+)?(?:already|done|unchanged))\b", re.I)
_SCHEDULES = {"day": "@daily", "night": "@daily", "morning": "@daily", "daily": "@daily", "nightly": "@daily",
              "week": "@weekly", "weekly": "@weekly", "hour": "@hourly", "hourly": "@hourly",
              "month": "@monthly", "monthly": "@monthly"}
_WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

_SLACK_LINK = re.compile(r"<((?:https?|s3|mailto):[^>|]+)(?:\|[^>]*)?>")
_SLACK_MARKUP = re.compile(r"<[@#!][^>]*>")
_S3_URI = re.compile(r"s3://[a-z0-9][a-z0-9.\-]{1,62}(?:/[^\s,;'\"<>()`]*)?", re.I)
_S3_HTTPS = re.compile(
    r"https://(?:(?P<vhost>[a-z0-9][a-z0-9.\-]*)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com"
    r"|s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com/(?P<path>[a-z0-9][a-z0-9.\-]*))/(?P<key>[^\s?#<>'\"]+)[^\s<>'\"]*",
    re.I,
)
_BARE_CSV = re.compile(r"(?<![\w/.:-])([\w.-]+(?:/[\w.-]+)*\.(?:csv|tsv))\b", re.I)
_OUTPUT_WORDS = {"save", "saving", "write", "writing", "store", "storing", "output", "outputs", "put", "result",
                 "results", "deliver", "upload", "destination"}

_QUOTED_OR_WORD = r"(\"[^\"]+\"|'[^']+'|`[^`]+`|[\w.-]+)"
_MAPPING = [
    re.compile(r"\b([a-z][\w]*)\s*(?:=|->|→|=>)\s*" + _QUOTED_OR_WORD, re.I),
    re.compile(r"\bmap(?:ping)?\s+(?:the\s+)?(?:column\s+)?" + _QUOTED_OR_WORD + r"\s+(?:column\s+)?(?:to|onto|as)\s+"
               r"(?:the\s+)?(?:input\s+)?(?:field\s+|column\s+)?" + _QUOTED_OR_WORD, re.I),
    re.compile(r"\buse\s+(?:the\s+)?column\s+" + _QUOTED_OR_WORD + r"\s+(?:for|as)\s+(?:the\s+)?(?:input\s+)?"
               + _QUOTED_OR_WORD, re.I),
    re.compile(r"\buse\s+(?:the\s+)?" + _QUOTED_OR_WORD + r"\s+column\s+(?:for|as)\s+(?:the\s+)?(?:input\s+)?"
               + _QUOTED_OR_WORD, re.I),
]
_FIELD_LIST = re.compile(
    r"\b(?:output\s+)?(?:fields?|columns?)\s*(?::|=)\s*([\w ,/-]+?)(?=[.;\n]|$|\s+(?:using|with|from|in|at|and\s+then)\b)",
    re.I,
)
_ALL_FIELDS = re.compile(r"\b(?:all|every|each)\s+(?:the\s+)?(?:output\s+)?(?:fields?|outputs?|columns?)\b|\beverything\b",
                         re.I)
_AGENT_TOKEN = re.compile(r"\b([a-z0-9]+(?:[-_][a-z0-9]+)*[-_]agent)\b", re.I)

# Words that name a field too vaguely to select it on their own ("count" of what?).
_GENERIC_FIELD_WORDS = {"count", "code", "type", "range", "estimate", "estimation", "method", "score", "valid", "is",
                        "need", "needs", "matched", "normalized", "key", "signal", "tier", "data", "value", "level",
                        "info", "field", "recommended", "flag"}
# After a verb-like use ("score my customers", "segment the list") a field word is not asking for the field.
_OBJECT_WORDS = {"my", "the", "our", "these", "those", "this", "that", "all", "every", "each", "them", "it", "a", "an"}


@dataclass
class _Text:
    """The request's words, with what has been consumed blanked out so it is not read twice."""

    text: str
    consumed: list[tuple[int, int]] = field(default_factory=list)

    def consume(self, start: int, end: int) -> None:
        self.consumed.append((start, end))

    def remaining(self) -> str:
        chars = list(self.text)
        for start, end in self.consumed:
            chars[start:end] = " " * (end - start)
        return "".join(chars)


def parse_request(
    text: str, registry: AgentRegistry, policy: RequestPolicy | None = None, columns: Sequence[str] = ()
) -> ParsedRequest:
    """The request as a validated ``BatchRequest``, or the clarifying question to ask.

    :param columns: The header of the request's input CSV (``input_csv_uri``), when it could be read. Data, not
        words of the request: it decides only between agents the words fit about as well, and orders the menu.
    """
    policy = policy or RequestPolicy(allowed_buckets=["*"])
    columns = list(columns)
    return parse_chat_text(text, lambda cleaned: draft_from_text(cleaned, registry, policy, columns), registry,
                           policy, columns)


def parse_chat_text(text: str, draft: Callable[[str], RequestDraft], registry: AgentRegistry,
                    policy: RequestPolicy, columns: Sequence[str] = ()) -> ParsedRequest:
    """Chat text without its Slack markup, drafted by ``draft`` and put through the policy (``finalize_draft``);
    an empty request is asked what to run. The offline parser's and the LLM's (``agents.llm_request_parser``)."""
    text = clean_chat_text(text)
    if not text:
        return ask("empty_request", f"What should I run? For example: {EXAMPLE_REQUEST}")
    return finalize_draft(draft(text), registry, policy, columns)


def input_csv_uri(text: str, policy: RequestPolicy) -> str | None:
    """The ``s3://`` URI of the one input CSV the request names, if its bucket is allowed (a bare name is looked
    for where the policy says); ``None`` otherwise. What may be read to choose the agent before parsing."""
    draft = RequestDraft()
    _read_locations(_Text(clean_chat_text(text)), draft)
    uri = (draft.csv_uri or "").strip()
    if not uri or draft.csv_candidates:
        return None
    uri = uri if uri.startswith("s3://") else policy.locate_bare_name(uri)
    if uri is None:
        return None
    try:
        bucket, key = parse_s3_uri(uri)
    except BatchorchError:
        return None
    return uri if key and policy.bucket_allowed(bucket) else None


def clean_chat_text(text: str) -> str:
    """Slack markup to plain text: ``<https://x|label>`` -> the URL, mentions dropped, entities decoded."""
    text = _SLACK_LINK.sub(lambda m: m.group(1), text or "")
    text = _SLACK_MARKUP.sub(" ", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def draft_from_text(text: str, registry: AgentRegistry, policy: RequestPolicy,
                    columns: Sequence[str] = ()) -> RequestDraft:
    source = _Text(text)
    draft = RequestDraft()
    _read_locations(source, draft)
    read_numbers(source, draft)
    draft.encoding = _read_encoding(source)
    draft.schedule = _read_schedule(source)
    draft.incremental = _consume(source, _INCREMENTAL)
    pairs = _read_mapping_pairs(source, {normalize_name(f.name) for spec in registry for f in spec.input_fields})
    listed_fields = _read_field_list(source)
    all_fields = bool(_ALL_FIELDS.search(source.remaining()))
    goal = source.remaining() + " " + " ".join(_file_words(uri) for uri in [draft.csv_uri or ""])
    agents = policy.usable_agents(registry)
    agent, mention_spans = _read_agent(goal, registry, agents, draft, list(columns))
    if agent is None:
        return draft
    draft.agent = agent.name
    draft.input_mapping = _orient_mapping(pairs, agent)
    if listed_fields:
        draft.output_fields = listed_fields
    elif not all_fields:
        draft.output_fields = mentioned_output_fields(agent, source.remaining(), mention_spans)
    return draft


# --- locations -------------------------------------------------------------------------------------------


def _read_locations(source: _Text, draft: RequestDraft) -> None:
    found: list[tuple[int, int, str]] = []
    for match in _S3_HTTPS.finditer(source.text):
        bucket = match.group("vhost") or match.group("path")
        found.append((match.start(), match.end(), f"s3://{bucket}/{match.group('key')}"))
        source.consume(match.start(), match.end())
    for match in _S3_URI.finditer(source.remaining()):
        found.append((match.start(), match.end(), match.group(0).rstrip(".,:;!?)")))
        source.consume(match.start(), match.end())
    inputs: list[str] = []
    for start, _, uri in sorted(found):
        before = re.findall(r"[a-z]+", source.text[max(0, start - 40):start].lower())[-5:]
        if _OUTPUT_WORDS & set(before) and draft.output_uri is None:
            draft.output_uri = uri
        elif uri not in inputs:
            inputs.append(uri)
    for match in _BARE_CSV.finditer(source.remaining()):
        inputs.append(match.group(1))
        source.consume(match.start(), match.end())
    if not inputs and draft.output_uri and draft.output_uri.lower().endswith((".csv", ".tsv")):
        inputs, draft.output_uri = [draft.output_uri], None  # "put it through X: s3://b/results.csv" is the input
    if len(inputs) > 1:
        draft.csv_candidates = inputs
    draft.csv_uri = inputs[0] if inputs else None


def _file_words(uri: str) -> str:
    name = uri.rstrip("/").split("/")[-1]
    return re.sub(r"\.(csv|tsv)$", "", name, flags=re.I).replace("_", " ").replace("-", " ")


# --- numbers ---------------------------------------------------------------------------------------------


def read_numbers(source: _Text, draft: RequestDraft) -> None:
    """Concurrency, the per-row timeout and chunk rows as written (unrounded, sign kept), and the words used for
    each in ``draft.numbers_written``; the policy checks them."""
    for name, read in (("concurrency", lambda: _first_number(source, _CONCURRENCY)), ("timeout_seconds",
                       lambda: _first_duration(source)), ("chunk_rows", lambda: _first_number(source, _CHUNK_ROWS))):
        found = read() or _unreadable(source, name)
        if found:
            value, draft.numbers_written[name] = found
            setattr(draft, name, value)


def numbers_in(text: str) -> RequestDraft:
    """Only the numbers of a request, read as ``parse_request`` reads them (locations skipped)."""
    source, draft = _Text(text), RequestDraft()
    _read_locations(source, draft)
    found = RequestDraft()
    read_numbers(source, found)
    return found


def _number(raw: str) -> float | int:
    raw = raw.lower().replace(",", "").replace("\u2212", "-")
    sign = -1 if raw.startswith("-") else 1
    value = sign * float(_NUMBER_WORDS.get(raw.lstrip("+-"), raw.lstrip("+-")))
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


def _first_match(source: _Text, patterns: list[str]) -> re.Match | None:
    remaining = source.remaining()
    matches = [m for pattern in patterns if (m := re.search(pattern, remaining, re.I))]
    if not matches:
        return None
    first = min(matches, key=lambda m: m.start())
    source.consume(first.start(), first.end())
    return first


def _first_number(source: _Text, patterns: list[str]) -> tuple[float | int, str] | None:
    match = _first_match(source, patterns)
    if match is None:
        return None
    raw = next(g for g in match.groups() if g)
    return _number(raw), raw


def _first_duration(source: _Text) -> tuple[float | int, str] | None:
    match = _first_match(source, _TIMEOUT)
    if match is None:
        return None
    value = _number(match.group(1))
    unit = (match.group(2) or "s").lower()
    written = match.string[match.start(1):match.end(2) if match.group(2) else match.end(1)]
    if unit.startswith("ms") or unit.startswith("milli"):
        return value / 1000, written
    if unit.startswith("h"):
        return value * 3600, written
    if unit.startswith("m"):
        return value * 60, written
    return value, written


def _unreadable(source: _Text, name: str) -> tuple[None, str] | None:
    """``(None, words)`` when the setting is named with a value that is no number: after ``=``/``:``, with a
    digit in it ("5x"), or closing its clause ("concurrency abc, timeout 30s")."""
    remaining = source.remaining()
    for pattern in _UNREADABLE[name]:
        for match in re.finditer(pattern, remaining, re.I):
            raw = match.group("raw").rstrip(".!?")
            if not raw or raw.lower() in _NOT_A_VALUE:
                continue
            if match.group("sep") in ("=", ":") or re.search(r"\d", raw) or _CLAUSE_END.match(
                    remaining, match.start("raw") + len(raw)):
                source.consume(match.start(), match.end())
                return None, raw
    return None


def _read_encoding(source: _Text) -> str | None:
    match = _ENCODING.search(source.remaining())
    if not match:
        return None
    name = (match.group(1) or match.group(2)).lower()
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    source.consume(match.start(), match.end())
    return name


def _consume(source: _Text, pattern: re.Pattern) -> bool:
    match = pattern.search(source.remaining())
    if match:
        source.consume(match.start(), match.end())
    return match is not None


def _read_schedule(source: _Text) -> str | None:
    match = _SCHEDULE.search(source.remaining())
    if not match:
        return None
    source.consume(match.start(), match.end())
    word = (match.group(1) or match.group(2)).lower()
    if word in _WEEKDAYS:
        return f"0 0 * * {_WEEKDAYS.index(word)}"
    return _SCHEDULES[word]


# --- mapping and fields ----------------------------------------------------------------------------------


def _unquote(value: str) -> str:
    return value.strip().strip("\"'`").strip()


def _read_mapping_pairs(source: _Text, input_names: set[str]) -> list[tuple[str, str]]:
    """``field=Column`` pairs (only for a known input field: ``max_concurrency=1000`` is no mapping) and the
    spelled-out forms ("map X to Y", "use column X for Y"), which are kept and checked against the agent."""
    pairs: list[tuple[str, str]] = []
    for pattern in _MAPPING:
        for match in pattern.finditer(source.remaining()):
            left, right = _unquote(match.group(1)), _unquote(match.group(2))
            if pattern is _MAPPING[0] and normalize_name(left) not in input_names:
                continue
            pairs.append((left, right))
            source.consume(match.start(), match.end())
    return pairs


def _orient_mapping(pairs: list[tuple[str, str]], agent: AgentSpec) -> dict[str, str]:
    """Each pair as input field -> column, whichever side names one of the agent's input fields."""
    inputs = {normalize_name(f.name) for f in agent.input_fields}
    mapping: dict[str, str] = {}
    for left, right in pairs:
        if normalize_name(left) not in inputs and normalize_name(right) in inputs:
            left, right = right, left
        mapping[left] = right
    return mapping


def _read_field_list(source: _Text) -> list[str]:
    match = _FIELD_LIST.search(source.remaining())
    if not match:
        return []
    source.consume(match.start(), match.end())
    items = re.split(r"\s*(?:,|/|\band\b)\s*", match.group(1).strip())
    return [item.strip().replace(" ", "_") for item in items if item.strip()]


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _word_list(text: str) -> list[tuple[int, str]]:
    return [(m.start(), _stem(m.group(0))) for m in re.finditer(r"[a-z0-9]+", text.lower())]


def _agent_words(agent: AgentSpec) -> set[str]:
    return {_stem(w) for name in (agent.name, *agent.aliases) for w in re.findall(r"[a-z0-9]+", name.lower())}


def mentioned_output_fields(agent: AgentSpec, text: str, skip_spans: list[tuple[int, int]] = ()) -> list[str]:
    """The agent's output fields a request names, in the order it names them.

    A field is named by its words in sequence ("employee count", "suggested responses"), or by one of its
    words that is specific ("revenue" -> revenue_estimate, "employee" -> employee_count and employee_range);
    the agent's own name words ("score customers") and a verb use ("segment the list") do not count.
    """
    words = [(pos, w) for pos, w in _word_list(text) if not any(s <= pos < e for s, e in skip_spans)]
    plain = [w for _, w in words]
    name_words = _agent_words(agent)
    field_words = {name: [_stem(w) for w in re.findall(r"[a-z0-9]+", name.lower())] for name in agent.output_fields}
    found: dict[str, int] = {}
    used: set[int] = set()
    for name, phrase in field_words.items():  # whole names first: "employee count" is not also "employee"
        size = len(phrase)
        for i in range(len(plain) - size + 1):
            if plain[i:i + size] == phrase and not _verb_use(plain, i, size, name_words):
                found[name] = i
                used.update(range(i, i + size))
                break
    for i, word in enumerate(plain):
        if i in used or word in _GENERIC_FIELD_WORDS or word in name_words or _verb_use(plain, i, 1, name_words):
            continue
        for name, phrase in field_words.items():
            if word in phrase:
                found.setdefault(name, i)
    return sorted(found, key=lambda name: (found[name], agent.output_fields.index(name)))


def _verb_use(words: list[str], index: int, size: int, name_words: set[str]) -> bool:
    after = words[index + size] if index + size < len(words) else ""
    return size == 1 and (after in _OBJECT_WORDS or after in name_words)


# --- agent -----------------------------------------------------------------------------------------------


def _phrase_spans(text: str, phrase_words: list[str]) -> list[tuple[int, int]]:
    pattern = r"\b" + r"[\s_-]+".join(re.escape(w) + r"(?:e?s)?" for w in phrase_words) + r"\b"
    return [(m.start(), m.end()) for m in re.finditer(pattern, text, re.I)]


def goal_fit(spec: AgentSpec, goal: str) -> float:
    """How well the goal's words fit the agent: the share its vocabulary covers (``goal_similarity``), plus
    NAME_WORD_BONUS for each goal word in the agent's own names ("customers" for customer-scorer-agent)."""
    share, _ = goal_similarity(spec, goal)
    own = {w for name in (spec.name, *spec.aliases) for w in words(name)} - {"agent"}
    return share + NAME_WORD_BONUS * len(own & set(goal_words(goal)))


def _read_agent(
    goal: str, registry: AgentRegistry, agents: list[AgentSpec], draft: RequestDraft, columns: list[str]
) -> tuple[AgentSpec | None, list[tuple[int, int]]]:
    """The agent the request names, else the one its goal fits; ``None`` leaves the question to the policy."""
    named: dict[str, list[tuple[int, int]]] = {}
    for spec in registry:
        for name in (spec.name, *spec.aliases):
            spans = _phrase_spans(goal, agent_key(name).split("-"))
            if spans:
                named.setdefault(spec.name, []).extend(spans)
    for match in _AGENT_TOKEN.finditer(goal):
        token = match.group(1)
        if token not in registry and not any(s <= match.start() < e for spans in named.values() for s, e in spans):
            draft.agent = token  # an agent we do not know: the policy says so and lists the ones we do
            return None, []
    if len(named) == 1:
        name, spans = next(iter(named.items()))
        spec = registry.get(name)
        if spec not in agents:
            draft.agent = spec.name  # named but not allowed: the policy refuses it with the allowed list
            return None, []
        return spec, spans
    if len(named) > 1:
        draft.agent_candidates = list(named)
        return None, []
    # Ranked over every structured-output agent, so a goal that fits a disallowed agent is refused as such
    # rather than handed to the best of the allowed ones.
    ranked = sorted(((goal_fit(spec, goal), spec) for spec in registry.compatible()), key=lambda pair: -pair[0])
    if not ranked or ranked[0][0] < MIN_GOAL_SCORE:
        return None, []
    best_score, best = ranked[0]
    close = [spec for score, spec in ranked if score > 0 and best_score - score < MIN_GOAL_MARGIN]
    fed = _fed_by_columns(ranked, columns)
    if fed is not None:
        best, close = fed, [fed]
    if len(close) > 1:
        draft.agent_candidates = [spec.name for spec in close]
        return None, []
    if best not in agents:
        draft.agent = best.name
        return None, []
    return best, []


def _fed_by_columns(ranked: list[tuple[float, AgentSpec]], columns: list[str]) -> AgentSpec | None:
    """Among the agents the words fit about as well as the best (at least ``MIN_GOAL_SCORE``, within
    ``COLUMN_CHOICE_MARGIN``), the one the columns feed: every required input has a column, and its
    ``column_fit`` beats every other's. ``None`` when there are no columns, one such agent, or no clear winner."""
    if not columns:
        return None
    best_score = ranked[0][0]
    fitting = [spec for score, spec in ranked if score >= MIN_GOAL_SCORE and best_score - score < COLUMN_CHOICE_MARGIN]
    if len(fitting) < 2:
        return None
    fits = sorted(((column_fit(spec, columns), spec) for spec in fitting), key=lambda pair: pair[0], reverse=True)
    (top_fit, top), (runner_up_fit, _) = fits[0], fits[1]
    coverage, _ = top_fit
    return top if coverage == 1.0 and top_fit > runner_up_fit else None
