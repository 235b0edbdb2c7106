"""``start_stream``: validate the stream's request against its agent, create its queues and ledger, stage its config."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from pydantic import ValidationError

from airflow_provider_batchorch.aws.stream_resources import start_stream
from airflow_provider_batchorch.core.errors import invalid_conf
from airflow_provider_batchorch.core.stream.config import StreamPlaces, StreamRequest
from airflow_provider_batchorch.operators.validate_agent import ValidateAgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class StartStreamOperator(ValidateAgentOperator):
    """The agent is resolved as ``validate_agent`` resolves it (same registry, same trust rules, same errors), and
    the mapping and output fields are checked before any row runs. Workers (``batchorch stream-worker --config``)
    read the config it stages.

    :param request: The ``StreamRequest`` (the run's params): agent and row settings. Untrusted: it cannot name
        queues, tables or buckets.
    :param places: Where the stream lives (``StreamPlaces``), the DAG author's choice; not templated.
    :return: ``{"config": StreamConfig dump, "started_at": epoch seconds}``.
    """

    template_fields: Sequence[str] = aws_template_fields("request")

    def __init__(self, *, request: dict[str, Any] | str, places: StreamPlaces | None = None, **kwargs: Any) -> None:
        super().__init__(agent="", **kwargs)
        self.request = request
        self.places = places or StreamPlaces()

    def execute(self, context: Context) -> dict[str, Any]:
        try:
            request = StreamRequest.model_validate(self.request)
        except ValidationError as exc:
            raise invalid_conf(exc, StreamRequest) from None
        self.agent = request.agent
        config, queues = start_stream(self.hook.s3, self.hook.sqs, self.hook.dynamodb, request, self.places,
                                      self.resolve_registry())
        self.log.info("Stream %s: agent %s, rows from %s, results to %s and %s; workers: batchorch stream-worker "
                      "--config %s", config.stream_id, config.batch.agent.name, queues.source_url,
                      queues.destination_url, config.parts_prefix, config.config_uri)
        return {"config": config.model_dump(mode="json"), "started_at": time.time()}
