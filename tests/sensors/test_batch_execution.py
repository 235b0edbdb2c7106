"""BatchExecutionSensor: pokes with progress lines, defers to the trigger, fails with the execution's error."""

from __future__ import annotations

from unittest import mock

import pytest

from airflow_provider_batchorch.core.errors import ExecutionFailedError
from airflow_provider_batchorch.sensors.batch_execution import BatchExecutionSensor
from airflow_provider_batchorch.triggers.batch_execution import BatchExecutionTrigger


def context():
    return {"ti": mock.Mock(dag_id="batch_orchestrator"), "run_id": "manual__sensor"}


def make_sensor(execution_arn, config, **kwargs):
    return BatchExecutionSensor(task_id="monitor_batch", execution_arn=execution_arn, config=config, **kwargs)


def test_poke_mode_waits_then_returns_final_progress(start_execution, small_config, capfd):
    sensor = make_sensor(start_execution("succeeds"), small_config, deferrable=False, poke_interval=0.2)
    progress = sensor.execute(context())
    assert progress["status"] == "SUCCEEDED" and progress["total_rows"] == 10
    captured = capfd.readouterr()
    out = captured.out + captured.err
    assert "RUNNING: rows 0/10 (0.0%), 0 failed" in out and "SUCCEEDED: rows 0/10" in out


def test_poke_mode_fails_with_error_and_cause(start_execution, small_config):
    sensor = make_sensor(start_execution("fails"), small_config, deferrable=False, poke_interval=0.2)
    with pytest.raises(ExecutionFailedError) as caught:
        sensor.execute(context())
    message = str(caught.value)
    assert message.startswith("EXECUTION_FAILED: execution ")
    assert "ended FAILED: ChunkFailed: chunk 3: worker died" in message
    assert "\n" not in message


def test_deferrable_by_default_and_defers_while_running(start_execution, small_config):
    from airflow.providers.common.compat.sdk import TaskDeferred

    execution_arn = start_execution("succeeds")
    sensor = make_sensor(execution_arn, small_config, poke_interval=3)
    assert sensor.deferrable
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, BatchExecutionTrigger)
    assert (trigger.execution_arn, trigger.config, trigger.poll_interval) == (execution_arn, small_config, 3)
    assert deferred.value.method_name == "execute_complete"


def test_deferrable_returns_at_once_when_already_finished(start_execution, small_config):
    sensor = make_sensor(start_execution("fails"), small_config)
    with pytest.raises(ExecutionFailedError, match="ChunkFailed"):
        sensor.execute(context())


def test_execute_complete_validates_the_event(small_config):
    sensor = make_sensor("arn:aws:states:us-east-1:1:execution:m:run-1", small_config)
    progress = {"status": "SUCCEEDED", "total_rows": 10, "rows_processed": 10, "rows_succeeded": 9, "rows_failed": 1,
                "percent": 100.0, "eta_seconds": 0, "elapsed_seconds": 12}
    ok = {"status": "success", "execution_arn": sensor.execution_arn, "execution_status": "SUCCEEDED",
          "progress": progress, "error": None, "cause": None}
    assert sensor.execute_complete(context(), ok)["rows_failed"] == 1
    failed = {**ok, "status": "failure", "execution_status": "TIMED_OUT", "error": "States.Timeout", "cause": None}
    with pytest.raises(ExecutionFailedError, match="run-1 ended TIMED_OUT: States.Timeout: no cause given"):
        sensor.execute_complete(context(), failed)
    with pytest.raises(Exception, match="event is None"):
        sensor.execute_complete(context(), None)
