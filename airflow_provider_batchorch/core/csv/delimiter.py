"""The delimiter of a CSV, sniffed from the start of the file."""

from __future__ import annotations

import csv
import re

DELIMITERS = ",;\t|"
_QUOTED = re.compile(r'"[^"]*"?')  # a quoted value, or an unclosed one up to the end


def sniff_delimiter(sample: str) -> str:
    """The delimiter of ``sample`` (the start of the file), one of ``,;\\t|``; ``,`` when unsure."""
    if "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]
    # The Sniffer's quote patterns (``.*?`` across lines) take seconds on 64 KB when quoted values end lines.
    # Without quotes it goes straight to its linear per-line frequency count, which also no longer sees
    # delimiters inside quoted values.
    sample = _QUOTED.sub("x", sample).replace("'", "x")
    header = sample.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ""
    if delimiter and delimiter in header:
        return delimiter
    # The sniffer failed or chose a character the header does not even contain: trust the header.
    counts = {candidate: header.count(candidate) for candidate in DELIMITERS}
    best = max(counts, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","
