"""New CSVs from S3 event notifications, however they reach the SQS queue."""

import json

from airflow_provider_batchorch.core.s3_events import (
    created_object_uris,
    csv_uris_from_asset_event_extras,
    csv_uris_from_sqs_messages,
)


def s3_notification(*keys, bucket="data", event="ObjectCreated:Put"):
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": event,
                         "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 10}}} for key in keys]}


def test_s3_notification_keys_are_url_decoded():
    body = json.dumps(s3_notification("incoming/Q3+report%C3%A9.csv", "incoming/b.csv"))
    assert created_object_uris(body) == ["s3://data/incoming/Q3 reporté.csv", "s3://data/incoming/b.csv"]


def test_sns_wrapped_and_eventbridge_events():
    sns = {"Type": "Notification", "Message": json.dumps(s3_notification("x/a.csv"))}
    eventbridge = {"detail-type": "Object Created", "detail": {"bucket": {"name": "data"}, "object": {"key": "y/b.csv"}}}
    assert created_object_uris(json.dumps(sns)) == ["s3://data/x/a.csv"]
    assert created_object_uris(eventbridge) == ["s3://data/y/b.csv"]


def test_test_events_deletions_and_garbage_are_ignored():
    assert created_object_uris(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []
    assert created_object_uris(json.dumps(s3_notification("a.csv", event="ObjectRemoved:Delete"))) == []
    assert created_object_uris("not json") == [] and created_object_uris("[1]") == []


def test_only_csvs_from_the_watchers_messages_oldest_first():
    first = {"Body": json.dumps(s3_notification("in/one.CSV", "in/readme.txt"))}
    second = {"Body": json.dumps(s3_notification("in/two.csv"))}
    assert csv_uris_from_sqs_messages([first, second]) == ["s3://data/in/one.CSV", "s3://data/in/two.csv"]
    extras = [{"from_trigger": True, "payload": {"status": "success", "message_batch": [first]}}, None,
              {"payload": {"message_batch": [second]}}, {"source": "api"}]
    assert csv_uris_from_asset_event_extras(extras) == ["s3://data/in/one.CSV", "s3://data/in/two.csv"]


def test_our_triggers_payload_names_the_csvs_directly():
    extras = [{"from_trigger": True, "payload": {"status": "success", "csv_uris": ["s3://b/in/a.csv"]}}]
    assert csv_uris_from_asset_event_extras(extras) == ["s3://b/in/a.csv"]
