"""Checking the names a rule refers to, and the one-line refusal that names the rule and what is wrong."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from airflow_provider_batchorch.core.errors import TransformRuleError
from airflow_provider_batchorch.core.transforms.engine import ROW_VARIABLE, EngineError


def refusal(where: str, problem: str, hint: str, **details: object) -> TransformRuleError:
    return TransformRuleError(f"transforms.{where}: {problem}", hint=hint, details={"rule": where, **details})


def _quoted(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(f"'{name}'" for name in names[:limit])
    return (shown + (f" and {len(names) - limit} more" if len(names) > limit else "")) or "(none)"


def check_names(where: str, names: Iterable[str], known: Sequence[str], *, what: str) -> None:
    """Refuse the first of ``names`` that is not in ``known`` (nor ``row``), with the nearest known names."""
    for name in sorted(set(names)):
        if name == ROW_VARIABLE or name in known:
            continue
        nearest = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
        guess = f" (did you mean {_quoted(nearest)}?)" if nearest else ""
        raise refusal(where, f"refers to {what} '{name}', which does not exist{guess}",
                      f"Known {what}s here: {_quoted(list(known))}.", name=name, known=list(known))


def parsed(where: str, build, source: str, *args, **kwargs):
    """``build(source, ...)`` (a template or expression), an ``EngineError`` becoming the rule's refusal."""
    try:
        return build(source, *args, **kwargs)
    except EngineError as exc:
        raise refusal(where, f"{exc}", "Fix the template or expression (README: Transformation rules).",
                      source=source) from None
