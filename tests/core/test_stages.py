"""Multi-agent pipeline planning: stage requests, column renames, mapping translation (no AWS, no Airflow)."""

import io

import pytest
from pydantic import ValidationError

from airflow_provider_batchorch.core.models import METADATA_COLUMNS
from airflow_provider_batchorch.core.stages import PipelineRequest, plan_stages, rename_header

ADDRESS_FIELDS = ["is_valid", "normalized_address", "country_code", "confidence_score"]
COMPANY_FIELDS = ["industry", "country_code", "confidence_score"]


def _pipeline(**overrides):
    conf = {
        "csv_uri": "s3://b/companies.csv",
        "stages": [
            {"agent": "address-validator-agent", "output_fields": ADDRESS_FIELDS},
            {"agent": "company-enrichment-agent", "input_mapping": {"location": "normalized_address"}},
        ],
        "output_uri": "s3://b/out.csv",
        "concurrency": 7,
        "incremental": True,
    }
    return PipelineRequest.model_validate({**conf, **overrides})


def test_earlier_metadata_and_colliding_fields_are_prefixed_the_final_stage_stays_plain():
    first, second = plan_stages(_pipeline(), [ADDRESS_FIELDS, COMPANY_FIELDS], ["s3://b/stage2.csv"])
    assert first.name == "address_validator" and second.name == "company_enrichment"
    assert first.renames_after == {
        "country_code": "address_validator_country_code",
        "confidence_score": "address_validator_confidence_score",
        **{column: f"address_validator{column}" for column in METADATA_COLUMNS},
    }
    assert first.renames_after["_status"] == "address_validator_status"
    assert second.renames_after == {}


def test_stage_requests_chain_inputs_and_only_the_last_writes_the_final_output():
    first, second = plan_stages(_pipeline(), [ADDRESS_FIELDS, COMPANY_FIELDS], ["s3://b/stage2.csv"])
    assert (first.request.csv_uri, second.request.csv_uri) == ("s3://b/companies.csv", "s3://b/stage2.csv")
    assert (first.request.output_uri, second.request.output_uri) == (None, "s3://b/out.csv")
    assert (first.request.neutralize_formulas, second.request.neutralize_formulas) == (False, True)
    assert second.request.input_mapping == {"location": "normalized_address"}
    assert first.request.concurrency == second.request.concurrency == 7
    assert first.request.incremental and second.request.incremental


def test_a_mapping_to_a_renamed_field_follows_it_unless_a_later_stage_wrote_it_again():
    stages = [{"agent": "a-agent"}, {"agent": "b-agent"},
              {"agent": "c-agent", "input_mapping": {"x": "score", "y": "only_a"}}]
    plans = plan_stages(_pipeline(stages=stages), [["score", "only_a"], ["score"], ["z"]], ["u2", "u3"])
    assert plans[0].renames_after["score"] == "a_score"
    assert "only_a" not in plans[0].renames_after
    assert plans[2].request.input_mapping == {"x": "score", "y": "only_a"}  # b's plain score

    stages[2]["input_mapping"] = {"x": "score"}
    plans = plan_stages(_pipeline(stages=stages), [["score"], ["other"], ["score"]], ["u2", "u3"])
    assert plans[2].request.input_mapping == {"x": "a_score"}  # a's, renamed because c writes score too


def test_stage_names_must_be_unique_and_usable_as_column_prefixes():
    with pytest.raises(ValidationError, match="unique"):
        _pipeline(stages=[{"agent": "x-agent"}, {"agent": "x-agent"}])
    assert _pipeline(stages=[{"agent": "x-agent"}, {"agent": "x-agent", "name": "x2"}])
    with pytest.raises(ValidationError, match="stage name"):
        _pipeline(stages=[{"agent": "x-agent", "name": "has space"}])
    with pytest.raises(ValidationError, match="colour"):
        _pipeline(colour="blue")
    with pytest.raises(ValidationError):
        _pipeline(stages=[])


def test_rename_header_copies_rows_untouched():
    source = 'a,_status\n"1,\n2",SUCCEEDED\n3,FAILED\n'
    target = io.StringIO()
    assert rename_header(io.StringIO(source), target, {"_status": "s1_status"}) == 2
    assert target.getvalue() == 'a,s1_status\n"1,\n2",SUCCEEDED\n3,FAILED\n'
