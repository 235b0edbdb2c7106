"""A small, explainable sentiment lexicon with negation ("not happy" is negative, "not bad" mildly positive)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from airflow_provider_batchorch.builtin_agents._common import tokens

POSITIVE = frozenset({
    "thanks", "thank", "great", "love", "loved", "loves", "awesome", "appreciate", "appreciated", "excellent",
    "happy", "helpful", "amazing", "perfect", "good", "fantastic", "wonderful", "pleased", "glad", "brilliant",
    "nice", "smooth", "easy", "best", "recommend", "reliable", "durable", "beautiful", "comfortable",
    "impressive", "satisfied", "superb", "delighted", "sturdy", "premium", "elegant", "fast",
})
NEGATIVE = frozenset({
    "angry", "frustrated", "frustrating", "terrible", "awful", "worst", "unacceptable", "disappointed",
    "disappointing", "annoyed", "annoying", "ridiculous", "horrible", "bad", "hate", "useless", "furious",
    "upset", "poor", "scam", "waste", "broken", "defective", "unhappy", "rude", "nightmare", "pathetic",
    "incompetent", "worthless", "flimsy", "faulty", "fed", "sick", "joke", "disgusted", "outraged", "misleading",
})
NEGATORS = frozenset({"not", "no", "never", "nothing", "hardly", "without", "t", "cannot", "nor"})


@dataclass
class Tone:
    label: str
    polarity: float
    intensity: int
    positive_terms: list[str] = field(default_factory=list)
    negative_terms: list[str] = field(default_factory=list)


def sentiment(value: str) -> Tone:
    words = tokens(value)
    positive: list[str] = []
    negative: list[str] = []
    for index, word in enumerate(words):
        if word not in POSITIVE and word not in NEGATIVE:
            continue
        negated = any(w in NEGATORS for w in words[max(0, index - 3):index])
        if (word in POSITIVE) != negated:
            positive.append(f"not {word}" if negated else word)
        else:
            negative.append(f"not {word}" if negated else word)
    pos, neg = len(positive), len(negative)
    label = "Positive" if pos > neg else "Negative" if neg > pos else "Neutral"
    intensity = 0
    if neg:
        shouting = len(re.findall(r"\b[A-Z]{3,}\b", value or ""))
        intensity = neg + min((value or "").count("!"), 3) // 2 + min(shouting, 2)
    polarity = round((pos - neg) / max(pos + neg, 1), 2)
    return Tone(label, polarity, intensity, positive, negative)
