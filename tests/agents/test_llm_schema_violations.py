"""A corpus of wrong answers, each sent persistently by a real OpenAI-compatible HTTP server: every one must
fail its row (after the re-ask) with a reason that names the field, or says why it is not a JSON object."""

import asyncio
import json

import pytest

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.errors import AgentRowError
from airflow_provider_batchorch.agents.llm_agent import LlmAgent
from airflow_provider_batchorch.core.output_validation import OutputValidator, SchemaViolation
from airflow_provider_batchorch.core.backoff import RetryPolicy
from tests.support.openai_stub_server import OpenAIStubServer, Reply, StubRequest, answer

SCHEMA = {
    "type": "object",
    "properties": {
        "company": {"type": "string", "minLength": 1, "maxLength": 40},
        "industry": {"type": "string", "enum": ["tech", "retail", "finance"]},
        "employee_count": {"type": "integer", "minimum": 0, "maximum": 5000000},
        "confidence_score": {"type": "number", "minimum": 0, "maximum": 1},
        "website": {"type": ["string", "null"], "pattern": "^https?://"},
        "ticker": {"type": "string", "pattern": "^[A-Z]{1,5}$"},
        "is_public": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3, "uniqueItems": True},
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "contacts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"email": {"type": "string", "format": "email"}, "role": {"type": "string"}},
                "required": ["email"],
            },
        },
        "founded": {"type": "string", "format": "date"},
        "homepage": {"type": "string", "format": "uri"},
        "domain": {"type": "string", "format": "hostname"},
        "updated_at": {"type": "string", "format": "date-time"},
        "server_ipv4": {"type": "string", "format": "ipv4"},
        "server_ipv6": {"type": "string", "format": "ipv6"},
        "record_id": {"type": "string", "format": "uuid"},
        "rating": {"type": "integer", "multipleOf": 5},
        "kind": {"const": "company"},
    },
    "required": ["company", "industry", "employee_count", "confidence_score", "kind"],
    "additionalProperties": False,
}
GOOD = {
    "company": "Acme",
    "industry": "tech",
    "employee_count": 120,
    "confidence_score": 0.8,
    "website": "https://acme.example",
    "ticker": "ACME",
    "is_public": True,
    "tags": ["b2b"],
    "address": {"city": "Paris", "zip": "75001"},
    "contacts": [{"email": "ceo@acme.example", "role": "CEO"}],
    "founded": "1999-05-01",
    "homepage": "https://acme.example/about?lang=en",
    "domain": "www.acme.example",
    "updated_at": "2024-05-01T10:30:00Z",
    "server_ipv4": "192.0.2.10",
    "server_ipv6": "2001:db8::10",
    "record_id": "3f2b8c1e-9d4a-4e7b-8a6f-1c2d3e4f5a6b",
    "rating": 15,
    "kind": "company",
}


def good(**changes):
    value = json.loads(json.dumps(GOOD))
    for path, new in changes.items():
        target, *rest = path.split("__")
        holder = value
        keys = [target, *rest]
        for key in keys[:-1]:
            holder = holder[int(key)] if isinstance(holder, list) else holder[key]
        last = keys[-1]
        if new is DROP:
            del holder[last]
        elif isinstance(holder, list):
            holder[int(last)] = new
        else:
            holder[last] = new
    return json.dumps(value)


DROP = object()

# (kind of violation, raw answer, what the reason must name)
CORPUS = [
    ("missing required", good(company=DROP), "company"),
    ("missing nested required", good(address__city=DROP), "city"),
    ("integer as text", good(employee_count="many"), "employee_count"),
    ("number as text", good(confidence_score="0.9"), "confidence_score"),
    ("float for integer", good(employee_count=12.5), "employee_count"),
    ("boolean as text", good(is_public="yes"), "is_public"),
    ("not in enum", good(industry="food"), "industry"),
    ("null where not allowed", good(industry=None), "industry"),
    ("extra property (additionalProperties false)", good(ceo="Jane"), "ceo"),
    ("extra nested property", good(address__country="FR"), "country"),
    ("below minimum", good(employee_count=-5), "employee_count"),
    ("above maximum", good(confidence_score=1.5), "confidence_score"),
    ("pattern", good(ticker="acme"), "ticker"),
    ("nested pattern", good(address__zip="ABC"), "address.zip"),
    ("nullable field with a bad pattern", good(website="acme.example"), "website"),
    ("array item of wrong type", good(tags=[1]), "tags[0]"),
    ("too many items", good(tags=["a", "b", "c", "d"]), "tags"),
    ("duplicate items", good(tags=["a", "a"]), "tags"),
    ("array object item missing required", good(contacts=[{"role": "CEO"}]), "email"),
    ("format email", good(contacts__0__email="not-an-email"), "contacts[0].email"),
    ("format date", good(founded="yesterday"), "founded"),
    ("format uri", good(homepage="acme dot example"), "homepage"),
    ("format hostname", good(domain="-acme-.example"), "domain"),
    ("format date-time", good(updated_at="2024-05-01 10:30"), "updated_at"),
    ("format ipv4", good(server_ipv4="300.1.2.3"), "server_ipv4"),
    ("format ipv6", good(server_ipv6="2001:db8::10::1"), "server_ipv6"),
    ("format uuid", good(record_id="3f2b8c1e-9d4a"), "record_id"),
    ("empty string below minLength", good(company=""), "company"),
    ("string above maxLength", good(company="x" * 41), "company"),
    ("multipleOf", good(rating=7), "rating"),
    ("const", good(kind="person"), "kind"),
    ("object given as text", good(address="Paris"), "address"),
    ("array given as text", good(tags="b2b"), "tags"),
    ("violation inside a markdown fence", "```json\n" + good(industry="food") + "\n```", "industry"),
    ("truncated JSON", good()[:-15], "Truncated JSON"),
    ("non-JSON text", "Acme is a technology company with about 120 employees.", "Invalid JSON"),
    ("empty answer", "", "Empty"),
    ("whitespace only", "   \n ", "Empty"),
    ("JSON array instead of object", json.dumps([GOOD]), "array"),
    ("JSON string instead of object", json.dumps("tech"), "string"),
    ("JSON null", "null", "null"),
    ("text after the JSON", good() + " Hope this helps!", "Invalid JSON"),
]


@pytest.fixture(scope="module")
def server():
    answers = {f"case-{i}": raw for i, (_, raw, _) in enumerate(CORPUS)}

    def persistent(request: StubRequest) -> Reply:
        return answer(answers.get(str((request.row or {}).get("id")), GOOD))

    with OpenAIStubServer(persistent) as running:
        yield running


def make_agent(base_url):
    spec = AgentSpec(
        name="company-enrichment-agent",
        input_fields=[{"name": "id"}],
        output_schema=SCHEMA,
        prompt="Enrich the company.",
        invocation={"kind": "llm", "model": "stub", "base_url": base_url, "max_retries": 1},
    )
    return LlmAgent(spec, retry_policy=RetryPolicy(max_attempts=2, initial_wait=0.01))


# (format, a value that conforms): each accepted as the only formatted value of an otherwise good answer
GOOD_FORMATS = [
    ("uri", "homepage", "urn:isbn:0451450523"),
    ("hostname", "domain", "localhost"),
    ("email", "contacts__0__email", "first.last+tag@sub.acme.example"),
    ("date", "founded", "2024-02-29"),
    ("date-time", "updated_at", "2024-05-01T10:30:00.250+02:00"),
    ("ipv4", "server_ipv4", "10.0.0.255"),
    ("ipv6", "server_ipv6", "::ffff:192.0.2.1"),
    ("uuid", "record_id", "00000000-0000-0000-0000-000000000000"),
]


@pytest.mark.parametrize("name, path, value", GOOD_FORMATS, ids=[f for f, _, _ in GOOD_FORMATS])
def test_a_value_of_each_format_is_accepted_and_a_wrong_one_is_named(name, path, value):
    validator = OutputValidator(SCHEMA)
    assert validator.validate(good(**{path: value})) == json.loads(good(**{path: value}))
    bad = next(raw for kind, raw, _ in CORPUS if kind == f"format {name}")
    with pytest.raises(SchemaViolation, match=f"is not a '{name}'"):
        validator.validate(bad)


def test_every_format_the_schema_uses_is_checked_by_one_shared_checker():
    checked = {"uri", "hostname", "email", "date", "date-time", "ipv4", "ipv6", "uuid"}
    first, second = OutputValidator(SCHEMA), OutputValidator({"type": "object"})
    assert checked <= set(first._validator.format_checker.checkers)  # no optional package missing
    assert first._validator.format_checker is second._validator.format_checker  # built once, not per agent or row


def test_the_corpus_has_at_least_20_kinds():
    assert len({kind for kind, _, _ in CORPUS}) >= 20


def test_every_violation_is_caught_and_named(server):
    agent = make_agent(server.base_url)

    async def one(i):
        try:
            result = await agent({"id": f"case-{i}"})
        except AgentRowError as error:
            return error
        return result

    async def main():
        return await asyncio.gather(*(one(i) for i in range(len(CORPUS))))

    outcomes = asyncio.run(main())
    missed = [(kind, outcome) for (kind, _, _), outcome in zip(CORPUS, outcomes) if not isinstance(outcome, AgentRowError)]
    assert missed == [], "every wrong answer must fail its row"
    unnamed = [(kind, str(error)) for (kind, _, named), error in zip(CORPUS, outcomes) if named not in str(error)]
    assert unnamed == [], "every reason must name the field (or say why it is not a JSON object)"
    codes = {error.code for error in outcomes}
    assert codes == {"SCHEMA_VIOLATION", "INVALID_JSON"}
    # each row was asked twice (the answer, then one re-ask with the errors), never more
    for i in range(len(CORPUS)):
        assert len(server.requests_for(f"case-{i}")) == 2


def test_the_reask_carries_the_error(server):
    agent = make_agent(server.base_url)
    index = next(i for i, (kind, _, _) in enumerate(CORPUS) if kind == "not in enum")
    with pytest.raises(AgentRowError):
        asyncio.run(agent({"id": f"case-{index}"}))
    reask = server.requests_for(f"case-{index}")[-1]
    assert "industry" in reask.messages[-1]["content"] and "food" in reask.messages[-1]["content"]


def test_a_valid_object_in_a_markdown_fence_is_accepted(server):
    """Tool arguments in a fence are not JSON to the client; the validator unwraps them, like the worker does."""
    answers = {"fenced": "```json\n" + json.dumps(GOOD) + "\n```"}
    with OpenAIStubServer(lambda r: answer(answers.get(r.row["id"], GOOD))) as fenced_server:
        result = asyncio.run(make_agent(fenced_server.base_url)({"id": "fenced"}))
    assert result.output == GOOD


def test_a_format_that_cannot_be_checked_here_refuses_the_schema_instead_of_passing_every_value():
    from jsonschema import FormatChecker

    from airflow_provider_batchorch.core.errors import RegistryError
    from airflow_provider_batchorch.core.output_validation import _refuse_unchecked_formats

    without_uri = FormatChecker(formats=["email"])  # what jsonschema has when rfc3986-validator is not installed
    with pytest.raises(RegistryError, match="format uri.*rfc3986-validator"):
        _refuse_unchecked_formats({"properties": {"homepage": {"format": "uri"}}}, without_uri)
    _refuse_unchecked_formats({"properties": {"email": {"format": "email"}, "phone": {"format": "phone"}}},
                              without_uri)
