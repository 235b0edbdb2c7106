"""address-validator-agent: checks and normalises a postal address.

Offline logic: country names and codes to ISO 3166; each country's postal code format (and its canonical
layout); US ZIP areas against the state and Canadian postal districts against the province; USPS street
suffix abbreviations for North America and Australia; a one-line address is split into its parts. Every
problem found is listed in ``issues``; blocking ones make ``is_valid`` false.
"""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_batchorch.core.agent_spec import AgentSpec, InputField
from airflow_provider_batchorch.builtin_agents import _common as c
from airflow_provider_batchorch.builtin_agents import _postal
from airflow_provider_batchorch.builtin_agents._geo import MAJOR_CITIES, ca_province, country_code, us_state
from airflow_provider_batchorch.core.errors import AgentRowError

NAME = "address-validator-agent"
UNPARSEABLE = "Unable to parse address"

OUTPUT_SCHEMA = c.strict_object(
    "AddressValidation",
    {
        "is_valid": {"type": "boolean", "description": "True when no blocking issue was found"},
        "normalized_address": c.string("The address on one line in the country's usual order", maxLength=400),
        "address_type": c.enum(("street", "po_box"), "Street address or post office box"),
        "country_code": c.string("ISO 3166-1 alpha-2 country", nullable=True, pattern="^[A-Z]{2}$"),
        "region": c.string("State / province code or name", nullable=True, maxLength=80),
        "normalized_postal_code": c.string("Postal code in the country's canonical layout", nullable=True,
                                           maxLength=16),
        "postal_code_valid": {"type": ["boolean", "null"],
                              "description": "Postal code matches the country's format; null when not checked"},
        "issues": c.string_list("Problems found, blocking and informational", max_items=10),
        "confidence_score": c.confidence_property(),
    },
    "Validation of one postal address",
)

SPEC = AgentSpec(
    name=NAME,
    version="1.0.0",
    description="Validates and normalises postal addresses: country codes, postal code formats per country, "
    "state and ZIP consistency, street abbreviations, with a list of issues.",
    capabilities=["address validation", "address normalization", "postal code validation", "geocoding"],
    aliases=["address-validator", "validate-addresses", "address-normalizer"],
    input_fields=[
        InputField(name="street", description="Street and house number, or the whole address on one line",
                   synonyms=["address", "street_address", "address_line1", "address1", "line1", "addr",
                             "address_line_1", "street_line", "full_address", "mailing_address"]),
        InputField(name="city", required=False, synonyms=["town", "locality", "municipality", "city_name"]),
        InputField(name="state", required=False, synonyms=["province", "region", "state_province", "county",
                                                           "state_code", "prefecture"]),
        InputField(name="postal_code", required=False,
                   synonyms=["zip", "zipcode", "zip_code", "postcode", "postal", "post_code", "plz", "cap"]),
        InputField(name="country", required=False, synonyms=["country_code", "nation", "country_name", "ctry"]),
    ],
    output_schema=OUTPUT_SCHEMA,
    prompt=(
        "You are a postal address validation service. Normalise the address (street abbreviations as the "
        "national postal operator writes them, the country's canonical postal code layout, ISO 3166-1 alpha-2 "
        "country code) and check it: street with house number, city, region where the country needs one, a "
        "postal code in the country's format and consistent with the region. List every issue; is_valid is "
        "true only when no blocking issue remains. Give a confidence_score between 0 and 1.\n"
        + c.DATA_NOT_INSTRUCTIONS
    ),
    invocation=c.python_invocation(__name__),
)

EXAMPLES: list[dict[str, Any]] = [
    {"street": "1600 amphitheatre parkway", "city": "Mountain View", "state": "CA", "postal_code": "94043",
     "country": "USA"},
    {"street": "10 Downing Street", "city": "London", "postal_code": "sw1a2aa", "country": "United Kingdom"},
    {"street": "Unter den Linden 77", "city": "Berlin", "postal_code": "1011", "country": "Germany"},
    {"street": "350 Fifth Avenue, New York, NY 10118", "city": None, "postal_code": None, "country": None},
    {"street": "PO Box 1234", "city": "Toronto", "state": "Ontario", "postal_code": "m5v3l9", "country": "CA"},
]

_ABBREVIATIONS = {
    "street": "St", "avenue": "Ave", "road": "Rd", "boulevard": "Blvd", "drive": "Dr", "lane": "Ln",
    "court": "Ct", "place": "Pl", "square": "Sq", "terrace": "Ter", "highway": "Hwy", "parkway": "Pkwy",
    "circle": "Cir", "suite": "Ste", "apartment": "Apt", "building": "Bldg", "floor": "Fl", "north": "N",
    "south": "S", "east": "E", "west": "W", "expressway": "Expy", "freeway": "Fwy", "trail": "Trl",
}
_ABBREVIATING_COUNTRIES = {"US", "CA", "AU"}
_DIRECTIONS = {"N", "S", "E", "W", "NE", "NW", "SE", "SW"}
_PARTICLES = {"de", "la", "le", "van", "von", "der", "den", "di", "du", "del", "da", "dos", "y", "of"}
_PO_BOX = re.compile(r"^\s*(p\.?\s*o\.?\s*box|post\s+office\s+box|postbox|box)\s*#?\s*(\w+)", re.IGNORECASE)
_POSTAL_BEFORE_CITY = {"DE", "FR", "NL", "BE", "AT", "CH", "IT", "ES", "SE", "DK", "NO", "FI", "PL", "PT", "LU",
                       "CZ", "GR", "TR", "MX", "BR", "AR"}
_REGION_REQUIRED = {"US", "CA", "AU"}
_CITY_STATES = {"SG", "HK", "MC", "LU"}


def _title(word: str, first: bool) -> str:
    if any(ch.isdigit() for ch in word) or word.upper() in _DIRECTIONS:
        return word.upper()
    if not first and word.lower() in _PARTICLES:
        return word.lower()
    if word.isupper() or word.islower():
        return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))
    return word


def normalize_street(street: str, country: str | None) -> str:
    words = street.replace(",", " , ").split()
    out: list[str] = []
    for index, raw in enumerate(words):
        word = raw.rstrip(".") or raw
        key = word.lower()
        if country in _ABBREVIATING_COUNTRIES and index > 0 and key in _ABBREVIATIONS:
            out.append(_ABBREVIATIONS[key])
        else:
            out.append(_title(word, index == 0))
    return " ".join(out).replace(" , ", ", ").strip(" ,")


def _split_one_line(street: str, fields: dict[str, str]) -> str:
    """Fill city / state / postal code / country from ``"350 Fifth Ave, New York, NY 10118, USA"``."""
    parts = [p.strip() for p in street.split(",") if p.strip()]
    if len(parts) < 2:
        return street
    if not fields["country"] and country_code(parts[-1]) and len(parts) > 2:
        fields["country"] = parts.pop()
    last = parts[-1]
    region_postal = re.match(r"^(?P<region>[A-Za-z .]+?)\s+(?P<postal>[A-Za-z]?\d[\dA-Za-z -]{2,9})$", last)
    postal_city = re.match(r"^(?P<postal>\d{4,5}|\d{3}-\d{4}|\d{2}-\d{3}|\d{4}-\d{3})\s+(?P<city>.+)$", last)
    city_postal = re.match(r"^(?P<city>.+?)\s+(?P<postal>[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2})$", last)
    if region_postal and (us_state(region_postal["region"]) or ca_province(region_postal["region"])):
        found = {"state": region_postal["region"], "postal_code": region_postal["postal"]}
    elif postal_city:
        found = {"postal_code": postal_city["postal"], "city": postal_city["city"]}
    elif city_postal:
        found = {"city": city_postal["city"], "postal_code": city_postal["postal"]}
    elif len(parts) >= 2:
        found = {"city": last}
    else:
        found = {}
    if found:
        parts.pop()
        for key, value in found.items():
            fields[key] = fields[key] or value.strip()
    if len(parts) >= 2 and not fields["city"]:
        fields["city"] = parts.pop()
    return ", ".join(parts)


def _format(street: str, city: str, region: str | None, postal: str | None, country: str | None) -> str:
    if country in _POSTAL_BEFORE_CITY:
        locality = " ".join(p for p in (postal, city) if p)
        parts = [street, locality, region]
    elif country in {"US", "CA", "AU"}:
        parts = [street, city, " ".join(p for p in (region, postal) if p)]
    else:
        parts = [street, city, region, postal]
    return ", ".join(p for p in [*parts, country] if p)


def run(inputs: dict[str, Any]) -> dict[str, Any]:
    fields = {key: c.text(inputs.get(key)) for key in ("street", "city", "state", "postal_code", "country")}
    if not any(ch.isalnum() for ch in fields["street"]):
        raise AgentRowError(UNPARSEABLE)
    if "," in fields["street"] and not fields["city"]:
        fields["street"] = _split_one_line(fields["street"], fields)
    if not fields["state"] and "," in fields["city"]:
        city, _, maybe_region = fields["city"].rpartition(",")
        if us_state(maybe_region) or ca_province(maybe_region):
            fields["city"], fields["state"] = city.strip(), maybe_region.strip()

    blocking: list[str] = []
    notes: list[str] = []

    # Country: given, else inferred from the region, the postal code or a major city.
    country = country_code(fields["country"]) if fields["country"] else None
    if fields["country"] and not country:
        blocking.append("Unrecognised country")
    elif not country:
        inferred = (
            ("US", "state") if us_state(fields["state"]) else
            ("CA", "province") if ca_province(fields["state"]) else
            (_postal.guess_country(fields["postal_code"]), "postal code") if fields["postal_code"] else
            (MAJOR_CITIES.get(c.fold(fields["city"])), "city")
        )
        country = inferred[0]
        if country:
            notes.append(f"Country inferred from {inferred[1]}")
        else:
            blocking.append("Missing country")

    # Region.
    region: str | None = fields["state"] or None
    if country == "US" and region:
        region = us_state(region)
        if not region:
            blocking.append("Unknown US state")
    elif country == "CA" and region:
        region = ca_province(region)
        if not region:
            blocking.append("Unknown Canadian province")
    elif region:
        region = " ".join(_title(w, i == 0) for i, w in enumerate(region.split()))
    if country in _REGION_REQUIRED and not fields["state"]:
        blocking.append("Missing state or province")

    # Postal code.
    postal: str | None = None
    postal_valid: bool | None = None
    if fields["postal_code"]:
        postal_valid, postal = _postal.check(country, fields["postal_code"]) if country else (None, None)
        if postal is None:
            postal = fields["postal_code"].upper()
        if postal_valid is False:
            rule = _postal.POSTAL_RULES[country]
            blocking.append(f"Invalid postal code format for {country} (expected {rule.expected})")
        elif postal_valid is None and country:
            notes.append(f"Postal code format not checked for {country}")
        elif postal_valid and country == "US" and region:
            if region not in _postal.ZIP_AREAS[postal[0]] or (postal[0] == "0" and region == "NY"
                                                              and not postal.startswith("005")):
                blocking.append("ZIP code does not match state")
        elif postal_valid and country == "CA" and region:
            if region not in _postal.CA_POSTAL_PROVINCES.get(postal[0], frozenset()):
                blocking.append("Postal code does not match province")
    elif country in _postal.NO_POSTAL_CODE:
        postal_valid = True
    elif country not in _postal.POSTAL_CODE_OPTIONAL:
        blocking.append("Missing postal code")

    # Street and city.
    po_box = _PO_BOX.match(fields["street"])
    if po_box:
        street = f"PO Box {po_box.group(2).upper()}"
        address_type = "po_box"
    else:
        street = normalize_street(fields["street"], country)
        address_type = "street"
        if not any(ch.isdigit() for ch in street):
            (blocking if country in _REGION_REQUIRED else notes).append("Missing house number")
    city = " ".join(_title(w, i == 0) for i, w in enumerate(fields["city"].split()))
    if not city and country not in _CITY_STATES:
        blocking.append("Missing city")

    score = 0.95 - 0.25 * len(blocking) - 0.1 * len(notes)
    return {
        "is_valid": not blocking,
        "normalized_address": _format(street, city, region, postal, country)[:400],
        "address_type": address_type,
        "country_code": country,
        "region": region[:80] if region else None,
        "normalized_postal_code": postal[:16] if postal else None,
        "postal_code_valid": postal_valid,
        "issues": (blocking + notes)[:10],
        "confidence_score": c.confidence(max(score, 0.05)),
    }

