"""customer-scorer-agent: a 0-100 customer value score, an RFM segment, churn risk and the reasons.

Offline logic: classic RFM scoring. Recency (days since the last purchase), frequency (orders) and monetary
value (total spend) each get a 1-5 score from fixed thresholds; the score weights them 40/30/30, support
tickets per order lower it and long tenure raises it; the segment is the usual RFM grid; churn risk comes
from recency, frequency and support load.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_batchorch.core.agent_spec import AgentSpec, InputField
from airflow_provider_batchorch.builtin_agents import _common as c
from airflow_provider_batchorch.core.errors import AgentRowError

NAME = "customer-scorer-agent"

SEGMENTS = ("Champion", "Loyal", "Promising", "New", "Needs Attention", "At Risk", "Hibernating", "Lost")

# (threshold, score): the first threshold the value reaches gives the score.
_RECENCY_DAYS = ((30, 5), (60, 4), (120, 3), (240, 2))  # at most N days ago
_FREQUENCY_ORDERS = ((20, 5), (10, 4), (5, 3), (2, 2))  # at least N orders
_MONETARY_SPEND = ((5000, 5), (2000, 4), (500, 3), (100, 2))  # at least N USD

_ACTIONS = {
    "Champion": "Reward: early access, referral programme, ask for a review",
    "Loyal": "Upsell higher tiers and offer a loyalty programme",
    "Promising": "Nurture with onboarding content and a second-purchase offer",
    "New": "Welcome series and a first-month check-in",
    "Needs Attention": "Send a personalised offer before engagement drops",
    "At Risk": "Win-back campaign with a personal outreach from account management",
    "Hibernating": "Low-cost reactivation email with a limited-time discount",
    "Lost": "Exclude from paid campaigns; include in a quarterly win-back email",
}

OUTPUT_SCHEMA = c.strict_object(
    "CustomerScore",
    {
        "score": {"type": "integer", "minimum": 0, "maximum": 100, "description": "Customer value score"},
        "segment": c.enum(SEGMENTS, "RFM segment"),
        "churn_risk": c.enum(("Low", "Medium", "High"), "Likelihood the customer stops buying"),
        "recency_score": {"type": "integer", "minimum": 1, "maximum": 5},
        "frequency_score": {"type": "integer", "minimum": 1, "maximum": 5},
        "monetary_score": {"type": "integer", "minimum": 1, "maximum": 5},
        "reasons": c.string_list("Facts that drove the score", max_items=6, item_max_length=160),
        "recommended_action": c.string("Next best action for the account team", maxLength=200),
        "confidence_score": c.confidence_property(),
    },
    "Value and churn scoring of one customer",
)

SPEC = AgentSpec(
    name=NAME,
    version="1.0.0",
    description="Scores customer profiles from purchase history: 0-100 value score, RFM segment, churn risk, "
    "reasons and a recommended action.",
    capabilities=["customer scoring", "churn prediction", "rfm segmentation", "customer lifetime value"],
    aliases=["customer-scorer", "score-customers", "customer-scoring"],
    input_fields=[
        InputField(name="total_spend", type="number", description="Lifetime spend in USD",
                   synonyms=["lifetime_value", "ltv", "spend", "total_revenue", "total_spent", "revenue",
                             "monetary", "total_purchases_usd", "clv"]),
        InputField(name="orders", type="integer", description="Number of orders",
                   synonyms=["order_count", "num_orders", "purchases", "total_orders", "number_of_orders",
                             "frequency", "purchase_count"]),
        InputField(name="last_purchase_days", type="integer", description="Days since the last purchase",
                   synonyms=["days_since_last_purchase", "recency", "recency_days", "days_since_last_order",
                             "last_order_days", "days_since_purchase"]),
        InputField(name="support_tickets", type="integer", required=False, description="Support tickets opened",
                   synonyms=["tickets", "complaints", "ticket_count", "support_cases", "cases"]),
        InputField(name="tenure_months", type="integer", required=False, description="Months as a customer",
                   synonyms=["tenure", "months_active", "customer_since_months", "account_age_months"]),
    ],
    output_schema=OUTPUT_SCHEMA,
    prompt=(
        "You are a customer analytics model. From the customer's total spend, order count, days since the "
        "last purchase and optional support tickets and tenure, return 1-5 recency, frequency and monetary "
        "scores, a 0-100 value score, the RFM segment, churn risk, the facts that drove the score, a "
        "recommended action and a confidence_score between 0 and 1.\n" + c.DATA_NOT_INSTRUCTIONS
    ),
    invocation=c.python_invocation(__name__),
)

EXAMPLES: list[dict[str, Any]] = [
    {"total_spend": 8200.0, "orders": 34, "last_purchase_days": 12, "support_tickets": 1, "tenure_months": 40},
    {"total_spend": 640.0, "orders": 6, "last_purchase_days": 95, "support_tickets": 4, "tenure_months": 18},
    {"total_spend": 89.0, "orders": 1, "last_purchase_days": 7, "support_tickets": 0, "tenure_months": 1},
    {"total_spend": 3100.0, "orders": 15, "last_purchase_days": 300, "support_tickets": 6, "tenure_months": 30},
    {"total_spend": 45.0, "orders": 1, "last_purchase_days": 700, "support_tickets": None, "tenure_months": None},
]


def _recency(days: float) -> int:
    return next((score for limit, score in _RECENCY_DAYS if days <= limit), 1)


def _at_least(value: float, table: tuple[tuple[float, int], ...]) -> int:
    return next((score for limit, score in table if value >= limit), 1)


def _segment(r: int, f: int, m: int, orders: float) -> str:
    fm = round((f + m) / 2)
    if r >= 4:
        return "Champion" if fm >= 4 else "Loyal" if fm == 3 else ("New" if orders <= 1 else "Promising")
    if r == 3:
        return "Loyal" if fm >= 3 else "Needs Attention"
    if fm >= 3:
        return "At Risk"
    return "Hibernating" if r == 2 else "Lost"


def _optional(inputs: dict[str, Any], field: str) -> float | None:
    raw = inputs.get(field)
    value = c.as_number(raw)
    if value is None and raw not in (None, ""):
        raise AgentRowError(f"Invalid input: field '{field}' expects a number, got {str(raw)[:30]!r}")
    if value is not None and value < 0:
        raise AgentRowError("Invalid customer data: negative value", detail=field)
    return value


def _required(inputs: dict[str, Any], field: str) -> float:
    value = _optional(inputs, field)
    if value is None:
        raise AgentRowError(f"Missing required input: {field}")
    return value


def run(inputs: dict[str, Any]) -> dict[str, Any]:
    spend, orders = _required(inputs, "total_spend"), _required(inputs, "orders")
    days = _required(inputs, "last_purchase_days")
    tickets, tenure = _optional(inputs, "support_tickets"), _optional(inputs, "tenure_months")
    if orders == 0:
        if spend > 0:
            raise AgentRowError("Inconsistent customer data: spend without orders")
        raise AgentRowError("No purchase history to score")
    if days > 36500:
        raise AgentRowError("Invalid customer data: last purchase more than 100 years ago")

    r, f, m = _recency(days), _at_least(orders, _FREQUENCY_ORDERS), _at_least(spend, _MONETARY_SPEND)
    reasons = [
        f"Last purchase {days:g} days ago (recency {r}/5)",
        f"{orders:g} order{'' if orders == 1 else 's'} (frequency {f}/5)",
        f"${spend:,.0f} total spend (monetary {m}/5)",
    ]
    score = ((0.4 * r + 0.3 * f + 0.3 * m) - 1) / 4 * 100
    ticket_load = 0
    if tickets is not None:
        ratio = tickets / orders
        if tickets >= 5 or ratio > 0.5:
            score, ticket_load = score - 10, 2
            reasons.append(f"{tickets:g} support tickets for {orders:g} orders: heavy support load (-10)")
        elif ratio > 0.25:
            score, ticket_load = score - 5, 1
            reasons.append(f"{tickets:g} support tickets for {orders:g} orders (-5)")
    if tenure is not None and tenure >= 24:
        score += 5
        reasons.append(f"Customer for {tenure:g} months (+5)")

    segment = _segment(r, f, m, orders)
    risk_points = (5 - r) * 1.5 + (1 if f <= 1 else 0) + 0.75 * ticket_load
    churn = "High" if risk_points >= 5 else "Medium" if risk_points >= 2.5 else "Low"
    average_order = spend / orders
    confidence = 0.65 + (0.15 if tickets is not None else 0) + (0.15 if tenure is not None else 0)
    if average_order > 50_000:
        confidence -= 0.2
        reasons.append(f"Unusually high average order value ${average_order:,.0f}: check the data")
    return {
        "score": int(round(min(max(score, 0), 100))),
        "segment": segment,
        "churn_risk": churn,
        "recency_score": r,
        "frequency_score": f,
        "monetary_score": m,
        "reasons": reasons[:6],
        "recommended_action": _ACTIONS[segment],
        "confidence_score": c.confidence(confidence),
    }
