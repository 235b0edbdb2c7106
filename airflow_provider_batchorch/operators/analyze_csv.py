"""Step 1: validate the run request and profile the CSV (streamed from S3, never loaded whole)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow_provider_batchorch.aws.batch_store import batch_prefix, save_profile
from airflow_provider_batchorch.aws.processor import execution_name
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.core.errors import InvalidConfError, invalid_conf
from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.core.output_location import OutputRules, check_output_locations
from airflow_provider_batchorch.core.task_outputs import AnalyzeResult
from airflow_provider_batchorch.hooks.batchorch import BatchorchHook

if TYPE_CHECKING:
    from airflow.sdk import Context


def validate_request(conf: Mapping[str, Any] | BatchRequest) -> BatchRequest:
    """The whole run conf as a ``BatchRequest``, or ``InvalidConfError`` naming every bad field on one line."""
    if isinstance(conf, BatchRequest):
        return conf
    try:
        return BatchRequest.model_validate(dict(conf))
    except ValidationError as exc:
        raise invalid_conf(exc, BatchRequest) from None


class AnalyzeCsvOperator(AwsBaseOperator[BatchorchHook]):
    """Validate the run request and profile its CSV: columns, types, rows, samples, row-aligned chunks.

    ``output_uri`` and ``state_uri`` are checked before anything is read (``core.output_location``): a
    location that would overwrite the input, another run's files or the state fails here, as
    ``UNSAFE_OUTPUT_URI``, not after every row has been processed.

    The full profile (with the chunk offsets) is saved next to the batch in S3; XCom gets a small copy.

    :param request: The run request (``BatchRequest`` fields). ``None`` means the DAG run's params, i.e. the
        trigger conf merged over the Param defaults; every key is validated, unknown keys are refused.
    :param batch_id: Names the batch's S3 prefix. ``None`` derives it from the DAG run, like the execution name.
    :param work_bucket: Bucket for the batch's working files; ``None`` means the CSV's bucket.
    :return: An ``AnalyzeResult`` dump: the request, the profile without chunks, its URI, batch id and prefix.
    """

    aws_hook_class = BatchorchHook
    template_fields: Sequence[str] = aws_template_fields("request", "batch_id", "work_bucket")
    ui_color = "#e8f4fd"

    def __init__(
        self,
        *,
        request: dict[str, Any] | None = None,
        batch_id: str | None = None,
        work_bucket: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.request = request
        self.batch_id = batch_id
        self.work_bucket = work_bucket

    def execute(self, context: Context) -> dict[str, Any]:
        request = validate_request(self.request if self.request is not None else context["params"])
        if not request.csv_uri.startswith("s3://"):
            raise InvalidConfError(
                f"csv_uri {request.csv_uri!r} is not an S3 URI.",
                hint="Upload the file and pass s3://bucket/key.csv (`batchorch run --csv FILE` uploads it for you).",
            )
        batch_id = self.batch_id or execution_name(context["ti"].dag_id, context["run_id"])
        prefix_uri = batch_prefix(self.work_bucket or parse_s3_uri(request.csv_uri)[0], batch_id)
        check_output_locations(request, OutputRules.from_env(), batch_prefix_uri=prefix_uri)
        # Imported here: the CSV analysis pulls in numpy, which would slow down every parse of the DAG file.
        from airflow_provider_batchorch.aws.csv_source import analyze_s3_csv

        self.log.info("Analyzing %s (cuts every %d rows)", request.csv_uri, request.cut_rows)
        profile = analyze_s3_csv(
            self.hook.s3, request.csv_uri, chunk_rows=request.cut_rows, encoding=request.encoding
        )
        profile_uri = save_profile(self.hook.s3, profile, prefix_uri)
        self.log.info(
            "CSV: %d rows, %d columns [%s], %s, delimiter %r, %d bytes, %d chunks; profile saved to %s",
            profile.row_count,
            len(profile.columns),
            ", ".join(f"{column}: {profile.data_types.get(column, '?')}" for column in profile.columns),
            profile.encoding + (" with BOM" if profile.has_bom else ""),
            profile.delimiter,
            profile.size_bytes,
            len(profile.chunks),
            profile_uri,
        )
        return AnalyzeResult(request=request, profile=profile.without_chunks(), profile_uri=profile_uri,
                             batch_id=batch_id, prefix_uri=prefix_uri).model_dump(mode="json")
