"""Functions behind the custom agents of ``examples/registry.yaml``: how a user plugs their own Python code in.

``sentiment`` backs ``sentiment-agent`` (structured output), ``quick_sentiment`` the cheap agent of the cascade
example (``examples/cascade_registry.yaml``), ``sentiment_judge`` the judge of the judged golden gate. ``chat_reply`` backs ``company-chat-agent``, which
returns free text and has no output schema, so the registry rejects it with INCOMPATIBLE_AGENT.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_batchorch.builtin_agents._common import text
from airflow_provider_batchorch.builtin_agents._sentiment import sentiment as _tone
from airflow_provider_batchorch.core.errors import AgentRowError


def sentiment(row: dict[str, Any]) -> dict[str, Any]:
    """``{"text": ...}`` -> sentiment label, polarity in [-1, 1] and the terms that decided it."""
    value = text(row.get("text"))
    if not value:
        raise AgentRowError("Missing required input: text")
    tone = _tone(value)
    return {
        "sentiment": tone.label,
        "polarity": tone.polarity,
        "positive_terms": tone.positive_terms[:10],
        "negative_terms": tone.negative_terms[:10],
    }


def quick_sentiment(row: dict[str, Any]) -> dict[str, Any]:
    """The cheap end of the cascade in ``examples/cascade_registry.yaml``: ``sentiment``'s label, and a
    ``confidence_score`` read from the same terms: 0.9 when two or more terms of one tone decided it, 0.7 when the
    text has no sentiment term (neutral by absence), 0.5 when one term alone or terms of both tones decided it."""
    result = sentiment(row)
    positive, negative = result["positive_terms"], result["negative_terms"]
    if positive and negative or len(positive) + len(negative) == 1:
        confidence = 0.5
    else:
        confidence = 0.9 if positive or negative else 0.7
    return {"sentiment": result["sentiment"], "confidence_score": confidence}


def sentiment_judge(row: dict[str, Any]) -> dict[str, Any]:
    """The judge of ``examples/registry.yaml`` (the judged golden gate, ``core/golden_gate/judge.py``): a keyword
    second opinion. ``{"inputs": {"text": ...}, "answer": {...}, "fields": [...]}`` -> per field: ``sentiment`` is
    right (true) when it is ``sentiment``'s label of the text; ``polarity`` gets a score 1 - |difference| / 2;
    any other field gets no verdict (null), which the gate counts as wrong."""
    expected = sentiment(row.get("inputs") or {})
    answer = row.get("answer") or {}
    verdicts: dict[str, Any] = {}
    for field in row.get("fields") or []:
        if field == "sentiment":
            verdicts[field] = answer.get(field) == expected["sentiment"]
        elif field == "polarity" and isinstance(answer.get(field), (int, float)):
            verdicts[field] = max(0.0, 1 - abs(answer[field] - expected["polarity"]) / 2)
        else:
            verdicts[field] = None
    return verdicts


def chat_reply(row: dict[str, Any]) -> str:
    """Free text, not a JSON object: the kind of agent batch CSV processing cannot use."""
    return f"Here is what I know about {text(row.get('company_name')) or 'that company'}: ..."
