"""Deploy or update the processor on AWS as a CloudFormation stack (``deploy/batchorch.yaml``).

``batchorch deploy --target aws`` calls ``deploy_stack``: it creates the stack, or updates it when it exists,
waits for the result and returns the stack's outputs. The template's state machine definition is replaced by
the package's own ASL document before it is sent, so the deployed processor always matches the installed code.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml
from botocore.exceptions import ClientError, WaiterError
from pydantic import BaseModel

from airflow_provider_batchorch.aws.state_machine import definition_text
from airflow_provider_batchorch.core.errors import BatchorchError

log = logging.getLogger(__name__)

# The template lives in the repository's deploy/ folder (next to the package in a checkout or editable install).
DEFAULT_TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "batchorch.yaml"
STATE_MACHINE_RESOURCE = "ProcessorStateMachine"
CAPABILITIES = ["CAPABILITY_IAM"]
TAGS = [{"Key": "app", "Value": "batchorch"}]
_NO_UPDATES = "No updates are to be performed"
_UNUSABLE = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED")


class StackDeployError(BatchorchError):
    code = "STACK_DEPLOY_FAILED"


class StackResult(BaseModel):
    stack_name: str
    stack_id: str
    action: Literal["created", "updated", "unchanged"]
    status: str
    outputs: dict[str, str]


def load_template(path: str | Path | None = None) -> dict[str, Any]:
    """The template as a dict, with the state machine's DefinitionString set to the package's ASL text."""
    path = Path(path) if path else DEFAULT_TEMPLATE
    if not path.is_file():
        raise StackDeployError(f"no CloudFormation template at {path}",
                               hint="Pass --template deploy/batchorch.yaml from a checkout of the repository.")
    template = yaml.safe_load(path.read_text(encoding="utf-8"))
    template["Resources"][STATE_MACHINE_RESOURCE]["Properties"]["DefinitionString"] = definition_text()
    return template


def stack_parameters(values: Mapping[str, Any]) -> list[dict[str, str]]:
    """CloudFormation parameters from a mapping; lists become comma-separated, ``None`` values are left out."""
    parameters = []
    for key, value in values.items():
        if value is None:
            continue
        text = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        parameters.append({"ParameterKey": key, "ParameterValue": text})
    return parameters


def deploy_stack(
    cfn,
    *,
    stack_name: str,
    parameters: Mapping[str, Any],
    template: Mapping[str, Any] | None = None,
    wait: bool = True,
    poll_seconds: float = 10,
    max_wait_seconds: float = 3600,
) -> StackResult:
    """Create ``stack_name`` or update it in place; wait until it settles (unless ``wait`` is False)."""
    body = json.dumps(template if template is not None else load_template(), separators=(",", ":"))
    request = {
        "StackName": stack_name,
        "TemplateBody": body,
        "Parameters": stack_parameters(parameters),
        "Capabilities": CAPABILITIES,
        "Tags": TAGS,
    }
    existing = _describe(cfn, stack_name)
    if existing and existing["StackStatus"] in _UNUSABLE:
        raise StackDeployError(
            f"stack {stack_name} is {existing['StackStatus']} and cannot be updated",
            hint=f"Look at its events, delete it (aws cloudformation delete-stack --stack-name {stack_name}) "
            "and deploy again.",
        )
    if existing is None:
        log.info("Creating stack %s", stack_name)
        cfn.create_stack(**request, OnFailure="ROLLBACK")
        action, waiter = "created", "stack_create_complete"
    else:
        log.info("Updating stack %s", stack_name)
        try:
            cfn.update_stack(**request)
        except ClientError as exc:
            if _NO_UPDATES not in str(exc):
                raise
            return _result(cfn, stack_name, "unchanged")
        action, waiter = "updated", "stack_update_complete"
    if wait:
        _wait(cfn, waiter, stack_name, poll_seconds, max_wait_seconds)
    return _result(cfn, stack_name, action)


def _describe(cfn, stack_name: str) -> dict[str, Any] | None:
    try:
        return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def _wait(cfn, waiter: str, stack_name: str, poll_seconds: float, max_wait_seconds: float) -> None:
    attempts = max(1, int(max_wait_seconds / max(poll_seconds, 0.1)))
    try:
        cfn.get_waiter(waiter).wait(StackName=stack_name,
                                    WaiterConfig={"Delay": max(1, round(poll_seconds)), "MaxAttempts": attempts})
    except WaiterError as exc:
        raise StackDeployError(
            f"stack {stack_name} did not deploy: {_first_failure(cfn, stack_name) or exc}",
            hint="See the stack's events in the CloudFormation console.",
        ) from None


def _first_failure(cfn, stack_name: str) -> str | None:
    try:
        events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
    except ClientError:
        return None
    failed = [e for e in events if e.get("ResourceStatus", "").endswith("_FAILED")]
    if not failed:
        return None
    event = failed[-1]  # events are newest first: the last one is the first failure
    return f"{event['LogicalResourceId']}: {event.get('ResourceStatusReason', event['ResourceStatus'])}"


def _result(cfn, stack_name: str, action: str) -> StackResult:
    stack = _describe(cfn, stack_name)
    return StackResult(
        stack_name=stack_name,
        stack_id=stack["StackId"],
        action=action,
        status=stack["StackStatus"],
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
    )
