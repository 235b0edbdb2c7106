"""Column -> input field matching, output field selection and typed row inputs."""

from __future__ import annotations

import pytest

from airflow_provider_batchorch.core.agent_spec import AgentSpec, InputField, PythonInvocation
from airflow_provider_batchorch.builtin_agents import company_enrichment, customer_scorer
from airflow_provider_batchorch.core.errors import (
    AgentRowError,
    InvalidConfError,
    MissingRequiredFieldError,
    UnknownOutputFieldError,
)
from airflow_provider_batchorch.core.mapping import (
    build_agent_inputs,
    convert_value,
    map_inputs,
    normalize_name,
    select_output_fields,
)

COMPANY = company_enrichment.SPEC
CUSTOMER = customer_scorer.SPEC


def make_agent(*fields: InputField) -> AgentSpec:
    return AgentSpec(
        name="typed-agent",
        input_fields=list(fields),
        output_schema={"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}},
        invocation=PythonInvocation(callable="x:y"),
    )


@pytest.mark.parametrize("name", ["company_name", "Company Name", "companyName", "COMPANY-NAME", "CompanyName",
                                  " company.name ", "\ufeffcompany_name"])
def test_normalize_name(name):
    assert normalize_name(name) == "companyname"


def test_normalize_name_folds_accents():
    assert normalize_name("Société") == "societe"


# --- map_inputs -------------------------------------------------------------------------------------------


def test_exact_names():
    assert map_inputs(COMPANY, ["company_name", "website", "location"]) == {
        "company_name": "company_name", "website": "website", "location": "location"}


def test_case_and_punctuation_insensitive():
    assert map_inputs(COMPANY, ["Website", "companyName", "LOCATION"]) == {
        "company_name": "companyName", "website": "Website", "location": "LOCATION"}


def test_synonyms_normalised_the_same_way():
    assert map_inputs(COMPANY, ["Organization", "Home Page", "HQ"]) == {
        "company_name": "Organization", "website": "Home Page", "location": "HQ"}


def test_optional_fields_without_a_column_are_omitted():
    assert map_inputs(COMPANY, ["Account Name", "notes"]) == {"company_name": "Account Name"}


def test_exact_match_is_not_stolen_by_a_synonym_of_another_field():
    # "name" is a synonym of company_name, but the CSV also has company_name exactly.
    agent = make_agent(InputField(name="company_name", synonyms=["name"]), InputField(name="name", required=False))
    assert map_inputs(agent, ["name", "company_name"]) == {"company_name": "company_name", "name": "name"}


def test_each_column_used_at_most_once():
    agent = make_agent(InputField(name="first", synonyms=["text"]),
                       InputField(name="second", required=False, synonyms=["text"]))
    assert map_inputs(agent, ["text"]) == {"first": "text"}


def test_required_fields_match_before_optional_ones():
    agent = make_agent(InputField(name="note", required=False, synonyms=["body"]),
                       InputField(name="message", synonyms=["body"]))
    assert map_inputs(agent, ["body"]) == {"message": "body"}


def test_explicit_mapping_wins():
    mapping = map_inputs(COMPANY, ["company_name", "legal name", "url"], {"company_name": "legal name"})
    assert mapping == {"company_name": "legal name", "website": "url"}


def test_explicit_mapping_accepts_a_normalised_column_name():
    assert map_inputs(COMPANY, ["Legal Name"], {"company_name": "legal_name"}) == {"company_name": "Legal Name"}


def test_explicit_none_keeps_an_optional_field_unmapped():
    assert map_inputs(COMPANY, ["company_name", "website"], {"website": None}) == {"company_name": "company_name"}


def test_explicit_none_on_a_required_field_is_missing():
    with pytest.raises(MissingRequiredFieldError):
        map_inputs(COMPANY, ["company_name"], {"company_name": ""})


def test_explicit_unknown_field_names_the_closest():
    with pytest.raises(InvalidConfError) as caught:
        map_inputs(COMPANY, ["a"], {"company": "a"})
    assert "'company'" in caught.value.message and "did you mean 'company_name'" in caught.value.message
    assert caught.value.details["nearest_fields"] == ["company_name"]


def test_explicit_unknown_column_names_the_nearest():
    with pytest.raises(InvalidConfError) as caught:
        map_inputs(COMPANY, ["Company Nme", "web"], {"company_name": "Company Name2"})
    assert "not in the CSV" in caught.value.message
    assert caught.value.details["nearest_columns"] == ["Company Nme"]


def test_explicit_two_fields_on_one_column():
    with pytest.raises(InvalidConfError, match="both 'company_name' and 'location'"):
        map_inputs(COMPANY, ["x"], {"company_name": "x", "location": "x"})


def test_missing_required_field_names_field_nearest_columns_and_hint():
    with pytest.raises(MissingRequiredFieldError) as caught:
        map_inputs(COMPANY, ["compny", "web", "notes"])
    error = caught.value
    assert error.code == "MISSING_REQUIRED_FIELD"
    assert "'company_name'" in error.message and "'compny'" in error.message
    assert error.hint == 'Pass input_mapping: {"company_name": "compny"} to choose the column.'
    assert error.details["missing_fields"] == ["company_name"]
    assert error.details["nearest_columns"]["company_name"][0] == "compny"


def test_missing_several_required_fields_in_one_error():
    with pytest.raises(MissingRequiredFieldError) as caught:
        map_inputs(CUSTOMER, ["customer_id", "email"])
    assert caught.value.details["missing_fields"] == ["total_spend", "orders", "last_purchase_days"]
    assert "no similar CSV column" in caught.value.message


# --- select_output_fields ---------------------------------------------------------------------------------


def test_output_fields_default_to_all_in_schema_order():
    assert select_output_fields(COMPANY, []) == COMPANY.output_fields
    assert select_output_fields(COMPANY, None) == COMPANY.output_fields
    assert COMPANY.output_fields[:2] == ["company_domain", "industry"]


def test_output_fields_subset_keeps_requested_order_and_dedupes():
    assert select_output_fields(COMPANY, ["revenue_estimate", "Industry", "industry"]) == ["revenue_estimate",
                                                                                          "industry"]


def test_unknown_output_field_names_closest_and_available():
    with pytest.raises(UnknownOutputFieldError) as caught:
        select_output_fields(COMPANY, ["industry", "revenue"])
    error = caught.value
    assert "did you mean 'revenue_estimate'" in error.message
    assert "employee_count" in error.hint
    assert error.details["unknown_fields"] == ["revenue"]
    assert error.details["available_fields"] == COMPANY.output_fields


# --- build_agent_inputs -----------------------------------------------------------------------------------


def test_build_inputs_types_and_empty_optional():
    mapping = map_inputs(CUSTOMER, ["ltv", "num_orders", "recency", "tickets", "tenure"])
    inputs = build_agent_inputs({"ltv": " $1,200.50 ", "num_orders": "12", "recency": "30.0", "tickets": "",
                                 "tenure": "  "}, mapping, CUSTOMER)
    assert inputs == {"total_spend": 1200.5, "orders": 12, "last_purchase_days": 30, "support_tickets": None,
                      "tenure_months": None}
    assert isinstance(inputs["orders"], int)


def test_build_inputs_only_mapped_fields_and_strings_stripped():
    inputs = build_agent_inputs({"name": "  Acme  ", "other": "x"}, {"company_name": "name"}, COMPANY)
    assert inputs == {"company_name": "Acme"}


@pytest.mark.parametrize("value", ["", "   ", None])
def test_build_inputs_empty_required_value_fails_the_row(value):
    with pytest.raises(AgentRowError) as caught:
        build_agent_inputs({"name": value}, {"company_name": "name"}, COMPANY)
    assert caught.value.reason == "Missing required input: company_name"


def test_build_inputs_missing_column_in_row_is_empty():
    with pytest.raises(AgentRowError, match="Missing required input: company_name"):
        build_agent_inputs({}, {"company_name": "name"}, COMPANY)


@pytest.mark.parametrize(
    ("field_type", "value", "expected"),
    [("integer", "42", 42), ("integer", "-3", -3), ("integer", "1,000", 1000), ("integer", "7.0", 7),
     ("number", "3.5", 3.5), ("number", "€12", 12.0), ("number", "1e3", 1000.0), ("boolean", "Yes", True),
     ("boolean", "false", False), ("boolean", "1", True), ("boolean", "N", False), ("string", "0042", "0042")],
)
def test_convert_value(field_type, value, expected):
    assert convert_value(InputField(name="x", type=field_type), value) == expected


@pytest.mark.parametrize(("field_type", "value"), [("integer", "abc"), ("integer", "1.5"), ("number", "nan"),
                                                   ("number", "12 apples"), ("boolean", "maybe"),
                                                   ("number", "inf")])
def test_convert_value_rejects(field_type, value):
    with pytest.raises(AgentRowError) as caught:
        convert_value(InputField(name="x", type=field_type), value)
    assert caught.value.reason == f"Invalid input: field 'x' expects {field_type}"
    assert caught.value.detail == f"got {value!r}"
    assert str(caught.value) == f"Invalid input: field 'x' expects {field_type}: got {value!r}"


def test_convert_value_passes_typed_values_through():
    assert convert_value(InputField(name="x", type="integer"), 5) == 5


def test_invalid_value_in_a_row_fails_that_row():
    agent = make_agent(InputField(name="count", type="integer"))
    with pytest.raises(AgentRowError, match="Invalid input: field 'count' expects integer: got 'abc'"):
        build_agent_inputs({"count": "abc"}, {"count": "count"}, agent)
