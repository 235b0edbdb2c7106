"""How a DAG's batch tasks are built (``BatchTaskOptions``), and the ``DAG()`` set-up every batchorch DAG shares.

The DAG builders take the options as keyword arguments beside ``DAG``'s own: ``split_options`` tells them apart,
so ``build_batch_orchestrator_dag(poll_interval=0.5, tags=[...])`` is one call and an option is declared once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG
from pydantic import BaseModel, ConfigDict, Field

from airflow_provider_batchorch.aws.processor import ProcessorNames


class BatchTaskOptions(BaseModel):
    """The settings of the six batch tasks that a DAG author chooses (a run's conf chooses the rest)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    aws_conn_id: str | None = Field("aws_default", description="The AWS connection every task uses "
                                    "(endpoint_url in its extra for moto/LocalStack)")
    registry_table: str | None = Field(None, description="A DynamoDB AgentRegistry table to look agents up in, "
                                       "besides the built-ins")
    registry_files: tuple[str, ...] = Field((), description="Registry files (local paths or s3://) the DAG author "
                                            "trusts, their Python agents included; added to the operator's "
                                            "BATCHORCH_REGISTRY_FILES. The conf's registry is not trusted")
    processor_names: ProcessorNames = Field(default_factory=ProcessorNames,
                                            description="Names of the processor's state machine, queues and "
                                            "progress table")
    poll_interval: float = Field(5.0, gt=0, description="Seconds between progress polls while the batch runs")
    deferrable: bool = Field(True, description="Wait for the batch in the triggerer rather than in a worker slot")
    monitor_timeout: timedelta = Field(timedelta(days=1), description="How long the monitor waits before failing")

    @classmethod
    def of(cls, options: "BatchTaskOptions | dict[str, Any] | None" = None, **fields: Any) -> "BatchTaskOptions":
        """``options`` (a model or a dict) with ``fields`` over it; ``processor_names`` may be ``None``."""
        merged = {**(options.model_dump(exclude_unset=True) if isinstance(options, BatchTaskOptions)
                     else dict(options or {})), **fields}
        if merged.get("processor_names") is None:
            merged.pop("processor_names", None)
        return cls.model_validate(merged)


def split_options(kwargs: dict[str, Any], options: BatchTaskOptions | dict[str, Any] | None = None,
                  ) -> tuple[BatchTaskOptions, dict[str, Any]]:
    """``BatchTaskOptions`` from the keys of ``kwargs`` that name one (over ``options``), and the rest (for DAG)."""
    chosen = {key: kwargs.pop(key) for key in list(kwargs) if key in BatchTaskOptions.model_fields}
    return BatchTaskOptions.of(options, **chosen), kwargs


def batchorch_dag(dag_id: str, *, description: str, doc_md: str, params: dict[str, Any],
                  tags: Sequence[str] = ("batchorch",), **dag_kwargs: Any) -> DAG:
    """``DAG(...)`` as every batchorch DAG is set up: natively rendered templates (task outputs arrive as dicts,
    not strings), no schedule and the ``batchorch`` tags unless given, the author's ``params`` over ours."""
    dag_kwargs.setdefault("schedule", None)
    dag_kwargs.setdefault("tags", list(tags))
    return DAG(
        dag_id=dag_id,
        description=description,
        doc_md=doc_md,
        params={**params, **dag_kwargs.pop("params", {})},
        render_template_as_native_obj=True,
        **dag_kwargs,
    )
