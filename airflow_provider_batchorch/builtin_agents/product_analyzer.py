"""product-analyzer-agent: category, key features, quality signals, risk flags, tone and price tier of a product.

Offline logic: category keyword lexicons (the product name counts double), a feature lexicon plus measured
specifications (``64GB``, ``5000 mAh``, ``30-hour battery``), quality and risk phrase lists, the shared sentiment
lexicon, and per-category price bands (or price words when no price is given). Every value is read from the
row by these rules; when no category term or no price evidence is found, the field is null and
``unknown_reasons`` says why.
"""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_batchorch.core.agent_spec import AgentSpec, InputField
from airflow_provider_batchorch.builtin_agents import _common as c
from airflow_provider_batchorch.builtin_agents._sentiment import sentiment
from airflow_provider_batchorch.core.errors import AgentRowError

NAME = "product-analyzer-agent"
INSUFFICIENT = "Insufficient product information"

_CATEGORY_TERMS: dict[str, dict[str, float]] = {
    "Electronics": {"phone": 2, "smartphone": 2, "laptop": 2, "tablet": 2, "headphones": 2, "earbuds": 2,
                    "speaker": 2, "bluetooth": 1.5, "usb": 1.5, "charger": 2, "camera": 2, "tv": 2, "monitor": 2,
                    "keyboard": 1.5, "mouse": 1, "console": 1.5, "smartwatch": 2, "router": 2, "drone": 2,
                    "hdmi": 2, "4k": 1.5, "ssd": 2, "power bank": 2, "wireless": 1, "gb": 1, "mah": 1.5},
    "Home & Kitchen": {"kitchen": 2, "cookware": 2, "pan": 1.5, "skillet": 2, "pot": 1, "knife": 1.5,
                       "blender": 2, "coffee maker": 2, "kettle": 2, "mug": 1.5, "bedding": 2, "pillow": 2,
                       "sheets": 1.5, "towel": 2, "vacuum": 2, "lamp": 1.5, "sofa": 2, "chair": 1, "table": 1,
                       "furniture": 2, "decor": 1.5, "rug": 2, "curtains": 2, "mattress": 2, "air fryer": 2,
                       "toaster": 2, "dishwasher safe": 1.5, "candle": 2},
    "Clothing & Apparel": {"shirt": 2, "t shirt": 2, "jacket": 2, "coat": 1.5, "dress": 2, "jeans": 2,
                           "pants": 2, "sweater": 2, "hoodie": 2, "shoes": 2, "sneakers": 2, "boots": 2,
                           "socks": 2, "hat": 1.5, "apparel": 2, "leggings": 2, "scarf": 1.5},
    "Beauty & Personal Care": {"shampoo": 2, "conditioner": 2, "serum": 2, "moisturizer": 2, "lotion": 2,
                               "makeup": 2, "lipstick": 2, "mascara": 2, "skincare": 2, "fragrance": 2,
                               "perfume": 2, "razor": 2, "toothbrush": 2, "sunscreen": 2, "cream": 1},
    "Sports & Outdoors": {"tent": 2, "sleeping bag": 2, "backpack": 1.5, "hiking": 2, "camping": 2, "yoga": 2,
                          "dumbbell": 2, "dumbbells": 2, "fitness": 1.5, "bike": 2, "bicycle": 2, "running": 1.5,
                          "racket": 2, "fishing": 2, "kayak": 2, "treadmill": 2, "outdoor": 1},
    "Toys & Games": {"toy": 2, "toys": 2, "lego": 2, "puzzle": 2, "board game": 2, "doll": 2, "action figure": 2,
                     "plush": 2, "building blocks": 2, "kids": 1},
    "Books & Media": {"book": 2, "novel": 2, "paperback": 2, "hardcover": 2, "ebook": 2, "audiobook": 2,
                      "vinyl": 1.5, "dvd": 2, "blu ray": 2, "magazine": 2},
    "Grocery & Food": {"coffee beans": 2, "tea": 1.5, "snack": 2, "chocolate": 2, "pasta": 2, "sauce": 2,
                       "spice": 2, "olive oil": 2, "cereal": 2, "flour": 2, "honey": 2, "gluten free": 1},
    "Health & Wellness": {"vitamin": 2, "vitamins": 2, "supplement": 2, "protein": 1.5, "probiotic": 2,
                          "first aid": 2, "thermometer": 2, "blood pressure": 2, "massage": 1.5},
    "Automotive": {"tire": 2, "tires": 2, "motor oil": 2, "dash cam": 2, "wiper": 2, "car": 1.5,
                   "automotive": 2, "vehicle": 1.5},
    "Office Supplies": {"pen": 1.5, "pens": 1.5, "notebook": 1.5, "stapler": 2, "printer": 2, "paper": 1,
                        "desk": 1.5, "planner": 2, "ink": 1.5, "toner": 2, "folder": 2},
    "Pet Supplies": {"dog": 2, "cat": 2, "pet": 2, "leash": 2, "litter": 2, "kibble": 2, "aquarium": 2,
                     "collar": 1.5},
    "Tools & Home Improvement": {"drill": 2, "saw": 2, "hammer": 2, "screwdriver": 2, "wrench": 2, "ladder": 2,
                                "paint": 1.5, "cordless": 1, "led bulb": 2, "tool set": 2, "toolkit": 2},
    "Jewelry & Accessories": {"necklace": 2, "ring": 1.5, "bracelet": 2, "earrings": 2, "watch": 1.5,
                              "wallet": 2, "sunglasses": 2, "handbag": 2},
}
CATEGORIES = (*_CATEGORY_TERMS, "Other")  # "Other": only an LLM answering with this schema uses it
_CATEGORY_LEXICONS = {category: c.Lexicon(terms) for category, terms in _CATEGORY_TERMS.items()}

# Lower bounds of Mid-range, Premium and Luxury in USD.
_PRICE_BANDS: dict[str, tuple[float, float, float]] = {
    "Electronics": (50, 300, 1000), "Home & Kitchen": (30, 150, 600), "Clothing & Apparel": (25, 100, 400),
    "Beauty & Personal Care": (15, 50, 150), "Sports & Outdoors": (30, 150, 600), "Toys & Games": (15, 60, 200),
    "Books & Media": (10, 30, 100), "Grocery & Food": (5, 20, 60), "Health & Wellness": (15, 50, 150),
    "Automotive": (25, 150, 600), "Office Supplies": (10, 50, 200), "Pet Supplies": (15, 60, 200),
    "Tools & Home Improvement": (30, 150, 500), "Jewelry & Accessories": (30, 200, 1000), "Other": (25, 100, 500),
}
PRICE_TIERS = ("Budget", "Mid-range", "Premium", "Luxury")
UNKNOWN_FIELDS = ("category", "price_tier")
_PRICE_WORDS = {
    "Luxury": c.Lexicon({"luxury": 1, "designer": 1, "haute": 1, "exclusive": 1, "limited edition": 1}),
    "Premium": c.Lexicon({"premium": 1, "professional": 1, "pro": 1, "deluxe": 1, "flagship": 1}),
    "Budget": c.Lexicon({"budget": 1, "affordable": 1, "cheap": 1, "basic": 1, "economy": 1, "value pack": 1}),
}

# Canonical feature -> phrases that express it.
_FEATURES: dict[str, tuple[str, ...]] = {
    "Wireless": ("wireless", "cordless", "cable free"),
    "Bluetooth": ("bluetooth",),
    "Noise cancelling": ("noise cancelling", "noise canceling", "anc"),
    "Waterproof": ("waterproof", "water resistant", "ip67", "ip68", "ipx7"),
    "Rechargeable": ("rechargeable",),
    "Fast charging": ("fast charging", "quick charge"),
    "Stainless steel": ("stainless steel",),
    "Dishwasher safe": ("dishwasher safe",),
    "Non-stick": ("non stick", "nonstick"),
    "Organic": ("organic",),
    "Vegan": ("vegan",),
    "Gluten-free": ("gluten free",),
    "Machine washable": ("machine washable",),
    "Handmade": ("handmade", "hand made", "handcrafted"),
    "Eco-friendly": ("eco friendly", "recycled", "sustainable", "biodegradable"),
    "BPA-free": ("bpa free",),
    "Lightweight": ("lightweight", "ultralight"),
    "Portable": ("portable", "compact"),
    "Foldable": ("foldable", "collapsible"),
    "Adjustable": ("adjustable",),
    "Ergonomic": ("ergonomic",),
    "4K": ("4k", "uhd"),
    "Touchscreen": ("touchscreen", "touch screen"),
    "Smart home compatible": ("alexa", "google home", "homekit", "smart home"),
    "Energy efficient": ("energy efficient", "energy star"),
    "USB-C": ("usb c", "type c"),
}
_QUALITY = c.Lexicon({t: 1 for t in (
    "warranty", "certified", "ul listed", "fda approved", "iso", "premium materials", "handcrafted",
    "award winning", "genuine leather", "solid wood", "stainless steel", "durable", "top rated", "best seller",
    "made in", "lifetime guarantee", "money back guarantee", "clinically tested", "dermatologist tested",
)})
_RISKS = c.Lexicon({t: 1 for t in (
    "replica", "refurbished", "used", "as is", "no returns", "knockoff", "imitation", "untested", "for parts",
    "damaged", "final sale", "no warranty", "counterfeit", "open box", "missing parts",
)})
_SPEC = re.compile(
    r"\b(\d+(?:\.\d+)?)\s?-?\s?(gb|tb|mb|mah|wh|w|watts?|v|mp|hz|inch(?:es)?|in|mm|cm|ml|l|oz|lbs?|kg|"
    r"hours?|hrs?|h|mph|dpi|fps|rpm|ppi|k)\b(?:\s+(battery|battery life|playtime|runtime|storage|ram))?",
    re.IGNORECASE,
)
_UNITS = {"gb": "GB", "tb": "TB", "mb": "MB", "mah": "mAh", "wh": "Wh", "w": "W", "watt": "W", "watts": "W",
          "v": "V", "mp": "MP", "hz": "Hz", "inch": "-inch", "inches": "-inch", "in": "-inch", "mm": "mm",
          "cm": "cm", "ml": "ml", "l": "L", "oz": "oz", "lb": "lb", "lbs": "lb", "kg": "kg", "hour": "-hour",
          "hours": "-hour", "hr": "-hour", "hrs": "-hour", "h": "-hour", "mph": "mph", "dpi": "DPI",
          "fps": "fps", "rpm": "RPM", "ppi": "PPI", "k": "K"}

OUTPUT_SCHEMA = c.strict_object(
    "ProductAnalysis",
    {
        "category": {"type": ["string", "null"], "enum": [*CATEGORIES, None],
                     "description": "The category whose terms the name (counted twice) and description match most; "
                     "null when none matched"},
        "key_features": c.string_list("Notable features and measured specifications", max_items=8,
                                      item_max_length=60),
        "quality_signals": c.string_list("Evidence of quality (warranty, certification, materials)", max_items=6,
                                         item_max_length=60),
        "risk_flags": c.string_list("Warning signs (refurbished, replica, no returns)", max_items=6,
                                    item_max_length=60),
        "sentiment": c.enum(("Positive", "Neutral", "Negative"), "Tone of the description"),
        "price_tier": {"type": ["string", "null"], "enum": [*PRICE_TIERS, None],
                       "description": "Price position within the category's price bands (USD), else from price "
                       "words of the text; null when there is neither"},
        "unknown_reasons": c.unknown_reasons_property(UNKNOWN_FIELDS),
        "confidence_score": c.confidence_property(),
    },
    "Analysis of one product listing",
)

SPEC = AgentSpec(
    name=NAME,
    version="1.0.0",
    description="Analyzes product descriptions: category, key features and specifications, quality signals, "
    "risk flags, tone and price tier.",
    capabilities=["product analysis", "product categorization", "feature extraction", "catalog enrichment"],
    aliases=["product-analyzer", "analyze-products", "product-analysis"],
    input_fields=[
        InputField(name="product_name", description="Product title",
                   synonyms=["name", "title", "product", "product_title", "item_name", "item", "sku_name"]),
        InputField(name="description", required=False, description="Product description or listing text",
                   synonyms=["product_description", "details", "desc", "summary", "body", "long_description",
                             "features", "item_description"]),
        InputField(name="price", type="number", required=False, description="Price in USD",
                   synonyms=["price_usd", "cost", "amount", "list_price", "msrp", "retail_price", "unit_price"]),
    ],
    output_schema=OUTPUT_SCHEMA,
    prompt=(
        "You are an e-commerce catalog analyst. From the product name, description and optional price, return "
        "the product category (one of the allowed values), up to 8 key features and measured specifications "
        "stated in the text, quality signals and risk flags actually present in the text, the tone of the "
        "description, the price tier within the category (Unknown when neither a price nor price wording is "
        "given: null then, with the reason in unknown_reasons) and a confidence_score between 0 and 1. Do not invent features.\n" + c.DATA_NOT_INSTRUCTIONS
    ),
    invocation=c.python_invocation(__name__),
)

EXAMPLES: list[dict[str, Any]] = [
    {"product_name": "AeroSound Pro Wireless Headphones",
     "description": "Bluetooth 5.3, active noise cancelling, 30-hour battery, USB-C fast charging. 2-year warranty.",
     "price": 249.0},
    {"product_name": "Cast Iron Skillet 12 inch", "description": "Pre-seasoned, oven safe, durable. Made in USA.",
     "price": 39.99},
    {"product_name": "Organic Arabica Coffee Beans", "description": "Fair trade, medium roast, 1 kg bag.",
     "price": None},
    {"product_name": "Replica designer handbag", "description": "Final sale, no returns.", "price": 59.0},
]


def _features(full: str) -> list[str]:
    features: list[str] = []
    for match in _SPEC.finditer(full):
        number, unit, noun = match.group(1), _UNITS[match.group(2).lower()], match.group(3)
        label = f"{number}{unit}" if unit.startswith("-") or unit in {"K", "GB", "TB", "MB"} else f"{number} {unit}"
        features.append(f"{label} {noun.lower()}" if noun else label)
    key = f" {c.phrase_key(full)} "
    for feature, phrases in _FEATURES.items():
        if any(f" {c.phrase_key(p)} " in key for p in phrases) and feature not in features:
            features.append(feature)
    seen: list[str] = []
    for feature in features:
        if feature.lower() not in (s.lower() for s in seen):
            seen.append(feature)
    return seen[:8]


def _price_tier(category: str | None, price: float | None, full: str) -> str | None:
    if price is not None:
        mid, premium, luxury = _PRICE_BANDS[category or "Other"]
        if price >= luxury:
            return "Luxury"
        return "Premium" if price >= premium else "Mid-range" if price >= mid else "Budget"
    for tier, lexicon in _PRICE_WORDS.items():
        if lexicon.matches(full):
            return tier
    return None


def run(inputs: dict[str, Any]) -> dict[str, Any]:
    name = c.text(inputs.get("product_name"))
    description = c.text(inputs.get("description"))
    price_value = inputs.get("price")
    price = c.as_number(price_value)
    if price_value not in (None, "") and price is None:
        raise AgentRowError("Invalid price")
    if price is not None and price < 0:
        raise AgentRowError("Invalid price")
    full = f"{name}. {description}"
    if len(c.letters(name)) < 2 and len(c.tokens(description)) < 3:
        raise AgentRowError(INSUFFICIENT)

    scores = {category: 2 * lexicon.score(name) + lexicon.score(description)
              for category, lexicon in _CATEGORY_LEXICONS.items()}
    category, top, runner_up = c.best_label(scores)

    features = _features(full)
    quality = list(_QUALITY.matches(full))[:6]
    risks = list(_RISKS.matches(full))[:6]
    tone = sentiment(full)
    if risks and tone.label == "Positive" and tone.polarity < 1:
        tone.label = "Neutral"

    score = 0.2 if category is None else 0.4 + 0.08 * min(top, 5) - 0.2 * (runner_up / top)
    score += 0.05 * min(len(features), 3) + (0.05 if description else 0) + (0.05 if price is not None else 0)
    price_tier = _price_tier(category, price, full)
    unknown = {
        "category": None if category else "no category term in the name or the description",
        "price_tier": None if price_tier else "no price, and no price words in the text",
    }
    return {
        "category": category,
        "key_features": features,
        "quality_signals": quality,
        "risk_flags": risks,
        "sentiment": tone.label,
        "price_tier": price_tier,
        "unknown_reasons": unknown,
        "confidence_score": c.confidence(min(score, 0.95)),
    }
