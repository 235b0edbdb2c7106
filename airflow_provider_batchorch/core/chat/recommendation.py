"""Rank the agents that could process a CSV, for its columns and a goal text. Deterministic, no network.

    recommend_agents(specs, ["Company", "URL"], "add industry and employee count")

Score = 0.6 x coverage of the agent's required inputs by the columns + 0.4 x how much of the goal's content
words the agent's name, description, capabilities and output fields cover (coverage alone when there is no
goal). Columns match an input field by its name or a synonym as the mapping step does (``normalize_name``:
case, punctuation and accents ignored), or, more loosely, when the column's words hold the field's words, with a
few common equivalences (``url`` ~ ``website``, ``postcode`` ~ ``zip``, ...). Agents without structured output are
not recommended: batch output needs it.

``column_fit`` is the columns' part alone (coverage, then how exactly the columns name the inputs): the chat
parser uses it to choose between agents the request's words already fit, and to order the menu it offers.
Column names are data: they are only compared with input field names, never read as a goal or an agent name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from airflow_provider_batchorch.core.agent_spec import AgentSpec, InputField
from airflow_provider_batchorch.core.mapping import normalize_name

COVERAGE_WEIGHT = 0.6
GOAL_WEIGHT = 0.4

# Words that mean the same thing in column names and goals; each maps to the first of its group.
_EQUIVALENT_WORDS = [
    ["website", "url", "domain", "site", "homepage", "web"],
    ["company", "organization", "organisation", "org", "business", "firm", "employer"],
    ["address", "addr", "street"],
    ["email", "mail"],
    ["phone", "telephone", "tel", "mobile"],
    ["description", "desc", "details", "summary"],
    ["zip", "postcode", "zipcode", "postal"],
    ["employee", "staff", "headcount", "workforce"],
    ["industry", "sector", "vertical"],
    ["ticket", "issue", "case", "request"],
    ["customer", "client", "account"],
    ["product", "item", "sku"],
    ["country", "nation"],
    ["classify", "classification", "categorize", "categorise", "category", "label", "tag"],
    ["enrich", "enrichment", "augment"],
    ["validate", "validation", "verify", "verification", "check"],
    ["score", "scoring", "rate", "rating", "rank"],
    ["geocode", "geocoding", "coordinates", "latitude", "longitude", "lat", "lon", "lng"],
]
_CANONICAL = {word: group[0] for group in _EQUIVALENT_WORDS for word in group}
_STOPWORDS = set(
    "a an and are as at be by can do for from get give i in into is it me my of on or our please row rows "
    "the their them this to us we what which with csv file files data column columns each every all add want "
    "need find out run using use".split()
)


def _stem(word: str) -> str:
    """Plural to singular, roughly: industries -> industry, addresses -> address, employees -> employee."""
    if len(word) <= 3:
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (camelCase and snake_case split), stemmed and mapped to a canonical form."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    found = re.findall(r"[a-z0-9]+", text.lower())
    return [_CANONICAL.get(word, _CANONICAL.get(_stem(word), _stem(word))) for word in found]


@dataclass(frozen=True)
class Recommendation:
    agent: str
    score: float
    coverage: float
    matched_columns: dict[str, str] = field(default_factory=dict)  # input field -> CSV column
    missing_required: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    version: str = ""
    match_strength: float = 0.0  # summed strength of the matched columns (1.0 = the name the mapping step picks)


def _match_strength(column: str, input_field: InputField) -> float:
    column_key, column_words = normalize_name(column), set(words(column))
    best = 0.0
    for candidate in [input_field.name, *input_field.synonyms]:
        candidate_words = words(candidate)
        if not candidate_words:
            continue
        if column_key == normalize_name(candidate):
            return 1.0  # what the mapping step will pick
        if "".join(words(column)) == "".join(candidate_words):
            best = max(best, 0.9)  # the same words up to equivalences: "URL" for "website"
        elif set(candidate_words) <= column_words:
            best = max(best, 0.8)  # "Company Website" holds "website"
    return best


def match_columns(spec: AgentSpec, columns: list[str]) -> dict[str, str]:
    """Input field -> column, each column used once, strongest matches first (then field and column order)."""
    return {name: column for name, (column, _) in _matches(spec, columns).items()}


def _matches(spec: AgentSpec, columns: list[str]) -> dict[str, tuple[str, float]]:
    """``match_columns`` with the strength of each match."""
    candidates = []
    for field_index, input_field in enumerate(spec.input_fields):
        for column_index, column in enumerate(columns):
            strength = _match_strength(column, input_field)
            if strength:
                candidates.append((-strength, field_index, column_index, input_field.name, column))
    matched: dict[str, tuple[str, float]] = {}
    used: set[str] = set()
    for strength, _, _, name, column in sorted(candidates):
        if name not in matched and column not in used:
            matched[name] = (column, -strength)
            used.add(column)
    return {f.name: matched[f.name] for f in spec.input_fields if f.name in matched}


def _agent_vocabulary(spec: AgentSpec) -> dict[str, str]:
    """Canonical word -> where it comes from, output fields first (they say what the agent produces)."""
    vocabulary: dict[str, str] = {}
    for name in spec.output_fields:
        for word in words(name):
            vocabulary.setdefault(word, f"output field {name}")
    sources = [spec.name, *spec.aliases, *spec.capabilities, spec.description]
    for text in sources:
        for word in words(text):
            vocabulary.setdefault(word, "description")
    return vocabulary


def goal_words(goal: str) -> list[str]:
    """The content words of a goal, sorted and unique."""
    return sorted({w for w in words(goal) if w not in _STOPWORDS and len(w) > 1})


def goal_similarity(spec: AgentSpec, goal: str) -> tuple[float, list[str]]:
    """Share of the goal's content words found in the agent's vocabulary, and those words."""
    wanted = goal_words(goal)
    if not wanted:
        return 0.0, []
    vocabulary = _agent_vocabulary(spec)
    hits = [w for w in wanted if w in vocabulary]
    return len(hits) / len(wanted), hits


def column_fit(spec: AgentSpec, columns: list[str]) -> tuple[float, float]:
    """How well the columns feed the agent: (share of its required inputs they cover, summed match strength);
    compare as a tuple, more is better."""
    recommendation = recommend(spec, columns)
    return recommendation.coverage, recommendation.match_strength


def recommend(spec: AgentSpec, columns: list[str], goal: str = "") -> Recommendation:
    strengths = _matches(spec, columns)
    matched = {name: column for name, (column, _) in strengths.items()}
    required = [f.name for f in spec.required_inputs]
    missing = [name for name in required if name not in matched]
    coverage = 1.0 if not required else (len(required) - len(missing)) / len(required)
    similarity, hits = goal_similarity(spec, goal)
    has_goal = bool(goal_words(goal))
    score = COVERAGE_WEIGHT * coverage + GOAL_WEIGHT * similarity if has_goal else coverage
    reasons = [f"covers {len(required) - len(missing)}/{len(required)} required inputs"]
    if matched:
        reasons.append("columns: " + ", ".join(f"{name} <- {column!r}" for name, column in matched.items()))
    if missing:
        reasons.append("missing required inputs: " + ", ".join(missing))
    if has_goal:
        reasons.append(f"goal match {similarity:.0%}" + (f": {', '.join(hits)}" if hits else ""))
    return Recommendation(
        agent=spec.name,
        score=round(score, 4),
        coverage=round(coverage, 4),
        matched_columns=matched,
        missing_required=missing,
        reasons=reasons,
        version=spec.version,
        match_strength=round(sum(strength for _, strength in strengths.values()), 4),
    )


def recommend_agents(
    registry_specs: Iterable[AgentSpec], columns: list[str], goal: str = "", *, limit: int | None = None
) -> list[Recommendation]:
    """Compatible (structured-output) agents, best first; ties broken by coverage, then name."""
    ranked = sorted(
        (recommend(spec, list(columns), goal) for spec in registry_specs if spec.is_structured),
        key=lambda r: (-r.score, -r.coverage, r.agent),
    )
    return ranked[:limit] if limit is not None else ranked


def rank_by_columns(specs: Iterable[AgentSpec], columns: list[str]) -> list[AgentSpec]:
    """The agents ordered by ``column_fit``, best first; equal fits (and no columns) keep the given order."""
    specs = list(specs)
    if not columns:
        return specs
    return sorted(specs, key=lambda spec: tuple(-part for part in column_fit(spec, list(columns))))
