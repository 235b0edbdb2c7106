"""The row filter: only rows for which the expression is true call the agent. The others come back as read,
with empty output cells and ``_status = SKIPPED``, in their place: rows in still equals rows out."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from airflow_provider_batchorch.core.errors import TransformRowError
from airflow_provider_batchorch.core.models import METADATA_COLUMNS, ROW_SKIPPED, STATUS_COLUMN, BatchConfig
from airflow_provider_batchorch.core.transforms.engine import expression
from airflow_provider_batchorch.core.transforms.names import check_names, parsed


class RowFilter:
    """A sandboxed jinja expression over the row's cells as read (strings): ``country == "DE"``,
    ``revenue | float > 1000``, ``row["Company Name"] != ""``."""

    def __init__(self, source: str, columns: Sequence[str]) -> None:
        self.expression = parsed("filter", expression, source)
        check_names("filter", self.expression.names, columns, what="column")

    def selects(self, row: Mapping[str, Any]) -> bool:
        try:
            return bool(self.expression.evaluate(row))
        except Exception as exc:  # noqa: BLE001 - the expression failing on this row's cells fails this row
            raise TransformRowError("Row filter failed", detail=f"{type(exc).__name__}: {exc}") from None


def skipped_cells(row: Mapping[str, str], config: BatchConfig) -> list[str]:
    """The output record of a row the filter skipped: its cells as read, empty outputs, ``SKIPPED``."""
    metadata = {STATUS_COLUMN: ROW_SKIPPED, "_processed_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    return [*(row.get(column, "") for column in config.columns), *([""] * len(config.output_fields)),
            *(metadata.get(column, "") for column in METADATA_COLUMNS)]
