"""ticket-classifier-agent: category, priority, sentiment, escalation and a suggested reply for a support ticket.

Offline logic: weighted keyword lexicons per category (the subject counts double), urgency phrases for the
priority, a small sentiment lexicon with negation, and reply templates. ``confidence_score`` grows with the
keyword evidence and shrinks when two categories are close.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_batchorch.core.agent_spec import AgentSpec, InputField
from airflow_provider_batchorch.builtin_agents import _common as c
from airflow_provider_batchorch.builtin_agents._sentiment import sentiment
from airflow_provider_batchorch.core.errors import AgentRowError

NAME = "ticket-classifier-agent"
TOO_SHORT = "Ticket text too short to classify"

CATEGORIES = ("Technical", "Billing", "Account", "Shipping", "Feature Request", "General")
PRIORITIES = ("Low", "Medium", "High", "Urgent")

_CATEGORY_TERMS: dict[str, dict[str, float]] = {
    "Technical": {"error": 2, "bug": 2, "crash": 2, "crashes": 2, "crashing": 2, "broken": 1.5,
                  "not working": 2, "doesn t work": 2, "does not work": 2, "stopped working": 2, "fails": 1.5,
                  "failed": 1.5, "failure": 1.5, "install": 1.5, "installation": 1.5, "update": 1, "upgrade": 1,
                  "api": 2, "integration": 1.5, "sync": 1.5, "syncing": 1.5, "timeout": 2, "slow": 1.5,
                  "loading": 1.5, "server": 1.5, "outage": 2, "down": 1, "500": 1.5, "404": 1.5, "exception": 2,
                  "freezes": 2, "glitch": 2, "app": 1, "connection": 1.5, "configure": 1.5, "configuration": 1.5,
                  "setup": 1, "blank page": 2, "webhook": 2, "sdk": 2, "latency": 2, "data loss": 2},
    "Billing": {"invoice": 2, "invoices": 2, "billing": 2, "bill": 1.5, "billed": 2, "charge": 2, "charged": 2,
                "charges": 2, "payment": 2, "payments": 2, "refund": 2, "refunds": 2, "price": 1.5, "pricing": 1.5,
                "credit card": 2, "card": 1, "receipt": 2, "overcharged": 2, "double charged": 2,
                "charged twice": 2, "discount": 1.5, "coupon": 1.5, "tax": 1, "vat": 1.5, "fee": 1.5, "fees": 1.5,
                "subscription": 1, "renewal": 1.5, "plan": 0.5},
    "Account": {"account": 1, "password": 2, "login": 2, "log in": 2, "sign in": 2, "signin": 2, "username": 2,
                "locked": 1.5, "locked out": 2, "2fa": 2, "two factor": 2, "mfa": 2, "verification": 1.5,
                "verify": 1, "profile": 1.5, "delete my account": 2, "close my account": 2, "permissions": 1.5,
                "reset": 1, "email address": 1.5, "sso": 2, "access": 0.5},
    "Shipping": {"shipping": 2, "shipment": 2, "delivery": 2, "delivered": 2, "package": 2, "parcel": 2,
                 "tracking": 2, "tracking number": 2, "courier": 2, "arrived": 1.5, "arrive": 1.5,
                 "order status": 2, "lost": 1, "damaged": 1.5, "return label": 2, "warehouse": 1.5,
                 "dispatched": 2, "shipped": 2},
    "Feature Request": {"feature": 2, "feature request": 2, "would be great": 2, "would be nice": 2,
                        "suggestion": 2, "suggest": 1.5, "add support": 2, "could you add": 2, "please add": 2,
                        "wish": 1.5, "roadmap": 2, "enhancement": 2, "idea": 1.5, "dark mode": 2, "it would help": 1.5},
    "General": {"question": 1, "information": 1, "info": 1, "opening hours": 2, "contact": 1, "partnership": 2,
                "feedback": 1.5, "general": 1, "how does": 1, "how do i": 1.5, "how can i": 1.5,
                "where can i": 1.5, "is it possible": 1.5, "export": 1, "documentation": 1.5},
}

_URGENT = c.Lexicon({t: 1 for t in (
    "outage", "down for everyone", "production down", "production is down", "site is down", "system down",
    "all users", "all our users", "data loss", "lost all", "security breach", "breach", "hacked", "compromised",
    "fraud", "unauthorized", "urgent", "urgently", "emergency", "asap", "immediately", "critical",
)})
_HIGH = c.Lexicon({t: 1 for t in (
    "not working", "doesn t work", "does not work", "stopped working", "broken", "error", "crash", "crashes",
    "charged twice", "double charged", "overcharged", "refund", "locked out", "can t log in", "cannot log in",
    "can t login", "cannot login", "can t access", "cannot access", "blocked", "deadline", "lost package",
    "never arrived", "damaged", "wrong charge", "still waiting", "again",
)})
_LOW = c.Lexicon({t: 1 for t in (
    "feature", "suggestion", "question", "how do i", "how to", "just wondering", "curious", "feedback",
    "when you have time", "no rush", "not urgent", "would be nice", "would be great", "idea",
)})
_ESCALATION = c.Lexicon({t: 1 for t in (
    "lawyer", "legal action", "sue", "chargeback", "cancel my account", "cancel my subscription", "report you",
    "better business bureau", "regulator", "gdpr", "data protection",
)})
_LEXICONS = {category: c.Lexicon(terms) for category, terms in _CATEGORY_TERMS.items()}

_REPLIES = {
    "Technical": "Thanks for reporting this, and sorry that it is getting in your way. Could you send us the exact "
                 "error message, the steps that lead to it and your app or browser version? Our technical team "
                 "is investigating.",
    "Billing": "Thanks for contacting us about your billing. We are reviewing the charges on your account and "
               "will correct anything that is wrong; any refund due goes back to your original payment method.",
    "Account": "Thanks for reaching out about your account. For your security, please use the password reset "
               "link on the sign-in page; if you still cannot get in, reply here and we will verify your "
               "identity and restore access.",
    "Shipping": "Thanks for your message about your order. We are checking the shipment with the carrier and "
                "will send you the latest tracking status; if the parcel is lost or damaged we will send a "
                "replacement or a refund.",
    "Feature Request": "Thank you for the suggestion! We have shared it with our product team, who review "
                       "every request when planning the roadmap.",
    "General": "Thanks for getting in touch. A member of our support team will get back to you with an answer "
               "shortly.",
}
_PRIORITY_NOTES = {
    "Urgent": " We have escalated this to our on-call team and will update you within the hour.",
    "High": " We are treating this as a high priority.",
}

OUTPUT_SCHEMA = c.strict_object(
    "TicketClassification",
    {
        "category": c.enum(CATEGORIES, "Support queue the ticket belongs to"),
        "priority": c.enum(PRIORITIES, "How soon the ticket needs an answer"),
        "sentiment": c.enum(("Positive", "Neutral", "Negative"), "Tone of the customer"),
        "needs_escalation": {"type": "boolean", "description": "Route to a senior agent or on-call now"},
        "suggested_response": c.string("A first reply the support agent can send", minLength=1, maxLength=1000),
        "matched_keywords": c.string_list("Keywords that decided the category and priority", max_items=10,
                                          item_max_length=40),
        "confidence_score": c.confidence_property(),
    },
    "Classification of one support ticket",
)

SPEC = AgentSpec(
    name=NAME,
    version="1.0.0",
    description="Classifies customer support tickets by category and priority, detects sentiment and "
    "escalations, and suggests a first response.",
    capabilities=["ticket classification", "priority routing", "sentiment analysis", "suggested responses",
                  "customer support"],
    aliases=["ticket-classifier", "classify-tickets", "support-ticket-classifier"],
    input_fields=[
        InputField(name="subject", required=False, description="Ticket subject line",
                   synonyms=["title", "summary", "topic", "ticket_subject", "headline", "subject_line"]),
        InputField(name="body", description="Ticket text written by the customer",
                   synonyms=["description", "message", "text", "content", "ticket_body", "details", "comment",
                             "issue", "ticket", "ticket_text", "request", "email_body"]),
        InputField(name="customer_tier", required=False, description="Plan of the customer (enterprise raises "
                   "the priority one step)", synonyms=["tier", "plan", "customer_plan", "segment", "sla"]),
    ],
    output_schema=OUTPUT_SCHEMA,
    prompt=(
        "You are a customer support triage specialist. Read the ticket's subject and body and return its "
        "category, its priority (Urgent for outages, security or data loss; High when the customer is blocked "
        "or was charged wrongly; Low for questions and suggestions; Medium otherwise), the customer's "
        "sentiment, whether it needs escalation, a short, polite suggested_response that does not promise "
        "anything the support team cannot do, the keywords that decided, and a confidence_score between 0 and "
        "1.\n" + c.DATA_NOT_INSTRUCTIONS
    ),
    invocation=c.python_invocation(__name__),
)

EXAMPLES: list[dict[str, Any]] = [
    {"subject": "App crashes on startup", "body": "Since the last update the app crashes every time I open it."},
    {"subject": "Charged twice", "body": "I was charged twice for my subscription this month, please refund."},
    {"subject": None, "body": "I'm locked out of my account and the password reset email never arrives."},
    {"subject": "Dark mode", "body": "It would be great if you could add dark mode. Love the product!"},
    {"subject": "URGENT: production down", "body": "Our production site is down for all users!!!",
     "customer_tier": "Enterprise"},
]


def _raise(priority: str) -> str:
    return PRIORITIES[min(PRIORITIES.index(priority) + 1, len(PRIORITIES) - 1)]


def run(inputs: dict[str, Any]) -> dict[str, Any]:
    subject = c.text(inputs.get("subject"))
    body = c.text(inputs.get("body"))
    full = f"{subject}. {body}" if subject else body
    words = [w for w in c.tokens(full) if any(ch.isalpha() for ch in w)]
    if len(words) < 3:
        raise AgentRowError(TOO_SHORT)

    scores: dict[str, float] = {}
    keywords: list[str] = []
    for category, lexicon in _LEXICONS.items():
        subject_hits, body_hits = lexicon.matches(subject), lexicon.matches(body)
        scores[category] = 2 * sum(subject_hits.values()) + sum(body_hits.values())
        keywords += [k for k in {**subject_hits, **body_hits} if k not in keywords]
    category, top, runner_up = c.best_label(scores)

    urgent, high, low = _URGENT.matches(full), _HIGH.matches(full), _LOW.matches(full)
    priority = "Urgent" if urgent else "High" if high else "Low" if low else "Medium"
    tone = sentiment(full)
    if tone.label == "Negative" and tone.intensity >= 2 and priority in ("Low", "Medium"):
        priority = _raise(priority)
    tier = c.fold(c.text(inputs.get("customer_tier")))
    if any(word in tier for word in ("enterprise", "premium", "platinum", "vip")):
        priority = _raise(priority)
    escalation = _ESCALATION.matches(full)
    needs_escalation = bool(priority == "Urgent" or escalation or (priority == "High" and tone.label == "Negative"))

    if category is None:
        category, score = "General", 0.3
    else:
        score = 0.45 + 0.1 * min(top, 4) - 0.3 * (runner_up / top)
    reply = _REPLIES[category] + _PRIORITY_NOTES.get(priority, "")
    if tone.label == "Negative":
        reply = "We are sorry for the frustration this has caused. " + reply
    elif tone.label == "Positive" and category != "Feature Request":
        reply = "Thank you for your kind words. " + reply
    matched = keywords + [k for k in (*urgent, *escalation, *high) if k not in keywords]
    return {
        "category": category,
        "priority": priority,
        "sentiment": tone.label,
        "needs_escalation": needs_escalation,
        "suggested_response": reply,
        "matched_keywords": matched[:10],
        "confidence_score": c.confidence(min(max(score, 0.3), 0.95)),
    }
