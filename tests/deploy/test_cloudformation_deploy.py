"""``deploy_stack`` and ``batchorch deploy --target aws`` against moto's CloudFormation (in-process).

moto creates the stack synchronously and resolves intrinsics, so what is checked here is the template as AWS
would receive it: the resources the package expects exist, under its names, and the IAM policies name the
configured bucket and prefixes. (moto ignores AWS::CloudWatch::Alarm and leaves AWS::NoValue in lists as null.)
"""

from __future__ import annotations

import ast
import json
import warnings
from urllib.parse import unquote

import boto3
import pytest
from moto import mock_aws

from airflow_provider_batchorch.cli import command as cli
from airflow_provider_batchorch.aws.cloudformation import StackDeployError, deploy_stack, load_template
from airflow_provider_batchorch.aws.processor import ProcessorNames, ensure_processor
from airflow_provider_batchorch.aws.state_machine import definition_text

REGION = "us-east-1"


@pytest.fixture
def aws():
    with mock_aws(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # moto: "AWS::CloudWatch::Alarm is not supported"
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
        yield {"DataBucketName": "acme-data", "WorkerImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/batchorch:1",
               "VpcId": vpc, "SubnetIds": subnets}


def client(service: str):
    return boto3.client(service, region_name=REGION)


def policy_documents() -> dict[str, dict]:
    iam = client("iam")
    documents = {}
    for role in iam.list_roles()["Roles"]:
        for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
            documents[name] = _document(iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"])
    for policy in iam.list_policies(Scope="Local")["Policies"]:
        version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])
        documents["airflow"] = _document(version["PolicyVersion"]["Document"])
    return documents


def _document(document) -> dict:
    if not isinstance(document, str):
        return document
    try:
        return json.loads(unquote(document))
    except json.JSONDecodeError:  # moto keeps some CloudFormation-made documents as Python reprs
        return ast.literal_eval(document)


def test_stack_creates_what_the_package_uses(aws):
    result = deploy_stack(client("cloudformation"), stack_name="batchorch", poll_seconds=1,
                          parameters={**aws, "InputPrefix": "incoming/", "WorkerImageRepositoryName": "batchorch"})
    assert (result.action, result.status) == ("created", "CREATE_COMPLETE")
    names = ProcessorNames()
    sfn = client("stepfunctions")
    machine = sfn.describe_state_machine(stateMachineArn=result.outputs["StateMachineArn"])
    assert machine["name"] == names.state_machine and machine["definition"] == definition_text()
    assert machine["roleArn"] == result.outputs["ProcessorRoleArn"]
    sqs = client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=result.outputs["ChunkQueueUrl"], AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].endswith(names.dead_letter_queue)
    tables = set(client("dynamodb").list_tables()["TableNames"])
    assert tables == {"batchorch-progress", "batchorch-jobs", "batchorch-cache", "AgentRegistry"}
    service = client("ecs").describe_services(cluster="batchorch-workers", services=["batchorch-worker"])["services"][0]
    assert service["desiredCount"] == 2 and service["status"] == "ACTIVE"

    # The DAG's execute_batch calls ensure_processor: it must find this stack's processor, not build another.
    refs = ensure_processor(sfn, sqs, client("dynamodb"), names)
    assert refs.state_machine_arn == result.outputs["StateMachineArn"]
    assert len(sfn.list_state_machines()["stateMachines"]) == 1
    assert refs.queue_url.endswith(names.queue)


def test_resolved_policies_name_the_bucket_prefixes_and_this_processor(aws):
    deploy_stack(client("cloudformation"), stack_name="batchorch", poll_seconds=1,
                 parameters={**aws, "InputPrefix": "incoming/", "OutputPrefix": "enriched/"})
    documents = policy_documents()
    assert set(documents) == {"processor", "worker", "worker-execution", "airflow"}
    for name, document in documents.items():
        for statement in filter(None, document["Statement"]):
            for arn in statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]:
                assert arn == "*" or not arn.startswith("arn:aws:s3:::") or arn.startswith("arn:aws:s3:::acme-data"), (
                    name, statement)
                assert "s3:::*" not in arn and "s3:::acme-data/*" not in arn, (name, statement["Sid"], arn)
    airflow = {s["Sid"]: s for s in documents["airflow"]["Statement"]}
    assert airflow["ReadInputCsvs"]["Resource"] == "arn:aws:s3:::acme-data/incoming/*"
    assert airflow["StageBatchesWriteOutputs"]["Resource"] == ["arn:aws:s3:::acme-data/batchorch/*",
                                                               "arn:aws:s3:::acme-data/enriched/*"]
    assert airflow["StartAndReadThisStateMachine"]["Resource"].endswith(":stateMachine:batchorch-processor")
    worker = {s["Sid"]: s for s in filter(None, documents["worker"]["Statement"])}
    assert "InvokeBedrockModels" not in worker and "InvokeAgentFunctions" not in worker  # none configured
    assert worker["TakeChunkTasks"]["Resource"].endswith(":batchorch-chunks")


def test_agent_backends_are_granted_only_when_named(aws):
    model = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    function = "arn:aws:lambda:us-east-1:123456789012:function:company-enrichment"
    deploy_stack(client("cloudformation"), stack_name="batchorch", poll_seconds=1,
                 parameters={**aws, "BedrockModelArns": [model], "AgentFunctionArns": [function]})
    worker = {s["Sid"]: s for s in filter(None, policy_documents()["worker"]["Statement"])}
    assert worker["InvokeBedrockModels"]["Resource"] == [model]
    assert worker["InvokeAgentFunctions"]["Resource"] == [function]


def test_second_deploy_updates_the_stack(aws):
    cfn = client("cloudformation")
    deploy_stack(cfn, stack_name="batchorch", parameters=aws, poll_seconds=1)
    result = deploy_stack(cfn, stack_name="batchorch", parameters={**aws, "WorkerCount": 5}, poll_seconds=1)
    assert (result.action, result.status) == ("updated", "UPDATE_COMPLETE")
    assert client("ecs").describe_services(cluster="batchorch-workers",
                                           services=["batchorch-worker"])["services"][0]["desiredCount"] == 5


class _StackClient:
    """Just enough of a CloudFormation client for the paths moto does not take."""

    def __init__(self, status: str, update_error: Exception | None = None) -> None:
        self.status, self.update_error = status, update_error

    def describe_stacks(self, StackName):
        return {"Stacks": [{"StackId": f"id/{StackName}", "StackStatus": self.status, "Outputs": []}]}

    def update_stack(self, **request):
        raise self.update_error


def test_nothing_to_update_is_reported_as_unchanged():
    from botocore.exceptions import ClientError

    error = ClientError({"Error": {"Code": "ValidationError", "Message": "No updates are to be performed."}},
                        "UpdateStack")
    result = deploy_stack(_StackClient("UPDATE_COMPLETE", error), stack_name="s", parameters={}, template={})
    assert (result.action, result.status) == ("unchanged", "UPDATE_COMPLETE")


def test_a_rolled_back_stack_is_refused_with_what_to_do():
    with pytest.raises(StackDeployError, match="delete-stack --stack-name s"):
        deploy_stack(_StackClient("ROLLBACK_COMPLETE"), stack_name="s", parameters={}, template={})


def test_template_sent_carries_the_packages_definition(tmp_path):
    template = load_template()
    assert template["Resources"]["ProcessorStateMachine"]["Properties"]["DefinitionString"] == definition_text()
    with pytest.raises(StackDeployError, match="no CloudFormation template"):
        load_template(tmp_path / "missing.yaml")


def test_cli_deploys_the_stack(aws, capsys):
    argv = ["deploy", "--target", "aws", "--region", REGION, "--stack-name", "batchorch-cli",
            "--bucket", aws["DataBucketName"], "--worker-image", aws["WorkerImage"], "--vpc-id", aws["VpcId"],
            "--subnet-ids", ",".join(aws["SubnetIds"]), "--input-prefix", "incoming/", "--parameter", "WorkerCount=1"]
    assert cli.main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["action"] == "created" and result["outputs"]["StateMachineArn"].endswith(":batchorch-processor")


def test_cli_refuses_a_stack_without_its_required_parameters(capsys):
    assert cli.main(["deploy", "--target", "aws", "--bucket", "acme-data"]) == cli.EXIT_REFUSED
    assert "WorkerImage, VpcId, SubnetIds" in capsys.readouterr().err
