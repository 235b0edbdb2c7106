from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.chat.recommendation import match_columns, recommend_agents, words


def agent(name, inputs, outputs, description="", capabilities=(), structured=True):
    properties = {field: {"type": "string"} for field in outputs}
    return AgentSpec.model_validate(
        dict(
            name=name,
            description=description,
            capabilities=list(capabilities),
            input_fields=inputs,
            output_schema={"type": "object", "properties": properties} if structured else None,
            invocation={"kind": "python", "callable": "json:dumps"},
        )
    )


REGISTRY = [
    agent(
        "company-enrichment-agent",
        [
            {"name": "company_name", "synonyms": ["company", "organization", "name"]},
            {"name": "website", "required": False, "synonyms": ["domain", "url"]},
        ],
        ["industry", "employee_count", "revenue", "confidence_score"],
        "Enriches company data with industry, employee count and revenue",
        ["enrichment", "firmographics"],
    ),
    agent(
        "ticket-classifier-agent",
        [{"name": "ticket_text", "synonyms": ["description", "body", "message"]}, {"name": "subject", "required": False}],
        ["category", "priority", "sentiment"],
        "Classifies support tickets by category and priority",
        ["classification", "support"],
    ),
    agent(
        "address-validator-agent",
        [{"name": "address", "synonyms": ["street_address"]}, {"name": "country", "required": False}],
        ["is_valid", "normalized_address", "latitude", "longitude"],
        "Validates and geocodes postal addresses",
        ["validation", "geocoding"],
    ),
    agent("chatty-agent", [{"name": "text"}], [], "Talks about companies and industry", structured=False),
]


def test_words_are_normalised():
    assert words("Company_Name") == ["company", "name"]
    assert words("employeeCount") == ["employee", "count"]
    assert words("Industries, URLs & Addresses") == ["industry", "website", "address"]


def test_columns_match_by_name_synonym_and_equivalent_words():
    company = REGISTRY[0]
    assert match_columns(company, ["Company Name", "URL"]) == {"company_name": "Company Name", "website": "URL"}
    assert match_columns(company, ["organisation", "Web Site"]) == {"company_name": "organisation", "website": "Web Site"}
    assert match_columns(company, ["Notes", "Phone"]) == {}
    assert match_columns(company, ["COMPANY", "homepage"]) == {"company_name": "COMPANY", "website": "homepage"}


def test_best_agent_for_a_company_csv_and_goal():
    ranked = recommend_agents(REGISTRY, ["Company", "URL", "Country"], "add industry and employee count")
    top = ranked[0]
    assert top.agent == "company-enrichment-agent"
    assert top.coverage == 1.0 and top.missing_required == []
    assert top.matched_columns == {"company_name": "Company", "website": "URL"}
    assert any("industry" in reason for reason in top.reasons)
    assert top.score > ranked[1].score


def test_goal_decides_between_agents_that_fit_the_columns():
    columns = ["description", "address", "company"]
    assert recommend_agents(REGISTRY, columns, "classify the tickets by priority")[0].agent == "ticket-classifier-agent"
    assert recommend_agents(REGISTRY, columns, "geocode and validate the addresses")[0].agent == "address-validator-agent"
    assert recommend_agents(REGISTRY, columns, "what industry are these firms in")[0].agent == "company-enrichment-agent"


def test_missing_required_inputs_are_reported_and_ranked_lower():
    ranked = recommend_agents(REGISTRY, ["ticket body"], "enrich companies with revenue")
    by_name = {r.agent: r for r in ranked}
    assert by_name["company-enrichment-agent"].missing_required == ["company_name"]
    assert by_name["company-enrichment-agent"].coverage == 0.0
    assert by_name["ticket-classifier-agent"].coverage == 1.0


def test_incompatible_agents_are_not_recommended():
    assert "chatty-agent" not in [r.agent for r in recommend_agents(REGISTRY, ["text"], "talk about industry")]


def test_deterministic_and_no_goal_means_coverage_only():
    first = recommend_agents(REGISTRY, ["address", "subject", "message"])
    second = recommend_agents(list(reversed(REGISTRY)), ["address", "subject", "message"])
    assert first == second
    assert [r.agent for r in first] == ["address-validator-agent", "ticket-classifier-agent", "company-enrichment-agent"]
    assert [r.score for r in first] == [1.0, 1.0, 0.0]
    assert len(recommend_agents(REGISTRY, ["address"], limit=1)) == 1
