"""Postal code formats per country (the national postal operators' published formats), their canonical
layout, and the US ZIP / Canadian postal code region rules."""

from __future__ import annotations

import re
from typing import Callable, NamedTuple


class PostalRule(NamedTuple):
    pattern: str  # matched against the compact form: upper case, no spaces or hyphens
    expected: str
    layout: Callable[[str], str] = lambda compact: compact


def _split(at: int, sep: str = " ") -> Callable[[str], str]:
    return lambda compact: f"{compact[:at]}{sep}{compact[at:]}"


def _zip(compact: str) -> str:
    return compact if len(compact) == 5 else f"{compact[:5]}-{compact[5:]}"


_GB = (r"^(GIR0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY])"
       r"[0-9][ABD-HJLNP-UW-Z]{2})$")

POSTAL_RULES: dict[str, PostalRule] = {
    "US": PostalRule(r"^\d{5}(\d{4})?$", "5 digits or ZIP+4 (12345 or 12345-6789)", _zip),
    "CA": PostalRule(r"^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\d[ABCEGHJ-NPRSTV-Z]\d$", "A1A 1A1", _split(3)),
    "GB": PostalRule(_GB, "a UK postcode like SW1A 1AA", lambda s: f"{s[:-3]} {s[-3:]}"),
    "IE": PostalRule(r"^([AC-FHKNPRTV-Y]\d{2}|D6W)[0-9AC-FHKNPRTV-Y]{4}$", "an Eircode like D02 X285", _split(3)),
    "DE": PostalRule(r"^\d{5}$", "5 digits"),
    "FR": PostalRule(r"^\d{5}$", "5 digits"),
    "IT": PostalRule(r"^\d{5}$", "5 digits"),
    "ES": PostalRule(r"^(0[1-9]|[1-4]\d|5[0-2])\d{3}$", "5 digits starting 01-52"),
    "FI": PostalRule(r"^\d{5}$", "5 digits"),
    "MX": PostalRule(r"^\d{5}$", "5 digits"),
    "KR": PostalRule(r"^\d{5}$", "5 digits"),
    "TR": PostalRule(r"^\d{5}$", "5 digits"),
    "MY": PostalRule(r"^\d{5}$", "5 digits"),
    "TH": PostalRule(r"^\d{5}$", "5 digits"),
    "ID": PostalRule(r"^\d{5}$", "5 digits"),
    "EG": PostalRule(r"^\d{5}$", "5 digits"),
    "KE": PostalRule(r"^\d{5}$", "5 digits"),
    "SA": PostalRule(r"^\d{5}(\d{4})?$", "5 digits"),
    "NL": PostalRule(r"^[1-9]\d{3}(?!SA|SD|SS)[A-Z]{2}$", "4 digits and 2 letters (1234 AB)", _split(4)),
    "BE": PostalRule(r"^[1-9]\d{3}$", "4 digits"),
    "LU": PostalRule(r"^\d{4}$", "4 digits"),
    "AT": PostalRule(r"^[1-9]\d{3}$", "4 digits"),
    "CH": PostalRule(r"^[1-9]\d{3}$", "4 digits"),
    "DK": PostalRule(r"^[1-9]\d{3}$", "4 digits"),
    "NO": PostalRule(r"^\d{4}$", "4 digits"),
    "AU": PostalRule(r"^\d{4}$", "4 digits"),
    "NZ": PostalRule(r"^\d{4}$", "4 digits"),
    "ZA": PostalRule(r"^\d{4}$", "4 digits"),
    "PH": PostalRule(r"^\d{4}$", "4 digits"),
    "SE": PostalRule(r"^[1-9]\d{4}$", "5 digits (123 45)", _split(3)),
    "CZ": PostalRule(r"^[1-7]\d{4}$", "5 digits (123 45)", _split(3)),
    "GR": PostalRule(r"^[1-8]\d{4}$", "5 digits (123 45)", _split(3)),
    "PL": PostalRule(r"^\d{5}$", "5 digits (12-345)", _split(2, "-")),
    "PT": PostalRule(r"^[1-9]\d{6}$", "7 digits (1234-567)", _split(4, "-")),
    "JP": PostalRule(r"^\d{7}$", "7 digits (123-4567)", _split(3, "-")),
    "BR": PostalRule(r"^\d{8}$", "8 digits (12345-678)", _split(5, "-")),
    "IN": PostalRule(r"^[1-9]\d{5}$", "6 digits not starting with 0"),
    "CN": PostalRule(r"^\d{6}$", "6 digits"),
    "SG": PostalRule(r"^\d{6}$", "6 digits"),
    "VN": PostalRule(r"^\d{6}$", "6 digits"),
    "NG": PostalRule(r"^\d{6}$", "6 digits"),
    "CO": PostalRule(r"^\d{6}$", "6 digits"),
    "TW": PostalRule(r"^\d{3}(\d{2,3})?$", "3, 5 or 6 digits"),
    "IL": PostalRule(r"^\d{7}$", "7 digits"),
    "CL": PostalRule(r"^\d{7}$", "7 digits"),
    "AR": PostalRule(r"^([A-HJ-NP-Z]\d{4}[A-Z]{3}|\d{4})$", "a CPA like C1425DKA or 4 digits"),
}

# Countries without a national postal code system, and ones where the code is optional in practice.
NO_POSTAL_CODE = frozenset({"AE", "HK"})
POSTAL_CODE_OPTIONAL = frozenset({"IE"})

# The first digit of a US ZIP code is a national area of states (USPS). 005xx is Holtsville, NY.
ZIP_AREAS: dict[str, frozenset[str]] = {
    "0": frozenset({"CT", "MA", "ME", "NH", "NJ", "PR", "RI", "VT", "NY"}),
    "1": frozenset({"DE", "NY", "PA"}),
    "2": frozenset({"DC", "MD", "NC", "SC", "VA", "WV"}),
    "3": frozenset({"AL", "FL", "GA", "MS", "TN"}),
    "4": frozenset({"IN", "KY", "MI", "OH"}),
    "5": frozenset({"IA", "MN", "MT", "ND", "SD", "WI"}),
    "6": frozenset({"IL", "KS", "MO", "NE"}),
    "7": frozenset({"AR", "LA", "OK", "TX"}),
    "8": frozenset({"AZ", "CO", "ID", "NM", "NV", "UT", "WY"}),
    "9": frozenset({"AK", "CA", "HI", "OR", "WA"}),
}

# The first letter of a Canadian postal code is its province or territory (Canada Post).
CA_POSTAL_PROVINCES: dict[str, frozenset[str]] = {
    "A": frozenset({"NL"}), "B": frozenset({"NS"}), "C": frozenset({"PE"}), "E": frozenset({"NB"}),
    "G": frozenset({"QC"}), "H": frozenset({"QC"}), "J": frozenset({"QC"}), "K": frozenset({"ON"}),
    "L": frozenset({"ON"}), "M": frozenset({"ON"}), "N": frozenset({"ON"}), "P": frozenset({"ON"}),
    "R": frozenset({"MB"}), "S": frozenset({"SK"}), "T": frozenset({"AB"}), "V": frozenset({"BC"}),
    "X": frozenset({"NT", "NU"}), "Y": frozenset({"YT"}),
}

# Written forms specific enough to name their country on their own.
DISTINCTIVE_FORMATS: tuple[tuple[str, str], ...] = (
    (r"^\d{5}-\d{4}$", "US"),
    (r"^[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d$", "CA"),
    (r"^[1-9]\d{3} ?[A-Za-z]{2}$", "NL"),
    (r"^\d{3}-\d{4}$", "JP"),
    (r"^\d{5}-\d{3}$", "BR"),
    (r"^\d{2}-\d{3}$", "PL"),
    (r"^\d{4}-\d{3}$", "PT"),
)

_PREFIX = re.compile(r"^[A-Z]{1,2}-(?=\d)")


def compact(postal_code: str) -> str:
    """Upper case without spaces and hyphens; a leading country prefix like ``D-`` or ``CH-`` is dropped."""
    value = _PREFIX.sub("", postal_code.strip().upper())
    return re.sub(r"[\s-]", "", value)


def check(country: str, postal_code: str) -> tuple[bool | None, str]:
    """(valid?, canonical form). ``None`` when the country's format is not known here."""
    rule = POSTAL_RULES.get(country)
    value = compact(postal_code)
    if rule is None:
        return None, postal_code.strip().upper()
    if re.match(rule.pattern, value):
        return True, rule.layout(value)
    return False, postal_code.strip().upper()


def guess_country(postal_code: str) -> str | None:
    candidate = postal_code.strip()
    for pattern, country in DISTINCTIVE_FORMATS:
        if re.match(pattern, candidate):
            return country
    if " " in candidate and re.match(_GB, compact(candidate)):
        return "GB"
    return None
