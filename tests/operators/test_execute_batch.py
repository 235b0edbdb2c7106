"""ExecuteBatchOperator: deploys the processor, starts one execution per DAG run, re-attaches on a retry."""

from __future__ import annotations

from unittest import mock

from airflow_provider_batchorch.aws.processor import ProcessorNames, execution_name
from airflow_provider_batchorch.operators.execute_batch import ExecuteBatchOperator


def test_second_try_of_the_same_run_reattaches(aws_conn, small_config, capfd):
    run_id = f"manual__{small_config['batch_id']}"
    ti = mock.Mock(dag_id="batch_orchestrator")
    context = {"ti": ti, "run_id": run_id}
    operator = ExecuteBatchOperator(
        task_id="execute_batch", config=small_config, manifest_uri=f"{small_config['prefix_uri']}manifest.json"
    )
    first = operator.execute(context)
    second = ExecuteBatchOperator(
        task_id="execute_batch", config=small_config, manifest_uri=f"{small_config['prefix_uri']}manifest.json"
    ).execute(context)

    name = execution_name("batch_orchestrator", run_id)
    assert first == second and first.endswith(f":execution:{ProcessorNames().state_machine}:{name}")
    sfn = aws_conn.client("stepfunctions")
    machine = first.rsplit(":", 1)[0].replace(":execution:", ":stateMachine:")
    executions = [e for e in sfn.list_executions(stateMachineArn=machine)["executions"] if e["name"] == name]
    assert len(executions) == 1
    assert "Re-attached to the execution this DAG run already started" in capfd.readouterr().out
    link = ti.xcom_push.call_args.kwargs
    assert link["key"] == "_batchorch_execution" and link["value"]["execution_arn"] == first


def test_explicit_processor_names_are_deployed(aws_conn, small_config):
    names = {"state_machine": "batchorch-processor-alt", "queue": "batchorch-chunks-alt",
             "dead_letter_queue": "batchorch-chunks-alt-dlq", "progress_table": "batchorch-progress-alt"}
    arn = ExecuteBatchOperator(
        task_id="execute_batch", config=small_config, manifest_uri="s3://batchorch-local/none.json",
        processor_names=names, name="explicit-name",
    ).execute({"ti": mock.Mock(dag_id="d"), "run_id": "r"})
    assert ":execution:batchorch-processor-alt:explicit-name" in arn
    assert "batchorch-progress-alt" in aws_conn.client("dynamodb").list_tables()["TableNames"]
