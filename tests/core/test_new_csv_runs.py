"""One run per landed CSV: oldest first by LastModified then URI, run ids from the object, run_after strictly
increasing (the order the scheduler starts queued runs in)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow_provider_batchorch.core.new_csv_runs import LandedCsv, csv_run_id, landed_csvs_from_asset_events, plan_csv_runs

T0 = datetime(2026, 1, 5, 6, tzinfo=timezone.utc)


def test_oldest_first_then_by_key_each_object_once():
    csvs = [LandedCsv(uri="s3://b/in/z.csv", last_modified=T0), LandedCsv(uri="s3://b/in/new.csv",
                                                                          last_modified=T0 + timedelta(seconds=5)),
            LandedCsv(uri="s3://b/in/a.csv", last_modified=T0), LandedCsv(uri="s3://b/in/a.csv", last_modified=T0)]
    runs = plan_csv_runs(csvs, {"agent": "x", "csv_uri": "s3://b/default.csv"}, now=T0 + timedelta(hours=1))
    assert [run.conf["csv_uri"] for run in runs] == ["s3://b/in/a.csv", "s3://b/in/z.csv", "s3://b/in/new.csv"]
    assert [run.run_after for run in runs] == [T0, T0 + timedelta(microseconds=1), T0 + timedelta(seconds=5)]
    assert all(run.conf["agent"] == "x" for run in runs)


def test_the_run_id_names_the_file_and_changes_with_the_version():
    first = LandedCsv(uri="s3://b/in/Q1 sales (final).csv", last_modified=T0, etag="e1")
    assert csv_run_id(first) == csv_run_id(first.model_copy())
    assert csv_run_id(first).startswith("new_csv__Q1-sales-final-.csv__")
    assert csv_run_id(first) != csv_run_id(first.model_copy(update={"etag": "e2"}))


def test_events_of_the_amazon_sqs_trigger_use_the_event_time():
    body = '{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": "k.csv"}}}]}'
    csvs = landed_csvs_from_asset_events([(T0, {"payload": {"message_batch": [{"Body": body}]}}),
                                          (T0, {"payload": {"csv_uris": ["s3://b/j.csv"]}})])
    assert [(csv.uri, csv.last_modified) for csv in csvs] == [("s3://b/j.csv", T0), ("s3://b/k.csv", T0)]


def test_several_csvs_with_one_fixed_output_uri_each_write_their_own():
    csvs = [LandedCsv(uri="s3://b/in/jan.csv", last_modified=T0), LandedCsv(uri="s3://b/in/feb.csv", last_modified=T0),
            LandedCsv(uri="s3://b/other/jan.csv", last_modified=T0)]
    request = {"agent": "x", "csv_uri": "s3://b/default.csv", "output_uri": "s3://b/out/result.csv"}
    outputs = [run.conf["output_uri"] for run in plan_csv_runs(csvs, request, now=T0)]
    assert outputs[0] == "s3://b/out/result__feb.csv" and len(set(outputs)) == 3
    assert all(uri.startswith("s3://b/out/result__jan__") and uri.endswith(".csv") for uri in outputs[1:])
    alone = plan_csv_runs(csvs[:1], request, now=T0)
    assert alone[0].conf["output_uri"] == "s3://b/out/result.csv"  # one CSV: the output_uri as given
