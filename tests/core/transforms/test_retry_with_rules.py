"""Retrying the failed rows of an output written under transformation rules: the renamed and derived output
columns are told from the input columns, and the retry runs the same rules once, not merged over the registry
entry's defaults a second time."""

from __future__ import annotations

import csv
import io

from airflow_provider_batchorch.aws.retry_failed import retry_request
from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.csv.output import csv_bytes
from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.core.retry_failed import select_failed_rows
from airflow_provider_batchorch.core.transforms.rules import TransformRules, output_names
from tests.core.transforms.conftest import configure, profile, run_rows
from tests.support.agents import spec

ENTRY = {"input": [{"kind": "template", "template": "{text}!", "into": "text"}]}  # not idempotent
CONF = {"output": {"derived": [{"into": "n", "expression": "length * 2"}], "rename": {"upper": "shout"},
                   "keep": ["upper", "n"]}}


def test_a_retry_tells_renamed_outputs_from_inputs_and_runs_the_rules_once():
    from airflow_provider_batchorch.core.configure import build_batch_config

    agent = AgentSpec.model_validate({**spec().model_dump(), "transforms": ENTRY})
    config = configure(["text", "note"], CONF, agent=agent)
    _, records = run_rows(config, [{"text": "ab", "note": "x"}, {"text": "", "note": "y"}])
    assert [r["_status"] for r in records] == ["SUCCEEDED", "SUCCEEDED"]
    records[1]["_status"] = "FAILED"  # as if its agent call had failed
    written = csv_bytes([config.output_columns, *[list(r.values()) for r in records]], neutralize=True).decode()

    names = output_names(agent.output_fields, agent.transforms, TransformRules.model_validate(CONF))
    assert set(config.output_fields) <= set(names)
    retry_input = io.StringIO()
    selection = select_failed_rows(io.StringIO(written), retry_input, names)
    assert selection.original_columns == ["text", "note"] and selection.output_fields == ["shout", "n"]
    assert selection.failed_rows == [1]

    request = retry_request(config, "s3://b/retry.csv", selection)
    again = build_batch_config(BatchRequest.model_validate(request.model_dump()), profile(["text", "note"]), agent,
                               batch_id="r", prefix_uri="s3://b/runs/r/")
    assert again.output_fields == config.output_fields == ["shout", "n"]
    rows = list(csv.DictReader(io.StringIO(retry_input.getvalue())))
    assert rows == [{"text": "", "note": "y"}]
    _, retried = run_rows(again, [{"text": "zz", "note": "y"}])
    assert (retried[0]["shout"], retried[0]["n"]) == ("ZZ!", "6")  # the entry's step once: "zz!", not "zz!!"
