"""Outputs never overwrite inputs, nor each other's state: ``check_output_locations`` and ``OutputRules``."""

from __future__ import annotations

import pytest

from airflow_provider_batchorch.core.errors import InvalidConfError, UnsafeOutputUriError
from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.core.output_location import OutputRules, check_output_locations

CSV = "s3://data/in/companies.csv"
PREFIX = "s3://work/batchorch/runs/batch-1/"
RULES = OutputRules.from_env({})


def check(rules: OutputRules = RULES, prefix: str | None = PREFIX, **conf) -> None:
    request = BatchRequest(csv_uri=conf.pop("csv_uri", CSV), agent="company-enrichment-agent", **conf)
    check_output_locations(request, rules, batch_prefix_uri=prefix)


def refusal(**conf) -> str:
    with pytest.raises(UnsafeOutputUriError) as caught:
        check(**conf)
    error = caught.value
    assert error.code == "UNSAFE_OUTPUT_URI" and isinstance(error, InvalidConfError)
    assert "\n" not in str(error) and error.hint
    return str(error)


@pytest.mark.parametrize("output_uri", [
    CSV, "s3://data//in/companies.csv", "s3://data/in/./companies.csv", "s3://DATA/in/companies.csv",
    " s3://data/in/companies.csv ",
])
def test_the_input_csv_is_never_the_output(output_uri):
    text = refusal(output_uri=output_uri)
    assert "is the input CSV" in text and "s3://data/in/companies_enriched.csv" in text


@pytest.mark.parametrize("output_uri", ["s3://data/in", "s3://data/in/", "s3://data/", "s3://data"])
def test_a_folder_holding_the_input_is_refused(output_uri):
    assert "UNSAFE_OUTPUT_URI" in refusal(output_uri=output_uri)


@pytest.mark.parametrize("output_uri", ["out.csv", "/tmp/out.csv", "file:///tmp/out.csv", "https://x/out.csv"])
def test_a_non_s3_output_is_refused_up_front(output_uri):
    assert "is not an S3 URI" in refusal(output_uri=output_uri)


def test_output_goes_only_to_the_batch_or_input_bucket_by_default():
    check(output_uri="s3://data/out/companies.csv")
    check(output_uri="s3://work/exports/companies.csv")
    text = refusal(output_uri="s3://someone-else/companies.csv")
    assert "bucket someone-else" in text and "BATCHORCH_ALLOWED_OUTPUT_BUCKETS" in text


def test_the_operator_lists_the_output_buckets():
    rules = OutputRules.from_env({"BATCHORCH_ALLOWED_OUTPUT_BUCKETS": "exports, archive"})
    check(rules, output_uri="s3://exports/companies.csv")
    with pytest.raises(UnsafeOutputUriError, match="bucket data"):
        check(rules, output_uri="s3://data/out/companies.csv")  # the list is the whole list
    check(OutputRules.from_env({"BATCHORCH_ALLOWED_OUTPUT_BUCKETS": "*"}), output_uri="s3://anywhere/x.csv")


def test_chat_buckets_are_allowed_when_no_output_list_is_set():
    rules = OutputRules.from_env({"BATCHORCH_CHAT_ALLOWED_BUCKETS": "crm,*", "BATCHORCH_CHAT_DEFAULT_BUCKET": "uploads"})
    check(rules, output_uri="s3://crm/out.csv")
    check(rules, output_uri="s3://uploads/out.csv")
    with pytest.raises(UnsafeOutputUriError):
        check(rules, output_uri="s3://elsewhere/out.csv")  # a chat "*" does not open every bucket to the DAG


@pytest.mark.parametrize("output_uri", [
    "s3://work/batchorch/runs/other-run/config.json",
    "s3://work/batchorch/runs/other-run/output/companies_enriched.csv",
    "s3://data/batchorch/runs/batch-1/output/x.csv",  # this batch's id, but not its prefix (another bucket)
    "s3://work/batchorch/runs/batch-1/manifest.json",  # its own prefix, outside output/
])
def test_another_runs_files_are_never_the_output(output_uri):
    assert "inside batchorch/runs/" in refusal(output_uri=output_uri)


def test_its_own_output_folder_is_fine():
    check(output_uri="s3://work/batchorch/runs/batch-1/output/custom.csv")


def test_chat_has_no_batch_prefix_so_the_whole_runs_area_is_refused():
    with pytest.raises(UnsafeOutputUriError, match="batchorch/runs/"):
        check(prefix=None, output_uri="s3://data/batchorch/runs/batch-1/output/custom.csv")


def test_output_folder_and_dot_dot_are_refused():
    assert "names a folder" in refusal(output_uri="s3://data/out/")
    assert "'..'" in refusal(output_uri="s3://data/out/../in/companies.csv")


def test_output_inside_a_result_store_is_refused():
    assert "batchorch/state/" in refusal(output_uri="s3://data/batchorch/state/company/x.csv")
    text = refusal(output_uri="s3://data/mystate/out.csv", incremental=True, state_uri="s3://data/mystate/")
    assert "holds the output CSV" in text


@pytest.mark.parametrize("output_uri, area", [
    ("s3://work/batchorch/conversations/T1/C1/1700000000.000001.json", "batchorch/conversations/"),  # a Slack chat
    ("s3://data/batchorch/conversations/mcp/http/ada.json", "batchorch/conversations/"),  # an MCP user's batches
    ("s3://work/streams/default/STOP", "streams/"),  # would stop the stream
    ("s3://work/streams/default/parts/part-000001.csv", "streams/"),  # would replace a stream's output part
    ("s3://work/streams/default/stream.json", "streams/"),
])
def test_chat_conversations_and_stream_files_are_never_the_output(output_uri, area):
    text = refusal(output_uri=output_uri)
    assert f"inside {area}" in text


def test_the_protected_areas_are_the_ones_their_owners_write():
    from airflow_provider_batchorch.core.output_location import PROTECTED_KEY_PREFIXES
    from airflow_provider_batchorch.core.stream.config import StreamPlaces
    from airflow_provider_batchorch.orchestrator.conversations import ConversationKey

    key = ConversationKey(team_id="T1", channel_id="C1", thread_ts="1.2").object_key()
    place = StreamPlaces().output_uri.removeprefix("s3://").partition("/")[2]
    assert any(key.startswith(prefix) for prefix in PROTECTED_KEY_PREFIXES)
    assert any(place.startswith(prefix) for prefix in PROTECTED_KEY_PREFIXES)


@pytest.mark.parametrize("state_uri, says", [
    ("s3://data/in/", "holds the input CSV"),
    ("s3://data/batchorch/", "overlaps batchorch/runs/"),
    ("s3://work/batchorch/runs/other-run/state/", "overlaps batchorch/runs/"),
    ("s3://data/batchorch/conversations/", "overlaps batchorch/conversations/"),
    ("s3://data/streams/default/", "overlaps streams/"),
    ("s3://elsewhere/state/", "bucket elsewhere"),
    ("/tmp/state", "is not an S3 URI"),
])
def test_state_uri_is_checked_like_an_output(state_uri, says):
    assert says in refusal(incremental=True, state_uri=state_uri)


def test_the_default_state_holding_the_input_is_refused():
    text = refusal(incremental=True, csv_uri="s3://data/batchorch/state/companies.csv")
    assert "state_uri s3://data/batchorch/state/ holds the input CSV" in text


def test_valid_state_locations():
    check(incremental=True)  # s3://data/batchorch/state/
    check(incremental=True, state_uri="s3://data/")  # the result store puts a bare bucket's state there too
    check(incremental=True, state_uri="s3://data/enrichment-state/", output_uri="s3://data/out/companies.csv")
    check(state_uri="/anything")  # not incremental: no state is written
    local = OutputRules.from_env({"BATCHORCH_ALLOW_LOCAL_STATE": "1"})
    check(local, incremental=True, state_uri="/home/me/.batchorch/state")
    with pytest.raises(UnsafeOutputUriError):
        check(local, incremental=True, state_uri="relative/state")


def test_no_output_uri_means_the_default_next_to_the_batch():
    check()
    check(output_uri="")
