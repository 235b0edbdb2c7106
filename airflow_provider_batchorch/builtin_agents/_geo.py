"""Country, region and major-city lookups used by the company and address agents (ISO 3166 codes)."""

from __future__ import annotations

from airflow_provider_batchorch.builtin_agents._common import phrase_key

# ISO 3166-1 alpha-2 -> (English name, other names and codes people write).
COUNTRIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "US": ("United States", ("usa", "u s a", "u s", "united states of america", "america", "us of a")),
    "CA": ("Canada", ("can",)),
    "MX": ("Mexico", ("mex", "mexico", "méxico")),
    "BR": ("Brazil", ("bra", "brasil")),
    "AR": ("Argentina", ("arg",)),
    "CL": ("Chile", ("chl",)),
    "CO": ("Colombia", ("col",)),
    "GB": ("United Kingdom", ("uk", "gbr", "great britain", "britain", "england", "scotland", "wales",
                              "northern ireland")),
    "IE": ("Ireland", ("irl", "eire", "éire", "republic of ireland")),
    "FR": ("France", ("fra",)),
    "DE": ("Germany", ("deu", "ger", "deutschland")),
    "NL": ("Netherlands", ("nld", "holland", "the netherlands", "nederland")),
    "BE": ("Belgium", ("bel", "belgique", "belgie", "belgië")),
    "LU": ("Luxembourg", ("lux",)),
    "CH": ("Switzerland", ("che", "schweiz", "suisse", "svizzera")),
    "AT": ("Austria", ("aut", "osterreich", "österreich")),
    "IT": ("Italy", ("ita", "italia")),
    "ES": ("Spain", ("esp", "espana", "españa")),
    "PT": ("Portugal", ("prt",)),
    "SE": ("Sweden", ("swe", "sverige")),
    "NO": ("Norway", ("nor", "norge")),
    "DK": ("Denmark", ("dnk", "danmark")),
    "FI": ("Finland", ("fin", "suomi")),
    "PL": ("Poland", ("pol", "polska")),
    "CZ": ("Czechia", ("cze", "czech republic")),
    "GR": ("Greece", ("grc",)),
    "TR": ("Turkey", ("tur", "turkiye", "türkiye")),
    "IL": ("Israel", ("isr",)),
    "AE": ("United Arab Emirates", ("uae", "are", "emirates")),
    "SA": ("Saudi Arabia", ("sau", "ksa")),
    "ZA": ("South Africa", ("zaf", "rsa")),
    "NG": ("Nigeria", ("nga",)),
    "KE": ("Kenya", ("ken",)),
    "EG": ("Egypt", ("egy",)),
    "IN": ("India", ("ind", "bharat")),
    "CN": ("China", ("chn", "prc", "people s republic of china")),
    "HK": ("Hong Kong", ("hkg",)),
    "TW": ("Taiwan", ("twn",)),
    "JP": ("Japan", ("jpn", "nippon")),
    "KR": ("South Korea", ("kor", "korea", "republic of korea")),
    "SG": ("Singapore", ("sgp",)),
    "MY": ("Malaysia", ("mys",)),
    "ID": ("Indonesia", ("idn",)),
    "TH": ("Thailand", ("tha",)),
    "VN": ("Vietnam", ("vnm", "viet nam")),
    "PH": ("Philippines", ("phl",)),
    "AU": ("Australia", ("aus",)),
    "NZ": ("New Zealand", ("nzl",)),
}

US_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts",
    "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico",
    "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "PR": "Puerto Rico", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
}

CA_PROVINCES: dict[str, str] = {
    "AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories", "NU": "Nunavut",
    "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec", "SK": "Saskatchewan", "YT": "Yukon",
}

# Cities that name their country on their own (company "location" columns often hold only a city).
MAJOR_CITIES: dict[str, str] = {
    "new york": "US", "new york city": "US", "nyc": "US", "san francisco": "US", "los angeles": "US",
    "chicago": "US", "seattle": "US", "boston": "US", "austin": "US", "denver": "US", "atlanta": "US",
    "miami": "US", "dallas": "US", "houston": "US", "palo alto": "US", "mountain view": "US",
    "toronto": "CA", "vancouver": "CA", "montreal": "CA", "montréal": "CA", "london": "GB",
    "manchester": "GB", "edinburgh": "GB", "dublin": "IE", "paris": "FR", "lyon": "FR", "berlin": "DE",
    "munich": "DE", "münchen": "DE", "hamburg": "DE", "frankfurt": "DE", "amsterdam": "NL",
    "rotterdam": "NL", "brussels": "BE", "zurich": "CH", "zürich": "CH", "geneva": "CH", "basel": "CH",
    "vienna": "AT", "wien": "AT", "milan": "IT", "rome": "IT", "madrid": "ES", "barcelona": "ES",
    "lisbon": "PT", "stockholm": "SE", "oslo": "NO", "copenhagen": "DK", "helsinki": "FI",
    "warsaw": "PL", "prague": "CZ", "tel aviv": "IL", "dubai": "AE", "bangalore": "IN", "bengaluru": "IN",
    "mumbai": "IN", "new delhi": "IN", "beijing": "CN", "shanghai": "CN", "shenzhen": "CN", "tokyo": "JP",
    "osaka": "JP", "seoul": "KR", "sydney": "AU", "melbourne": "AU", "auckland": "NZ", "sao paulo": "BR",
    "são paulo": "BR", "mexico city": "MX", "cape town": "ZA", "johannesburg": "ZA", "lagos": "NG",
    "nairobi": "KE", "taipei": "TW",
}

_COUNTRY_INDEX: dict[str, str] = {}
for _code, (_name, _aliases) in COUNTRIES.items():
    _COUNTRY_INDEX[phrase_key(_name)] = _code
    for _alias in _aliases:
        _COUNTRY_INDEX.setdefault(phrase_key(_alias), _code)
_STATE_INDEX = {phrase_key(name): code for code, name in US_STATES.items()}
_PROVINCE_INDEX = {phrase_key(name): code for code, name in CA_PROVINCES.items()}
_CITY_INDEX = {phrase_key(city): code for city, code in MAJOR_CITIES.items()}


def country_code(value: str) -> str | None:
    """ISO alpha-2 code for a country name, alias or code (``"Deutschland"`` -> ``"DE"``), else None."""
    raw = (value or "").strip().strip(".")
    if not raw:
        return None
    if len(raw) == 2 and raw.isalpha() and raw.upper() in COUNTRIES:
        return raw.upper()
    if raw.upper() == "UK":
        return "GB"
    key = phrase_key(raw)
    if key in _COUNTRY_INDEX:
        return _COUNTRY_INDEX[key]
    return None


def us_state(value: str) -> str | None:
    raw = (value or "").strip().strip(".")
    if len(raw) == 2 and raw.upper() in US_STATES:
        return raw.upper()
    return _STATE_INDEX.get(phrase_key(raw))


def ca_province(value: str) -> str | None:
    raw = (value or "").strip().strip(".")
    if len(raw) == 2 and raw.upper() in CA_PROVINCES:
        return raw.upper()
    return _PROVINCE_INDEX.get(phrase_key(raw))


def country_from_location(location: str) -> str | None:
    """Best-effort country of a free-text location: ``"Austin, TX"`` -> US, ``"Zürich"`` -> CH.

    A short last part after a city ("Austin, TX", "Ottawa, ON") is read as a US state or Canadian province
    first, as is the convention; a known major city decides before that ("Berlin, DE" -> DE).
    """
    parts = [part.strip() for part in (location or "").replace(";", ",").split(",") if part.strip()]
    if not parts:
        return None
    last = parts[-1]
    if len(parts) > 1 and len(last) <= 3:
        city = _CITY_INDEX.get(phrase_key(parts[0]))
        if city:
            return city
        if us_state(last):
            return "US"
        if ca_province(last):
            return "CA"
    for part in reversed(parts):
        code = country_code(part)
        if code:
            return code
        if len(part) > 2 and us_state(part):
            return "US"
        if len(part) > 2 and ca_province(part):
            return "CA"
        if phrase_key(part) in _CITY_INDEX:
            return _CITY_INDEX[phrase_key(part)]
    return None


def country_from_tld(domain: str) -> str | None:
    """Country of a country-code top-level domain (``.de`` -> DE, ``.co.uk`` -> GB); None for .com and friends."""
    tld = domain.rsplit(".", 1)[-1].lower() if "." in domain else ""
    if tld == "uk":
        return "GB"
    if len(tld) == 2 and tld.upper() in COUNTRIES and tld not in {"io", "ai", "co", "me", "tv", "ly", "fm"}:
        return tld.upper()
    return None
