"""deploy/batchorch.yaml: cfn-lint clean, least-privilege IAM, and in step with the package it deploys."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from airflow_provider_batchorch.aws.job_records import DEFAULT_JOBS_TABLE, RECENT_INDEX
from airflow_provider_batchorch.aws.processor import CHUNK_VISIBILITY_SECONDS, ProcessorNames
from airflow_provider_batchorch.aws.registry_table import TABLE_NAME as REGISTRY_TABLE
from airflow_provider_batchorch.aws.state_machine import definition_text
from airflow_provider_batchorch.cli.command import _parser

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "batchorch.yaml"
IAM_DOCUMENTS = {"AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"}


@lru_cache(maxsize=1)
def template() -> dict:
    return yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))


def resources(kind: str) -> dict[str, dict]:
    return {name: r for name, r in template()["Resources"].items() if r["Type"] == kind}


def branches(node):
    """A value with every Fn::If expanded into both branches (AWS::NoValue dropped)."""
    if isinstance(node, dict) and set(node) == {"Fn::If"}:
        _, yes, no = node["Fn::If"]
        for branch in (yes, no):
            yield from branches(branch)
    elif node != {"Ref": "AWS::NoValue"}:
        yield node


def statements() -> list[tuple[str, dict]]:
    """(resource, statement) for every allow statement of every IAM document in the template."""
    found = []
    for name, resource in template()["Resources"].items():
        if resource["Type"] not in IAM_DOCUMENTS:
            continue
        properties = resource["Properties"]
        documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
        documents += [properties["PolicyDocument"]] if "PolicyDocument" in properties else []
        for document in documents:
            for entry in document["Statement"]:
                found += [(name, statement) for statement in branches(entry)]
    return found


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def text(value) -> str:
    return json.dumps(value)


@lru_cache(maxsize=1)
def actions_without_resource_types() -> set[str]:
    """IAM actions that accept no resource but "*" (AWS's service authorization data, as cfn-lint ships it)."""
    import cfnlint.data.AdditionalSpecs as specs

    policies = json.loads((Path(specs.__file__).parent / "Policies.json").read_text(encoding="utf-8"))
    return {f"{service}:{action}" for service, spec in policies.items()
            for action, details in spec.get("Actions", {}).items() if not details.get("Resources")}


def test_cfn_lint_passes():
    from cfnlint.api import lint_file

    matches = lint_file(TEMPLATE)
    assert matches == [], "\n".join(str(match) for match in matches)


def test_iam_never_grants_every_action_or_every_bucket():
    checked = statements()
    assert len(checked) >= 25
    for resource, statement in checked:
        assert statement["Effect"] == "Allow", resource
        assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), (resource, statement)
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{resource} {statement.get('Sid')}: wildcard action {action}"
        for arn in as_list(statement["Resource"]):
            assert "s3:::*" not in text(arn), f"{resource} {statement.get('Sid')}: S3 on every bucket"
            assert "arn:aws:s3" not in text(arn), "S3 ARNs use ${AWS::Partition} and the DataBucketName parameter"


def test_s3_statements_name_only_the_configured_bucket_and_prefixes():
    allowed = ("${DataBucketName}/batchorch/", "${DataBucketName}/${InputPrefix}*", "${DataBucketName}/${OutputPrefix}*",
               "${DataBucketName}/*\"", "${DataBucketName}\"")
    for resource, statement in statements():
        if not any(action.startswith("s3:") for action in as_list(statement["Action"])):
            continue
        for arn in as_list(statement["Resource"]):
            for variant in branches(arn):
                assert any(part in text(variant) for part in allowed), (resource, statement["Sid"], variant)
        if "s3:ListBucket" in statement["Action"]:
            assert "s3:prefix" in text(statement.get("Condition")), f"{resource}: listing not limited to prefixes"
    whole_bucket = [s["Sid"] for _, s in statements() if "${DataBucketName}/*" in text(s["Resource"])]
    assert set(whole_bucket) == {"ReadInputCsvs"}, "only reading inputs may span the bucket, and only when asked"


def test_a_star_resource_only_where_aws_allows_nothing_else():
    no_resource_types = actions_without_resource_types()
    stars = [(r, s) for r, s in statements() if "*" in as_list(s["Resource"])]
    assert {s["Sid"] for _, s in stars} == {"AnswerTaskTokens", "AuthenticateToEcr", "FindTheProcessorByName"}
    for resource, statement in stars:
        for action in as_list(statement["Action"]):
            assert action.lower() in {a.lower() for a in no_resource_types}, f"{action} supports a narrower resource"


def test_state_machine_rights_stop_at_this_state_machine():
    for resource, statement in statements():
        if any(action.startswith("states:") for action in as_list(statement["Action"])) and statement["Resource"] != "*":
            assert "${NamePrefix}-processor" in text(statement["Resource"]) or statement["Resource"] == {
                "Ref": "ProcessorStateMachine"}, (resource, statement["Sid"])


def test_definition_is_the_packages_asl_document():
    machine = resources("AWS::StepFunctions::StateMachine")["ProcessorStateMachine"]["Properties"]
    assert machine["DefinitionString"] == definition_text()  # exact text: ensure_processor sees nothing to update
    assert machine["StateMachineName"] == {"Fn::Sub": "${NamePrefix}-processor"}


def test_names_match_the_package_defaults():
    prefix = template()["Parameters"]["NamePrefix"]["Default"]
    names = ProcessorNames()
    assert f"{prefix}-processor" == names.state_machine
    sub = lambda logical_id, key: resources_by_id()[logical_id]["Properties"][key]["Fn::Sub"].replace(  # noqa: E731
        "${NamePrefix}", prefix)
    assert sub("ChunkQueue", "QueueName") == names.queue
    assert sub("ChunkDeadLetterQueue", "QueueName") == names.dead_letter_queue
    assert sub("ProgressTable", "TableName") == names.progress_table
    assert sub("JobsTable", "TableName") == DEFAULT_JOBS_TABLE
    assert template()["Parameters"]["AgentRegistryTableName"]["Default"] == REGISTRY_TABLE
    jobs = resources_by_id()["JobsTable"]["Properties"]
    assert jobs["GlobalSecondaryIndexes"][0]["IndexName"] == RECENT_INDEX
    assert resources_by_id()["ChunkQueue"]["Properties"]["VisibilityTimeout"] == CHUNK_VISIBILITY_SECONDS
    registry = resources_by_id()["AgentRegistryTable"]["Properties"]["KeySchema"]
    assert [(k["AttributeName"], k["KeyType"]) for k in registry] == [("agent_name", "HASH"), ("version", "RANGE")]


def resources_by_id() -> dict[str, dict]:
    return template()["Resources"]


def test_worker_task_runs_a_command_the_package_has():
    container = resources("AWS::ECS::TaskDefinition")["WorkerTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert container["EntryPoint"] == ["batchorch"]
    argv = [arg if isinstance(arg, str) else "PLACEHOLDER" for arg in container["Command"]]
    argv[argv.index("--max-chunks") + 1] = "8"
    args = _parser().parse_args(argv)
    assert args.command == "worker" and args.queue == "PLACEHOLDER" and args.progress_table == "PLACEHOLDER"


@pytest.mark.parametrize("role", ["ProcessorRole", "WorkerTaskRole", "WorkerExecutionRole"])
def test_roles_are_assumed_only_from_this_account(role):
    trust = resources_by_id()[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
