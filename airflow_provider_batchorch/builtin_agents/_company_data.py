"""Lookup tables of the company enrichment agent: industry taxonomy and keywords, size markers, and a list of
well-known companies with approximate public figures (headcount and revenue around fiscal 2023, USD)."""

from __future__ import annotations

from typing import NamedTuple

INDUSTRIES: tuple[str, ...] = (
    "Software",
    "Technology",
    "Financial Services",
    "Healthcare",
    "Pharmaceuticals & Biotech",
    "Retail",
    "Consumer Goods",
    "Food & Beverage",
    "Manufacturing",
    "Automotive",
    "Aerospace & Defense",
    "Energy & Utilities",
    "Telecommunications",
    "Media & Entertainment",
    "Transportation & Logistics",
    "Real Estate",
    "Construction",
    "Education",
    "Hospitality & Travel",
    "Professional Services",
    "Agriculture",
    "Government & Nonprofit",
    "Other",
)

# keyword (a word or phrase of the company name or website) -> weight. 2 = decisive, 1 = suggestive.
INDUSTRY_KEYWORDS: dict[str, dict[str, float]] = {
    "Software": {"software": 2, "saas": 2, "cloud": 1.5, "analytics": 1.5, "cybersecurity": 2, "ai": 1,
                 "apps": 1.5, "app": 1, "devops": 2, "api": 1, "data": 1, "digital": 0.5, "code": 1,
                 "automation": 1, "platform": 1, "cyber": 1.5, "machine learning": 2},
    "Technology": {"technology": 1.5, "technologies": 1.5, "tech": 1.5, "systems": 1, "computing": 2,
                   "computer": 2, "computers": 2, "electronics": 2, "semiconductor": 2, "semiconductors": 2,
                   "microsystems": 2, "robotics": 2, "devices": 1, "hardware": 2, "it": 0.5, "quantum": 1.5,
                   "silicon": 1.5, "labs": 0.5, "networks": 1, "micro": 1},
    "Financial Services": {"bank": 2, "banking": 2, "bancorp": 2, "capital": 1.5, "financial": 2, "finance": 2,
                           "credit": 1.5, "insurance": 2, "assurance": 2, "investments": 2, "investment": 2,
                           "asset management": 2, "wealth": 1.5, "payments": 2, "pay": 1, "fund": 1.5,
                           "funds": 1.5, "lending": 2, "mortgage": 2, "securities": 2, "fintech": 2,
                           "trust": 0.5, "ventures": 1, "equity": 1.5,
                           "banque": 2, "banco": 2, "versicherung": 2, "seguros": 2, "assurances": 2},
    "Healthcare": {"health": 2, "healthcare": 2, "medical": 2, "clinic": 2, "clinics": 2, "hospital": 2,
                   "hospitals": 2, "dental": 2, "diagnostics": 1.5, "medtech": 2, "care": 1, "physicians": 2,
                   "surgical": 2, "wellness": 1, "home care": 2, "orthopedics": 2},
    "Pharmaceuticals & Biotech": {"pharma": 2, "pharmaceutical": 2, "pharmaceuticals": 2, "biotech": 2,
                                  "bio": 1, "biosciences": 2, "therapeutics": 2, "genomics": 2, "biologics": 2,
                                  "vaccines": 2, "life sciences": 2, "labs": 0.5},
    "Retail": {"retail": 2, "store": 1.5, "stores": 1.5, "shop": 1.5, "shops": 1.5, "mart": 1.5, "market": 1,
               "outlet": 1.5, "boutique": 1.5, "ecommerce": 2, "e commerce": 2, "supermarket": 2,
               "supermarkets": 2, "grocers": 1.5, "mall": 1.5, "emporium": 1.5},
    "Consumer Goods": {"apparel": 2, "fashion": 2, "clothing": 2, "cosmetics": 2, "beauty": 1.5, "furniture": 2,
                       "toys": 2, "footwear": 2, "shoes": 1.5, "jewelry": 2, "jewellery": 2, "goods": 1,
                       "brands": 1, "household": 1.5, "home goods": 2, "outfitters": 1.5},
    "Food & Beverage": {"foods": 2, "food": 2, "beverage": 2, "beverages": 2, "brewing": 2, "brewery": 2,
                        "bakery": 2, "coffee": 1.5, "dairy": 2, "snacks": 2, "drinks": 2, "wine": 1.5,
                        "winery": 2, "distillery": 2, "tea": 1, "chocolate": 2, "kitchen": 1, "creamery": 2,
                        "provisions": 1},
    "Manufacturing": {"manufacturing": 2, "industrial": 2, "industries": 1, "machinery": 2, "steel": 2,
                      "metals": 2, "materials": 1.5, "fabrication": 2, "tools": 1, "plastics": 2, "chemicals": 2,
                      "chemical": 2, "engineering": 1, "components": 1.5, "precision": 1, "packaging": 2,
                      "paper": 1, "textiles": 2, "foundry": 2, "works": 0.5},
    "Automotive": {"motors": 2, "motor": 1.5, "automotive": 2, "auto": 1.5, "autos": 2, "cars": 2, "car": 1,
                   "vehicles": 2, "vehicle": 1.5, "mobility": 1, "tires": 2, "ev": 1},
    "Aerospace & Defense": {"aerospace": 2, "aviation": 2, "defense": 2, "defence": 2, "aircraft": 2,
                            "space": 1, "satellite": 1.5, "drones": 1.5, "avionics": 2, "rocket": 2},
    "Energy & Utilities": {"energy": 2, "oil": 2, "gas": 1.5, "petroleum": 2, "solar": 2, "wind": 1.5, "power": 1,
                           "utilities": 2, "utility": 2, "electric": 1, "renewables": 2, "renewable": 2,
                           "nuclear": 2, "hydro": 1.5, "fuels": 2, "water": 0.5},
    "Telecommunications": {"telecom": 2, "telecommunications": 2, "wireless": 1.5, "mobile": 1, "broadband": 2,
                           "communications": 1.5, "cellular": 2, "fiber": 1.5, "telco": 2, "networks": 0.5},
    "Media & Entertainment": {"media": 2, "entertainment": 2, "studios": 1.5, "films": 2, "pictures": 1.5,
                              "music": 2, "records": 1, "games": 1.5, "gaming": 1.5, "publishing": 2,
                              "press": 1, "news": 1.5, "broadcasting": 2, "tv": 1.5, "radio": 1.5,
                              "streaming": 1.5, "productions": 2},
    "Transportation & Logistics": {"logistics": 2, "freight": 2, "shipping": 2, "transport": 2,
                                   "transportation": 2, "trucking": 2, "delivery": 1.5, "courier": 2, "cargo": 2,
                                   "airlines": 2, "airline": 2, "airways": 2, "rail": 1.5, "railway": 2,
                                   "fleet": 1.5, "supply chain": 2, "express": 1, "movers": 2, "warehousing": 2,
                                   "cold storage": 2, "logistik": 2, "spedition": 2, "logistique": 2},
    "Real Estate": {"realty": 2, "real estate": 2, "properties": 2, "property": 2, "estates": 1.5, "homes": 1,
                    "housing": 1.5, "realtors": 2, "reit": 2, "land": 1},
    "Construction": {"construction": 2, "builders": 2, "building": 1, "contractors": 2, "contracting": 2,
                     "architecture": 1.5, "architects": 1.5, "roofing": 2, "plumbing": 2, "concrete": 2,
                     "infrastructure": 1.5, "remodeling": 2, "bau": 1.5, "construcciones": 2},
    "Education": {"university": 2, "college": 2, "school": 2, "schools": 2, "academy": 2, "education": 2,
                  "learning": 1.5, "institute": 1, "tutoring": 2, "edtech": 2, "training": 1},
    "Hospitality & Travel": {"hotel": 2, "hotels": 2, "resorts": 2, "resort": 2, "hospitality": 2, "travel": 2,
                             "tours": 1.5, "restaurants": 2, "restaurant": 2, "cafe": 2, "bistro": 2, "inn": 1.5,
                             "lodging": 2, "cruises": 2, "catering": 2, "grill": 1.5},
    "Professional Services": {"consulting": 2, "consultants": 2, "advisors": 1.5, "advisory": 1.5,
                              "partners": 0.5, "law": 2, "legal": 2, "attorneys": 2, "accounting": 2,
                              "accountants": 2, "audit": 1.5, "marketing": 2, "agency": 1.5, "staffing": 2,
                              "recruiting": 2, "solutions": 0.5, "services": 0.5, "associates": 1,
                              "design": 1, "research": 1, "strategy": 1},
    "Agriculture": {"agriculture": 2, "agri": 2, "agro": 2, "farms": 2, "farm": 1.5, "farming": 2, "seeds": 2,
                    "crops": 2, "harvest": 1.5, "ranch": 2, "livestock": 2, "grain": 2, "orchards": 2},
    "Government & Nonprofit": {"foundation": 2, "charity": 2, "nonprofit": 2, "ministry": 2, "council": 1.5,
                               "department": 1, "association": 1.5, "federation": 1.5, "society": 1},
}

# Top-level domain -> (industry, weight).
TLD_HINTS: dict[str, tuple[str, float]] = {
    "io": ("Software", 1.0), "ai": ("Software", 1.5), "dev": ("Software", 1.5), "app": ("Software", 1.5),
    "tech": ("Technology", 1.5), "bank": ("Financial Services", 3.0), "finance": ("Financial Services", 2.0),
    "insurance": ("Financial Services", 3.0), "edu": ("Education", 3.0), "gov": ("Government & Nonprofit", 3.0),
    "org": ("Government & Nonprofit", 0.5), "health": ("Healthcare", 2.0), "energy": ("Energy & Utilities", 2.0),
    "shop": ("Retail", 1.5), "store": ("Retail", 1.5), "travel": ("Hospitality & Travel", 2.0),
    "media": ("Media & Entertainment", 1.5), "law": ("Professional Services", 2.0),
}

# Employee ranges, smallest first: (label, representative headcount used as the estimate).
SIZE_BANDS: tuple[tuple[str, int], ...] = (
    ("1-10", 6),
    ("11-50", 30),
    ("51-200", 120),
    ("201-1000", 450),
    ("1001-5000", 2200),
    ("5001-10000", 7000),
    ("10001+", 25000),
)

# Typical band (index into SIZE_BANDS) of a company named only by its industry, and revenue per employee (USD).
INDUSTRY_PROFILE: dict[str, tuple[int, int]] = {
    "Software": (2, 200_000), "Technology": (2, 250_000), "Financial Services": (3, 350_000),
    "Healthcare": (3, 120_000), "Pharmaceuticals & Biotech": (2, 400_000), "Retail": (2, 180_000),
    "Consumer Goods": (2, 250_000), "Food & Beverage": (2, 200_000), "Manufacturing": (3, 250_000),
    "Automotive": (3, 400_000), "Aerospace & Defense": (3, 300_000), "Energy & Utilities": (3, 900_000),
    "Telecommunications": (3, 450_000), "Media & Entertainment": (2, 300_000),
    "Transportation & Logistics": (3, 150_000), "Real Estate": (1, 300_000), "Construction": (2, 200_000),
    "Education": (3, 80_000), "Hospitality & Travel": (1, 60_000), "Professional Services": (1, 150_000),
    "Agriculture": (1, 200_000), "Government & Nonprofit": (1, 90_000), "Other": (1, 150_000),
}

# Legal forms and name words that hint at size: marker -> band shift.
SIZE_MARKERS: dict[str, int] = {
    "holdings": 2, "group": 1, "international": 1, "global": 1, "worldwide": 1, "corporation": 1, "corp": 1,
    "plc": 2, "ag": 1, "se": 1, "nv": 1, "enterprises": 1, "conglomerate": 2, "national": 1,
    "llc": -1, "studio": -1, "boutique": -1, "bakery": -1, "cafe": -1, "partners": -1, "associates": -1,
    "sons": -1, "co op": -1, "cooperative": -1, "family": -1, "startup": -1, "shop": -1, "workshop": -1,
}

# Domains of products and companies that have shut down: the site cannot be read any more.
DEFUNCT_DOMAINS: frozenset[str] = frozenset(
    {"geocities.com", "friendster.com", "vine.co", "theranos.com", "quibi.com", "jawbone.com",
     "google-plus.com", "myspace-music.com", "pets.com", "webvan.com"}
)

# Names and TLDs reserved by RFC 2606 / RFC 6761: nothing real is ever published there.
RESERVED_TLDS: frozenset[str] = frozenset({"invalid", "test", "example", "localhost", "local"})
RESERVED_DOMAINS: frozenset[str] = frozenset({"example.com", "example.net", "example.org"})

LEGAL_SUFFIXES: frozenset[str] = frozenset(
    {"inc", "incorporated", "llc", "ltd", "limited", "corp", "corporation", "co", "company", "plc", "gmbh", "ag",
     "sa", "sas", "se", "nv", "bv", "ab", "as", "oy", "spa", "srl", "pty", "kk", "the", "group", "holdings"}
)


class KnownCompany(NamedTuple):
    name: str
    domain: str
    industry: str
    employees: int
    revenue_usd: int
    country: str
    aliases: tuple[str, ...] = ()


_B = 1_000_000_000

KNOWN_COMPANIES: tuple[KnownCompany, ...] = (
    KnownCompany("Apple", "apple.com", "Technology", 161_000, 383 * _B, "US", ("apple inc", "apple computer")),
    KnownCompany("Microsoft", "microsoft.com", "Software", 221_000, 212 * _B, "US"),
    KnownCompany("Alphabet", "abc.xyz", "Software", 182_000, 307 * _B, "US", ("google",)),
    KnownCompany("Amazon", "amazon.com", "Retail", 1_525_000, 575 * _B, "US", ("amazon com",)),
    KnownCompany("Meta Platforms", "meta.com", "Software", 67_000, 135 * _B, "US", ("meta", "facebook")),
    KnownCompany("Netflix", "netflix.com", "Media & Entertainment", 13_000, 34 * _B, "US"),
    KnownCompany("Tesla", "tesla.com", "Automotive", 140_000, 97 * _B, "US", ("tesla motors",)),
    KnownCompany("NVIDIA", "nvidia.com", "Technology", 29_600, 61 * _B, "US"),
    KnownCompany("Intel", "intel.com", "Technology", 124_800, 54 * _B, "US"),
    KnownCompany("IBM", "ibm.com", "Technology", 282_000, 62 * _B, "US", ("international business machines",)),
    KnownCompany("Oracle", "oracle.com", "Software", 164_000, 50 * _B, "US"),
    KnownCompany("Salesforce", "salesforce.com", "Software", 72_700, 35 * _B, "US"),
    KnownCompany("Adobe", "adobe.com", "Software", 29_900, 19 * _B, "US", ("adobe systems",)),
    KnownCompany("SAP", "sap.com", "Software", 107_000, 34 * _B, "DE"),
    KnownCompany("Shopify", "shopify.com", "Software", 8_300, 7 * _B, "CA"),
    KnownCompany("Atlassian", "atlassian.com", "Software", 10_700, 4 * _B, "AU"),
    KnownCompany("Zoom Video Communications", "zoom.us", "Software", 7_400, 4 * _B, "US", ("zoom",)),
    KnownCompany("Spotify", "spotify.com", "Media & Entertainment", 9_100, 14 * _B, "SE"),
    KnownCompany("Uber", "uber.com", "Transportation & Logistics", 30_400, 37 * _B, "US", ("uber technologies",)),
    KnownCompany("Airbnb", "airbnb.com", "Hospitality & Travel", 6_900, 10 * _B, "US"),
    KnownCompany("Walmart", "walmart.com", "Retail", 2_100_000, 648 * _B, "US"),
    KnownCompany("Target", "target.com", "Retail", 415_000, 107 * _B, "US"),
    KnownCompany("Costco", "costco.com", "Retail", 316_000, 242 * _B, "US", ("costco wholesale",)),
    KnownCompany("IKEA", "ikea.com", "Retail", 219_000, 51 * _B, "SE"),
    KnownCompany("Inditex", "inditex.com", "Retail", 161_000, 39 * _B, "ES", ("zara",)),
    KnownCompany("Nike", "nike.com", "Consumer Goods", 83_700, 51 * _B, "US"),
    KnownCompany("Procter & Gamble", "pg.com", "Consumer Goods", 107_000, 82 * _B, "US", ("p&g", "procter and gamble")),
    KnownCompany("Unilever", "unilever.com", "Consumer Goods", 128_000, 65 * _B, "GB"),
    KnownCompany("The Coca-Cola Company", "coca-colacompany.com", "Food & Beverage", 79_100, 46 * _B, "US",
                 ("coca cola", "coca-cola", "coke")),
    KnownCompany("PepsiCo", "pepsico.com", "Food & Beverage", 318_000, 92 * _B, "US", ("pepsi",)),
    KnownCompany("Nestlé", "nestle.com", "Food & Beverage", 270_000, 103 * _B, "CH", ("nestle",)),
    KnownCompany("McDonald's", "mcdonalds.com", "Hospitality & Travel", 150_000, 26 * _B, "US", ("mcdonalds",)),
    KnownCompany("Starbucks", "starbucks.com", "Hospitality & Travel", 381_000, 36 * _B, "US"),
    KnownCompany("Marriott International", "marriott.com", "Hospitality & Travel", 411_000, 24 * _B, "US",
                 ("marriott",)),
    KnownCompany("Johnson & Johnson", "jnj.com", "Pharmaceuticals & Biotech", 131_900, 85 * _B, "US",
                 ("j&j", "johnson and johnson")),
    KnownCompany("Pfizer", "pfizer.com", "Pharmaceuticals & Biotech", 88_000, 58 * _B, "US"),
    KnownCompany("Novartis", "novartis.com", "Pharmaceuticals & Biotech", 76_000, 45 * _B, "CH"),
    KnownCompany("Roche", "roche.com", "Pharmaceuticals & Biotech", 103_600, 66 * _B, "CH", ("hoffmann la roche",)),
    KnownCompany("UnitedHealth Group", "unitedhealthgroup.com", "Healthcare", 440_000, 372 * _B, "US",
                 ("unitedhealth",)),
    KnownCompany("Mayo Clinic", "mayoclinic.org", "Healthcare", 76_000, 18 * _B, "US"),
    KnownCompany("JPMorgan Chase", "jpmorganchase.com", "Financial Services", 309_900, 158 * _B, "US",
                 ("jpmorgan", "jp morgan", "chase")),
    KnownCompany("Goldman Sachs", "goldmansachs.com", "Financial Services", 45_300, 46 * _B, "US"),
    KnownCompany("Visa", "visa.com", "Financial Services", 28_800, 33 * _B, "US"),
    KnownCompany("Mastercard", "mastercard.com", "Financial Services", 33_400, 25 * _B, "US"),
    KnownCompany("HSBC", "hsbc.com", "Financial Services", 221_000, 66 * _B, "GB", ("hsbc holdings",)),
    KnownCompany("Toyota Motor", "toyota.com", "Automotive", 375_000, 275 * _B, "JP", ("toyota",)),
    KnownCompany("Volkswagen Group", "volkswagen-group.com", "Automotive", 684_000, 348 * _B, "DE",
                 ("volkswagen", "vw")),
    KnownCompany("BMW Group", "bmwgroup.com", "Automotive", 155_000, 168 * _B, "DE", ("bmw",)),
    KnownCompany("Siemens", "siemens.com", "Manufacturing", 320_000, 84 * _B, "DE"),
    KnownCompany("Caterpillar", "caterpillar.com", "Manufacturing", 113_000, 67 * _B, "US"),
    KnownCompany("3M", "3m.com", "Manufacturing", 85_000, 33 * _B, "US", ("3m company",)),
    KnownCompany("Boeing", "boeing.com", "Aerospace & Defense", 171_000, 78 * _B, "US"),
    KnownCompany("Airbus", "airbus.com", "Aerospace & Defense", 147_000, 71 * _B, "FR"),
    KnownCompany("Lockheed Martin", "lockheedmartin.com", "Aerospace & Defense", 122_000, 68 * _B, "US"),
    KnownCompany("ExxonMobil", "exxonmobil.com", "Energy & Utilities", 61_500, 345 * _B, "US",
                 ("exxon mobil", "exxon")),
    KnownCompany("Shell", "shell.com", "Energy & Utilities", 103_000, 317 * _B, "GB"),
    KnownCompany("BP", "bp.com", "Energy & Utilities", 79_400, 213 * _B, "GB", ("british petroleum",)),
    KnownCompany("Samsung Electronics", "samsung.com", "Technology", 267_800, 200 * _B, "KR", ("samsung",)),
    KnownCompany("Sony Group", "sony.com", "Technology", 113_000, 88 * _B, "JP", ("sony",)),
    KnownCompany("Verizon", "verizon.com", "Telecommunications", 105_400, 134 * _B, "US",
                 ("verizon communications",)),
    KnownCompany("AT&T", "att.com", "Telecommunications", 149_900, 122 * _B, "US", ("at t", "att")),
    KnownCompany("The Walt Disney Company", "thewaltdisneycompany.com", "Media & Entertainment", 225_000,
                 89 * _B, "US", ("disney", "walt disney")),
    KnownCompany("FedEx", "fedex.com", "Transportation & Logistics", 529_000, 90 * _B, "US"),
    KnownCompany("UPS", "ups.com", "Transportation & Logistics", 500_000, 91 * _B, "US", ("united parcel service",)),
    KnownCompany("Maersk", "maersk.com", "Transportation & Logistics", 100_000, 51 * _B, "DK",
                 ("a p moller maersk",)),
    KnownCompany("Accenture", "accenture.com", "Professional Services", 733_000, 64 * _B, "IE"),
    KnownCompany("Deloitte", "deloitte.com", "Professional Services", 457_000, 65 * _B, "GB"),
    KnownCompany("McKinsey & Company", "mckinsey.com", "Professional Services", 45_000, 16 * _B, "US",
                 ("mckinsey",)),
    KnownCompany("Harvard University", "harvard.edu", "Education", 20_000, 6 * _B, "US", ("harvard",)),
)
