"""Where a batch may write: ``output_uri`` (the output CSV) and ``state_uri`` (the incremental result store).

Checked before any row is processed, by the analyze task (every run conf) and by the chat policy, so that
nothing a request says can make a batch write over its input, another run's files, or its own state:

- both are S3 URIs (``state_uri`` may be a local folder only where the operator allows it: the embedded
  ``batchorch run --state-dir``), in an allowed bucket;
- ``output_uri`` names an object (not a folder), is not the input CSV, not a folder holding it, not inside the
  runs area (``batchorch/runs/``) except this batch's own ``output/`` folder, and not inside any other of
  batchorch's own areas (``PROTECTED_KEY_PREFIXES``: the default state, the chat/MCP conversations, the default
  streams' config, parts and ``STOP`` marker) nor any state;
- ``state_uri`` is a folder that holds neither the input nor the output, apart from those areas.

URIs are compared normalised: bucket case-insensitive, key segments without empty or ``.`` parts; a ``..``
segment is refused. A refusal is an ``UnsafeOutputUriError`` (``UNSAFE_OUTPUT_URI``) naming the problem and the fix.

Settings (``OutputRules.from_env``): ``BATCHORCH_ALLOWED_OUTPUT_BUCKETS`` (comma separated, ``*`` = any). Unset:
the batch's bucket, the input's bucket and the chat's buckets (``BATCHORCH_CHAT_ALLOWED_BUCKETS`` without ``*``,
``BATCHORCH_CHAT_DEFAULT_BUCKET``). ``BATCHORCH_ALLOW_LOCAL_STATE=1`` lets ``state_uri`` be a local folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import NamedTuple

from pydantic import BaseModel, Field

from airflow_provider_batchorch.core.errors import UnsafeOutputUriError
from airflow_provider_batchorch.core.models import BatchRequest
from airflow_provider_batchorch.core.s3_uri import parse_s3_uri
from airflow_provider_batchorch.core.stream.config import STREAMS_KEY_PREFIX

RUNS_KEY_PREFIX = "batchorch/runs/"
STATE_KEY_PREFIX = "batchorch/state/"
CONVERSATIONS_KEY_PREFIX = "batchorch/conversations/"  # orchestrator/conversations.py keeps them there
# batchorch's own areas (in any bucket) and what they hold: no output_uri may write in one (a batch's own output/
# folder in the runs area aside), no state_uri may overlap one but the state's
PROTECTED_KEY_PREFIXES = {
    RUNS_KEY_PREFIX: "where batches keep their working files",
    STATE_KEY_PREFIX: "where incremental runs keep their results",
    CONVERSATIONS_KEY_PREFIX: "where chat and MCP conversations are kept",
    STREAMS_KEY_PREFIX: "where streams keep their config, output parts and STOP marker",
}
ALLOWED_OUTPUT_BUCKETS_ENV = "BATCHORCH_ALLOWED_OUTPUT_BUCKETS"
ALLOW_LOCAL_STATE_ENV = "BATCHORCH_ALLOW_LOCAL_STATE"
ANY_BUCKET = "*"
_KEEP_OUT = "leave output_uri empty to write next to the batch"


class OutputRules(BaseModel):
    """The operator's rules for where batches may write; never set by a request."""

    allowed_buckets: list[str] = Field(
        default_factory=list, description='Buckets for output_uri/state_uri ("*" = any); the batch and input buckets are always allowed'
    )
    explicit: bool = Field(False, description="allowed_buckets is the whole list: the batch and input buckets are not added")
    allow_local_state: bool = Field(False, description="state_uri may be a local folder (embedded default only)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OutputRules:
        environ = os.environ if environ is None else environ
        allow_local = environ.get(ALLOW_LOCAL_STATE_ENV, "").strip().lower() in ("1", "true", "yes")
        configured = _listed(environ.get(ALLOWED_OUTPUT_BUCKETS_ENV, ""))
        if configured:
            return cls(allowed_buckets=configured, explicit=True, allow_local_state=allow_local)
        chat = [b for b in _listed(environ.get("BATCHORCH_CHAT_ALLOWED_BUCKETS", "")) if b != ANY_BUCKET]
        default = _listed(environ.get("BATCHORCH_CHAT_DEFAULT_BUCKET", ""))
        return cls(allowed_buckets=[*chat, *default], allow_local_state=allow_local)

    def buckets_for(self, *own_buckets: str) -> list[str]:
        """The allowed buckets of a batch whose own (batch, input) buckets are ``own_buckets``."""
        listed = self.allowed_buckets if self.explicit else [*own_buckets, *self.allowed_buckets]
        return list(dict.fromkeys(bucket.lower() for bucket in listed))


class S3Place(NamedTuple):
    """A normalised S3 location: lower-case bucket, key segments."""

    bucket: str
    parts: tuple[str, ...]

    def holds(self, other: S3Place) -> bool:
        """``other`` is this folder itself or inside it."""
        return other.bucket == self.bucket and other.parts[: len(self.parts)] == self.parts

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{'/'.join(self.parts)}"


def s3_place(uri: str, field: str = "uri") -> S3Place:
    bucket, key = parse_s3_uri(uri.strip())
    parts = tuple(part for part in key.split("/") if part not in ("", "."))
    if ".." in parts:
        raise UnsafeOutputUriError(f"{field} {uri} has a '..' path segment",
                                   hint="Give the plain key, without '..'.")
    return S3Place(bucket.lower(), parts)


def state_location(request: BatchRequest, csv_uri: str) -> str | None:
    """The result store a batch uses: ``state_uri``, else ``s3://<csv bucket>/batchorch/state/``; None unless incremental."""
    if not request.incremental:
        return None
    if request.state_uri:
        return request.state_uri
    if csv_uri.startswith("s3://"):
        return f"s3://{parse_s3_uri(csv_uri)[0]}/{STATE_KEY_PREFIX}"
    return None


def check_output_locations(request: BatchRequest, rules: OutputRules, *, batch_prefix_uri: str | None = None) -> None:
    """Refuse an ``output_uri`` or ``state_uri`` that is not safe to write (see the module docstring).

    :param batch_prefix_uri: This batch's ``s3://bucket/batchorch/runs/<id>/``; ``None`` before it is known
        (chat), then the batch bucket is the input's and no explicit output may be inside the runs area.
    """
    source = s3_place(request.csv_uri, "csv_uri")
    own = s3_place(batch_prefix_uri, "prefix_uri") if batch_prefix_uri else None
    allowed = rules.buckets_for(*([own.bucket] if own else []), source.bucket)
    output = _check_output(request.output_uri, source, own, allowed) if request.output_uri else None
    state_uri = state_location(request, request.csv_uri)
    if state_uri:
        _check_state(state_uri, source, output, allowed, rules, explicit=bool(request.state_uri))


def _check_output(uri: str, source: S3Place, own: S3Place | None, allowed: list[str]) -> S3Place:
    if not uri.strip().startswith("s3://"):
        raise UnsafeOutputUriError(f"output_uri {uri!r} is not an S3 URI",
                                   hint=f"Give s3://bucket/path/name.csv, or {_KEEP_OUT}.")
    output = s3_place(uri, "output_uri")
    _check_bucket("output_uri", uri, output, allowed)
    if output == source:
        raise UnsafeOutputUriError(f"output_uri {uri} is the input CSV: the results would overwrite it",
                                   hint=f"Give another key, e.g. {_enriched_name(output)}, or {_KEEP_OUT}.")
    if output.holds(source):
        raise UnsafeOutputUriError(f"output_uri {uri} is a folder holding the input CSV {source}",
                                   hint=f"Give a file key, e.g. {_enriched_name(source)}, or {_KEEP_OUT}.")
    if not output.parts or uri.rstrip().endswith("/"):
        raise UnsafeOutputUriError(f"output_uri {uri} names a folder, not a file",
                                   hint=f"Give the output CSV's key, e.g. s3://{output.bucket}/{'/'.join((*output.parts, 'output.csv'))}.")
    own_output = S3Place(own.bucket, (*own.parts, "output")) if own else None
    for prefix, holds in PROTECTED_KEY_PREFIXES.items():
        own_folder = prefix == RUNS_KEY_PREFIX and own_output is not None and own_output.holds(output)
        if _area(output.bucket, prefix).holds(output) and not own_folder:
            keep_out = f"{_KEEP_OUT} (its own output/ folder)" if prefix == RUNS_KEY_PREFIX else _KEEP_OUT
            raise UnsafeOutputUriError(f"output_uri {uri} is inside {prefix}, {holds}",
                                       hint=f"Write outside {prefix}, or {keep_out}.")
    return output


def _check_state(uri: str, source: S3Place, output: S3Place | None, allowed: list[str], rules: OutputRules,
                 *, explicit: bool) -> None:
    if not uri.startswith("s3://"):
        if rules.allow_local_state and PurePosixPath(uri.removeprefix("file://")).is_absolute():
            return
        raise UnsafeOutputUriError(
            f"state_uri {uri!r} is not an S3 URI",
            hint="Give s3://bucket/prefix/ (a local folder works only with the embedded `batchorch run --state-dir`).",
        )
    state = s3_place(uri, "state_uri")
    if not state.parts:  # the result store's own default prefix, see aws.result_cache
        state = _area(state.bucket, STATE_KEY_PREFIX)
    if explicit:
        _check_bucket("state_uri", uri, state, allowed)
    default = _area(state.bucket, STATE_KEY_PREFIX)
    fix = f"Give state_uri a folder of its own, e.g. {default}/." if state != default else \
        f"Give state_uri a folder of its own, e.g. s3://{state.bucket}/batchorch-state/."
    for name, place in (("the input CSV", source), ("the output CSV", output)):
        if place and state.holds(place):
            raise UnsafeOutputUriError(f"state_uri {uri} holds {name} {place}: the result store would overwrite it",
                                       hint=fix)
    for prefix, holds in PROTECTED_KEY_PREFIXES.items():
        area = _area(state.bucket, prefix)
        if prefix != STATE_KEY_PREFIX and (area.holds(state) or state.holds(area)):
            raise UnsafeOutputUriError(f"state_uri {uri} overlaps {prefix}, {holds}", hint=fix)


def _check_bucket(field: str, uri: str, place: S3Place, allowed: list[str]) -> None:
    if ANY_BUCKET in allowed or place.bucket in allowed:
        return
    raise UnsafeOutputUriError(
        f"{field} {uri} is in bucket {place.bucket}, which batches may not write to "
        f"(allowed: {', '.join(f's3://{b}' for b in allowed)})",
        hint=f"Use one of those buckets, or have the operator add it to {ALLOWED_OUTPUT_BUCKETS_ENV}.",
    )


def _area(bucket: str, key_prefix: str) -> S3Place:
    return S3Place(bucket, tuple(key_prefix.strip("/").split("/")))


def _enriched_name(place: S3Place) -> str:
    *folder, name = place.parts
    stem = name[:-4] if name.lower().endswith(".csv") else name
    return str(S3Place(place.bucket, (*folder, f"{stem}_enriched.csv")))


def _listed(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]
