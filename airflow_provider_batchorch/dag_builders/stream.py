"""The ``batch_stream`` DAG: a long-running stream of rows, answered by ``batchorch stream-worker`` processes.

Two tasks: ``start_stream`` validates the run's request against its agent (as ``validate_agent`` does), creates
the stream's queues and ledger table and stages the config the workers read; ``monitor_stream`` waits in the
triggerer (one ``StreamProgressTrigger``), logging throughput and lag every ``poll_interval`` seconds, until
the stream's stop marker appears, ``max_duration_seconds`` passed, or nothing arrived for
``stop_after_idle_seconds``; then it writes the stop marker, so every worker finishes the rows in hand, writes
its part and exits, and returns the final figures.

One run at a time (``max_active_runs=1``, whatever the author passes): every run of the DAG shares its places
(queues, ledger, S3 prefix), so a second run would overwrite ``stream.json`` and its monitor's stop marker would
stop the other run's workers. Ids are permanent per stream: the ledger outlives a run, so an id answered in an
earlier run is deleted without a new result when it arrives again; give each new set of ids a fresh prefix, or
the DAG another ``StreamPlaces.stream_id``.

Stop a running stream by hand: write ``<output_uri>STOP`` (any content), e.g.
``aws s3 cp - s3://batchorch-local/streams/default/STOP <<< "done"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import DAG, chain

from airflow_provider_batchorch.core.stream.config import StreamPlaces, StreamRequest
from airflow_provider_batchorch.core.stream.stats import StopRule
from airflow_provider_batchorch.dag_builders.batch_options import batchorch_dag
from airflow_provider_batchorch.dag_builders.params import settings_params
from airflow_provider_batchorch.operators.monitor_stream import MonitorStreamOperator
from airflow_provider_batchorch.operators.start_stream import StartStreamOperator

DOC_MD = __doc__


def stream_request(params: Mapping[str, Any]) -> dict[str, Any]:
    """The run's ``StreamRequest`` keys (every other key is the stop rule's). A DAG macro."""
    return {key: value for key, value in dict(params).items() if key not in StopRule.model_fields}


def stop_rule(params: Mapping[str, Any]) -> dict[str, Any]:
    """The run's ``StopRule`` keys. A DAG macro."""
    return {key: params.get(key) for key in StopRule.model_fields}


def build_batch_stream_dag(dag_id: str = "batch_stream", *, places: StreamPlaces | None = None,
                           poll_interval: float = 5.0, aws_conn_id: str | None = "aws_default",
                           registry_files: Sequence[str] = (), registry_table: str | None = None,
                           **dag_kwargs: Any) -> DAG:
    """:param places: Where the stream lives (queues, ledger table, S3 prefix): trusted, not in the run's conf.
    :param poll_interval: Seconds between the monitor's looks at the stream.
    :param dag_kwargs: The rest goes to ``DAG`` (but ``max_active_runs``: 1, the runs share the places)."""
    dag_kwargs["max_active_runs"] = 1
    with batchorch_dag(
        dag_id,
        description="Answer rows arriving on an SQS queue with an agent, continuously (batchorch stream-worker).",
        doc_md=DOC_MD,
        params={**settings_params(StreamRequest), **settings_params(StopRule)},
        user_defined_macros={"stream_request": stream_request, "stop_rule": stop_rule},
        **dag_kwargs,
    ) as dag:
        start = StartStreamOperator(task_id="start_stream", request="{{ stream_request(params) }}", places=places,
                                    aws_conn_id=aws_conn_id, registry_files=registry_files,
                                    registry_table=registry_table)
        monitor = MonitorStreamOperator(task_id="monitor_stream", started=start.output,
                                        stop_rule="{{ stop_rule(params) }}", poll_interval=poll_interval,
                                        aws_conn_id=aws_conn_id)
        chain(start, monitor)
    return dag
