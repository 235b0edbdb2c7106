"""Bad conf is refused with a clear message: by the Params when a run is created, by BatchRequest for the rest."""

from __future__ import annotations

from unittest import mock

import pytest

from airflow_provider_batchorch.core.errors import InvalidConfError
from airflow_provider_batchorch.operators.analyze_csv import AnalyzeCsvOperator, validate_request

GOOD = {"csv_uri": "s3://bucket/companies.csv", "agent": "company-enrichment-agent"}


@pytest.fixture(scope="module")
def scheduler_dag():
    """The DAG as the api-server / scheduler sees it (serialized), which validates conf when a run is created."""
    from airflow.serialization.serialized_objects import DagSerialization

    from airflow_provider_batchorch.dag_builders.orchestrator import build_batch_orchestrator_dag

    return DagSerialization.deserialize_dag(DagSerialization.serialize_dag(build_batch_orchestrator_dag()))


def validate_at_trigger(dag, conf):
    return dag.params.deep_merge(conf).validate()


def test_good_conf_gets_defaults(scheduler_dag):
    params = validate_at_trigger(scheduler_dag, GOOD)
    assert params["concurrency"] == 10 and params["neutralize_formulas"] is True and params["output_uri"] is None
    assert validate_request(params).agent == "company-enrichment-agent"


@pytest.mark.parametrize(
    ("conf", "mentions"),
    [
        ({"agent": "company-enrichment-agent"}, "csv_uri"),
        ({**GOOD, "csv_uri": "/tmp/local.csv"}, "csv_uri"),
        ({**GOOD, "concurrency": 5000}, "concurrency"),
        ({**GOOD, "concurrency": "ten"}, "concurrency"),
        ({**GOOD, "output_fields": "industry"}, "output_fields"),
        ({**GOOD, "neutralize_formulas": "yes"}, "neutralize_formulas"),
    ],
)
def test_param_violations_refuse_the_run(scheduler_dag, conf, mentions):
    from airflow.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match=f"param {mentions}"):
        validate_at_trigger(scheduler_dag, conf)


def test_undeclared_keys_pass_params_but_not_the_request(scheduler_dag):
    conf = {**GOOD, "concurency": 5, "timeout_seconds": 1000}
    params = validate_at_trigger(scheduler_dag, {**GOOD, "concurency": 5})  # Airflow merges unknown keys as is
    assert params["concurency"] == 5
    with pytest.raises(InvalidConfError) as caught:
        validate_request(conf)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("INVALID_CONF: invalid run conf:")
    assert "concurency: unknown key (expected one of csv_uri, agent, concurrency," in message
    assert "timeout_seconds: must be a number of seconds above 0 and at most 900 (got 1000)" in message


def test_missing_fields_say_what_is_expected():
    with pytest.raises(InvalidConfError, match=r"csv_uri: required \(s3://bucket/key.csv.*agent: required"):
        validate_request({})


def test_analyze_task_validates_the_whole_run_conf_before_touching_s3():
    operator = AnalyzeCsvOperator(task_id="analyze_csv")
    context = {"params": {**GOOD, "colour": "blue"}, "ti": mock.Mock(dag_id="d"), "run_id": "r"}
    with pytest.raises(InvalidConfError, match="colour: unknown key"):
        operator.execute(context)


def test_analyze_task_wants_an_s3_csv():
    operator = AnalyzeCsvOperator(task_id="analyze_csv", request={**GOOD, "csv_uri": "companies.csv"})
    with pytest.raises(InvalidConfError, match="is not an S3 URI.*batchorch run --csv FILE"):
        operator.execute({"params": {}, "ti": mock.Mock(dag_id="d"), "run_id": "r"})
