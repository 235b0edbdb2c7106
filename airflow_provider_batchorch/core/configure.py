"""From a request, a CSV profile and an agent to a validated ``BatchConfig``: mapping, outputs, concurrency."""

from __future__ import annotations

from airflow_provider_batchorch.core.agent_spec import AgentSpec
from airflow_provider_batchorch.core.batch_api.mode import choose_execution_mode
from airflow_provider_batchorch.core.batch_estimate import estimate_batch
from airflow_provider_batchorch.core.chunk_packing import pack_chunks, pack_plan
from airflow_provider_batchorch.core.cost_estimate import CostEstimate, in_mode
from airflow_provider_batchorch.core.mapping import map_inputs, select_output_fields
from airflow_provider_batchorch.core.models import BatchConfig, BatchRequest, ChunkSpec, CsvProfile
from airflow_provider_batchorch.core.output_location import state_location
from airflow_provider_batchorch.core.transforms.row_transforms import plan_transforms


def build_batch_config(
    request: BatchRequest, profile: CsvProfile, agent: AgentSpec, *, batch_id: str, prefix_uri: str,
    cost_estimate: CostEstimate | None = None,
) -> BatchConfig:
    """:param cost_estimate: The estimate the validate step made; ``None`` estimates here (the agent's own model)."""
    transforms = plan_transforms(agent, request.transforms, profile.columns, request.output_fields)
    agent = transforms.agent  # its transforms: the batch's effective rules, checked here before any row runs
    mapping = map_inputs(agent, transforms.row_columns, request.input_mapping)
    output_fields = transforms.output_fields or select_output_fields(agent, request.output_fields)
    plan = pack_plan(profile.row_count, profile.chunk_rows, request.concurrency, packable=request.chunk_rows is None)
    mode, mode_reason = choose_execution_mode(request.execution_mode, agent, rows=profile.row_count,
                                              sample_rows=profile.sample_rows, input_mapping=mapping)
    prefix_uri = prefix_uri.rstrip("/") + "/"
    return BatchConfig(
        batch_id=batch_id,
        csv_uri=profile.uri,
        encoding=profile.encoding,
        delimiter=profile.delimiter,
        quotechar=profile.quotechar,
        columns=profile.columns,
        agent=agent,
        input_mapping=mapping,
        output_fields=output_fields,
        concurrency=request.concurrency,
        chunk_concurrency=plan.chunk_concurrency,
        row_concurrency=plan.row_concurrency,
        timeout_seconds=request.timeout_seconds,
        total_rows=profile.row_count,
        chunk_count=plan.chunk_count,
        prefix_uri=prefix_uri,
        output_uri=request.output_uri or f"{prefix_uri}output/{_output_name(profile.uri)}",
        neutralize_formulas=request.neutralize_formulas,
        state_uri=state_location(request, profile.uri),
        execution_mode=mode,
        execution_mode_reason=mode_reason,
        batch_api_deadline_seconds=request.batch_api_deadline_seconds,
        cost_estimate=in_mode(cost_estimate or estimate_batch(request, profile, agent, input_mapping=mapping), mode),
    )


def work_chunks(profile: CsvProfile, config: BatchConfig) -> list[ChunkSpec]:
    """The chunks the batch's manifest lists: the analysis' cuts, packed into ``config.chunk_count`` chunks."""
    return pack_chunks(profile.chunks, config.chunk_count)


def header_renames(config: BatchConfig) -> dict[str, str]:
    """Input columns and output fields whose output header name differs from their own (a collision or a
    neutralised formula, ``output_header``'s rule): ``{name: header name}``, to tell the user."""
    names = [*config.columns, *config.output_fields]
    return {name: header for name, header in zip(names, config.output_columns) if header != name}


def _output_name(csv_uri: str) -> str:
    stem = csv_uri.rstrip("/").rsplit("/", 1)[-1]
    stem = stem[:-4] if stem.lower().endswith(".csv") else stem
    return f"{stem or 'batch'}_enriched.csv"
