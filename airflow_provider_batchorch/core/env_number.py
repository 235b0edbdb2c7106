"""A number an operator sets in the environment, checked against its range with one message saying what to set."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from airflow_provider_batchorch.core.errors import InvalidConfError


def env_number(environ: Mapping[str, str], name: str, parse: Callable[[str], float], *, low: float, high: float,
               low_inclusive: bool = True, expected: str, hint: str) -> float | None:
    """The value of ``name`` parsed by ``parse`` (``int``, ``float``), None when unset or blank.

    Not a number, or outside ``low``..``high``: ``InvalidConfError("NAME='raw' is not <expected>.", hint)``.
    """
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = parse(raw)
    except ValueError:
        value = None
    above_low = value is not None and (value >= low if low_inclusive else value > low)
    if not (above_low and value <= high):
        raise InvalidConfError(f"{name}={raw!r} is not {expected}.", hint=hint)
    return value
