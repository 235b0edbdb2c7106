"""CSV text streamed from and to S3: memory holds a buffer, not the file."""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Iterator
from typing import TextIO

from airflow_provider_batchorch.core.s3_uri import parse_s3_uri


@contextlib.contextmanager
def s3_text_reader(s3, uri: str, encoding: str = "utf-8-sig") -> Iterator[TextIO]:
    """The object as text (default UTF-8, a BOM skipped), universal newlines off as the csv module wants."""
    bucket, key = parse_s3_uri(uri)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    with contextlib.closing(body):
        yield io.TextIOWrapper(body, encoding=encoding, newline="")


@contextlib.contextmanager
def s3_text_writer(s3, uri: str, content_type: str = "text/csv") -> Iterator[TextIO]:
    """A text stream spooled to a temporary file and uploaded to ``uri`` when the block ends without error."""
    bucket, key = parse_s3_uri(uri)
    with tempfile.TemporaryFile() as spool:
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
        yield text
        text.detach()  # flushes; the spool stays open
        spool.seek(0)
        s3.upload_fileobj(spool, bucket, key, ExtraArgs={"ContentType": content_type})


def s3_object_text(s3, uri: str) -> str:
    """A small object (a registry file, say) as one string, a BOM skipped."""
    with s3_text_reader(s3, uri) as text:
        return text.read()
