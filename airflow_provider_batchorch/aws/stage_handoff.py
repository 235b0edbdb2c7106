"""Between two pipeline stages: the previous stage's output, its header renamed, becomes the next stage's input."""

from __future__ import annotations

from airflow_provider_batchorch.aws.s3_text import s3_text_reader, s3_text_writer
from airflow_provider_batchorch.core.stages import rename_header


def hand_off_stage_output(s3, output_uri: str, next_input_uri: str, renames: dict[str, str]) -> int:
    """Copy ``output_uri`` to ``next_input_uri`` with ``renames`` applied to its header; returns the row count."""
    with s3_text_reader(s3, output_uri) as source, s3_text_writer(s3, next_input_uri) as target:
        return rename_header(source, target, renames)
