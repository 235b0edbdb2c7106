import json

from airflow_provider_batchorch.aws.processor import (
    ProcessorNames,
    ensure_processor,
    execution_arn_for,
    execution_name,
)
from airflow_provider_batchorch.aws.progress import read_counts, record_chunk_done, record_partial
from airflow_provider_batchorch.aws.state_machine import load_definition


def test_execution_name_is_stable_valid_and_distinct():
    name = execution_name("batch_orchestrator", "manual__2026-11-24T07:10:05.123+00:00")
    assert name == execution_name("batch_orchestrator", "manual__2026-11-24T07:10:05.123+00:00")
    assert len(name) <= 80
    assert all(c.isalnum() or c in "-_" for c in name)
    assert name != execution_name("batch_orchestrator", "manual__2026-11-24T07:10:06.123+00:00")
    long = execution_name("d" * 200, "r" * 200)
    assert len(long) <= 80


def test_execution_arn_for():
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:batchorch-processor"
    assert execution_arn_for(arn, "x") == "arn:aws:states:us-east-1:123456789012:execution:batchorch-processor:x"


def test_definition_is_a_distributed_map_over_a_json_manifest():
    state = load_definition()["States"]["ProcessChunks"]
    assert state["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert state["ItemReader"]["ReaderConfig"]["InputType"] == "JSON"
    task = state["ItemProcessor"]["States"]["ProcessChunk"]
    assert task["Resource"] == "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    assert state["ResultPath"] is None  # results live in S3, not in the execution's payload


def test_ensure_processor_is_idempotent(embedded_aws):
    sfn, sqs, ddb = (embedded_aws.client(s) for s in ("stepfunctions", "sqs", "dynamodb"))
    names = ProcessorNames(state_machine="idem-sm", queue="idem-q", dead_letter_queue="idem-dlq", progress_table="idem-t")
    first = ensure_processor(sfn, sqs, ddb, names)
    second = ensure_processor(sfn, sqs, ddb, names)
    assert first == second
    machines = [m for m in sfn.list_state_machines()["stateMachines"] if m["name"] == "idem-sm"]
    assert len(machines) == 1
    attributes = sqs.get_queue_attributes(QueueUrl=first.queue_url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] in ("5", 5)


def test_chunk_counts_are_added_once_and_partials_overwritten(embedded_aws):
    ddb = embedded_aws.client("dynamodb")
    table = embedded_aws.refs.progress_table
    record_partial(ddb, table, "b-progress", 0, 3, 1)
    record_partial(ddb, table, "b-progress", 0, 5, 1)  # overwrites, never adds
    record_partial(ddb, table, "b-progress", 1, 2, 0)
    assert read_counts(ddb, table, "b-progress") == (7, 1, 0)
    assert record_chunk_done(ddb, table, "b-progress", 0, 9, 1) is True
    assert record_chunk_done(ddb, table, "b-progress", 0, 9, 1) is False  # redelivered chunk
    assert read_counts(ddb, table, "b-progress") == (11, 1, 1)


def test_first_progress_write_can_be_a_finished_chunk(embedded_aws):
    ddb = embedded_aws.client("dynamodb")
    table = embedded_aws.refs.progress_table
    assert record_chunk_done(ddb, table, "b-fresh", 3, 10, 0) is True
    assert read_counts(ddb, table, "b-fresh") == (10, 0, 1)
