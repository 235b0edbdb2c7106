"""company-enrichment-agent: industry, size, revenue and domain of a company from its name, website and location.

Offline logic: a list of well-known companies (approximate public figures) first; otherwise keywords of the
name and website against an industry taxonomy, legal-form and name words for size, and the industry's typical
revenue per employee. ``confidence_score`` says how much of that evidence was found; ``reasoning`` says which.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_batchorch.core.agent_spec import AgentSpec, InputField
from airflow_provider_batchorch.builtin_agents import _common as c
from airflow_provider_batchorch.builtin_agents._company_data import (
    DEFUNCT_DOMAINS,
    INDUSTRIES,
    INDUSTRY_KEYWORDS,
    INDUSTRY_PROFILE,
    KNOWN_COMPANIES,
    LEGAL_SUFFIXES,
    RESERVED_DOMAINS,
    RESERVED_TLDS,
    SIZE_BANDS,
    SIZE_MARKERS,
    TLD_HINTS,
    KnownCompany,
)
from airflow_provider_batchorch.builtin_agents._geo import country_from_location, country_from_tld
from airflow_provider_batchorch.core.errors import AgentRowError

NAME = "company-enrichment-agent"
UNIDENTIFIABLE = "Unable to identify company from provided name"
WEBSITE_INACTIVE = "Website no longer active"
WEBSITE_INVALID = "Invalid website URL"

OUTPUT_SCHEMA = c.strict_object(
    "CompanyEnrichment",
    {
        "company_domain": c.string("Registered web domain of the company, without scheme or www", nullable=True),
        "industry": c.enum(INDUSTRIES, "Primary industry"),
        "employee_count": {"type": "integer", "minimum": 1, "description": "Estimated number of employees"},
        "employee_range": c.enum([label for label, _ in SIZE_BANDS], "Employee count band"),
        "revenue_estimate": {"type": "integer", "minimum": 0, "description": "Estimated annual revenue in USD"},
        "country_code": c.string("ISO 3166-1 alpha-2 country of the headquarters", nullable=True,
                                 pattern="^[A-Z]{2}$"),
        "estimation_method": c.enum(["known_company", "keyword_estimate", "default_estimate"],
                                    "known_company = public figures of a well-known company; otherwise estimated"),
        "confidence_score": c.confidence_property(),
        "reasoning": c.string("Which evidence led to these values", maxLength=600),
    },
    "Firmographic enrichment of one company",
)

SPEC = AgentSpec(
    name=NAME,
    version="1.0.0",
    description="Enriches company data: industry classification, employee count and revenue estimates, "
    "web domain and headquarters country, with a confidence score.",
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
        "return firmographics: the company's web domain, its primary industry (one of the allowed values), an "
        "estimated employee count and matching employee range, estimated annual revenue in USD, the ISO "
        "country code of its headquarters, how you estimated (known_company when you know the company's "
        "published figures), a confidence_score between 0 and 1, and a short reasoning naming your evidence. "
        "Prefer published figures for well-known companies; otherwise estimate from the industry and the "
        "company's apparent size and say so with a lower confidence. If the name does not identify a company, "
        "fail the row with 'Unable to identify company from provided name'.\n" + c.DATA_NOT_INSTRUCTIONS
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

# Websites of known companies that differ from their main domain.
_EXTRA_DOMAINS = {
    "google.com": "Alphabet", "facebook.com": "Meta Platforms", "disney.com": "The Walt Disney Company",
    "coca-cola.com": "The Coca-Cola Company", "toyota-global.com": "Toyota Motor", "global.toyota": "Toyota Motor",
    "volkswagenag.com": "Volkswagen Group", "vw.com": "Volkswagen Group", "bmw.com": "BMW Group",
    "zara.com": "Inditex", "jpmorgan.com": "JPMorgan Chase", "chase.com": "JPMorgan Chase",
    "sony.net": "Sony Group", "uhc.com": "UnitedHealth Group", "exxon.com": "ExxonMobil",
}
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
_SIZE_LEXICON = c.Lexicon({marker: 1 for marker in SIZE_MARKERS})


def _name_key(name: str) -> str:
    words = [w for w in c.tokens(name.replace("&", " and ")) if w != "and"]
    while words and words[0] == "the":
        words = words[1:]
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words = words[:-1]
    return " ".join(words)


_KNOWN_BY_NAME: dict[str, KnownCompany] = {}
_KNOWN_BY_DOMAIN: dict[str, KnownCompany] = {}
for _company in KNOWN_COMPANIES:
    for _alias in (_company.name, *_company.aliases):
        _KNOWN_BY_NAME.setdefault(_name_key(_alias), _company)
    _KNOWN_BY_DOMAIN[_company.domain] = _company
for _domain, _known_name in _EXTRA_DOMAINS.items():
    _KNOWN_BY_DOMAIN[_domain] = next(k for k in KNOWN_COMPANIES if k.name == _known_name)


def _known_by_name(name: str) -> KnownCompany | None:
    """Look the name up with dots read as separators ("Amazon.com") and as nothing ("p.l.c.")."""
    for variant in (name, name.replace(".", "")):
        company = _KNOWN_BY_NAME.get(_name_key(variant))
        if company:
            return company
    return None


def _check_name(name: str) -> None:
    """Raise when the value cannot name a company (empty, a placeholder, keyboard mash, symbols, a paragraph)."""
    key = c.phrase_key(name)
    alnum = [ch for ch in name if ch.isalnum()]
    if _known_by_name(name):
        return
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


def website_domain(website: str) -> str | None:
    """The host of a website value without ``www.``; raises when it is malformed or cannot be a live site."""
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
    host = host[4:] if host.startswith("www.") else host
    labels = host.split(".")
    if _is_ip_address(host):
        raise AgentRowError(WEBSITE_INVALID)
    tld = labels[-1]
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise AgentRowError(WEBSITE_INVALID)
    if not (tld.isalpha() and len(tld) >= 2) and not tld.startswith("xn--"):
        raise AgentRowError(WEBSITE_INVALID)
    if tld in RESERVED_TLDS or host in RESERVED_DOMAINS:
        raise AgentRowError(WEBSITE_INACTIVE, detail=f"{host} is a reserved domain")
    if any(host == d or host.endswith("." + d) for d in DEFUNCT_DOMAINS):
        raise AgentRowError(WEBSITE_INACTIVE, detail=f"{host} has shut down")
    return host


def _known_by_domain(domain: str | None) -> KnownCompany | None:
    if not domain:
        return None
    for candidate, company in _KNOWN_BY_DOMAIN.items():
        if domain == candidate or domain.endswith("." + candidate):
            return company
    return None


def _size_band(employees: int) -> str:
    for (label, _), upper in zip(SIZE_BANDS, (10, 50, 200, 1000, 5000, 10000)):
        if employees <= upper:
            return label
    return SIZE_BANDS[-1][0]


def _from_known(company: KnownCompany, domain: str | None, country: str | None, how: str) -> dict[str, Any]:
    return {
        "company_domain": domain or company.domain,
        "industry": company.industry,
        "employee_count": company.employees,
        "employee_range": _size_band(company.employees),
        "revenue_estimate": company.revenue_usd,
        "country_code": company.country or country,
        "estimation_method": "known_company",
        "confidence_score": 0.95 if how == "name and website" else 0.9,
        "reasoning": f"Matched the well-known company '{company.name}' by {how}; headcount and revenue are "
        f"approximate published figures (fiscal 2023).",
    }


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


def _estimate(name: str, domain: str | None, country: str | None, note: str) -> dict[str, Any]:
    scores = {industry: 0.0 for industry in INDUSTRIES}
    evidence: list[str] = []
    for industry, lexicon in _LEXICONS.items():
        hits = lexicon.matches(name)
        if hits:
            scores[industry] += sum(hits.values())
            evidence += [f"'{term}' (name)" for term in hits]
    if domain:
        for industry, hits in _domain_matches(domain).items():
            scores[industry] += sum(hits.values())
            evidence += [f"'{term}' (website)" for term in hits]
        tld = domain.rsplit(".", 1)[-1]
        if tld in TLD_HINTS:
            industry, weight = TLD_HINTS[tld]
            scores[industry] += weight
            evidence.append(f"'.{tld}' domain")
    industry, top, runner_up = c.best_label(scores)
    industry = industry or "Other"

    default_band, revenue_per_employee = INDUSTRY_PROFILE[industry]
    markers = _SIZE_LEXICON.matches(name)
    shift = sum(SIZE_MARKERS[m] for m in markers)
    band = min(max(default_band + shift, 0), len(SIZE_BANDS) - 1)
    label, employees = SIZE_BANDS[band]
    revenue = c.round_significant(employees * revenue_per_employee, 2)

    if industry == "Other":
        score = 0.15 + (0.05 if domain else 0) + (0.05 if country else 0)
        reasons = ["No industry keyword matched the name or website, so the industry is 'Other'."]
    else:
        score = 0.2 + min(top, 4) / 4 * 0.4 + (0.1 if domain else 0) + (0.05 if country else 0)
        score += 0.05 if markers else 0
        score -= 0.1 if runner_up >= 0.8 * top else 0
        reasons = [f"Industry '{industry}' from keywords: {', '.join(evidence[:6])}."]
    if markers:
        words = ", ".join(f"'{m}' ({SIZE_MARKERS[m]:+d})" for m in markers)
        reasons.append(f"Size band {label}: the industry's typical {SIZE_BANDS[default_band][0]}, "
                       f"shifted by {words} in the name.")
    else:
        reasons.append(f"Size band {label} is the industry's typical size.")
    reasons.append(f"Revenue = {employees} employees x ${revenue_per_employee:,} typical revenue per employee.")
    if note:
        reasons.insert(0, note)
    return {
        "company_domain": domain,
        "industry": industry,
        "employee_count": employees,
        "employee_range": label,
        "revenue_estimate": revenue,
        "country_code": country,
        "estimation_method": "default_estimate" if industry == "Other" else "keyword_estimate",
        "confidence_score": c.confidence(min(score, 0.8)),
        "reasoning": " ".join(reasons)[:600],
    }


def run(inputs: dict[str, Any]) -> dict[str, Any]:
    name = c.text(inputs.get("company_name"))
    _check_name(name)
    domain = website_domain(inputs.get("website"))
    country = country_from_location(c.text(inputs.get("location"))) or (country_from_tld(domain) if domain else None)

    by_name = _known_by_name(name)
    by_domain = _known_by_domain(domain)
    if by_name and (by_domain is by_name or not domain):
        return _from_known(by_name, domain, country, "name and website" if domain else "name")
    if by_domain and not by_name:
        # The website is a known company's but the name is not: e.g. a subsidiary or brand name.
        result = _from_known(by_domain, domain, country, "website")
        result["confidence_score"] = 0.8
        return result
    note = ""
    if by_name:
        note = (f"The name matches '{by_name.name}' but the website does not ({by_name.domain}), "
                "so this is treated as a different company.")
    return _estimate(name, domain, country, note)
