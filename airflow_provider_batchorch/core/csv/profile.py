"""Profile a CSV in one streaming pass: header, delimiter, encoding, types, row count and the chunk plan.

The stream is read block by block and never held whole. Each block is scanned with numpy: the positions of quote,
newline and delimiter bytes, the quote parity before each of them (carried across blocks), and from those the
row ends (newlines outside quotes), the field count of every row and the byte ranges of the chunks. A quote only
opens a quoted field at the start of a field, as in RFC 4180 and in both parsers that later read the chunks
(``csv`` and ``pyarrow.csv``): a block whose quotes break that rule (``5" screen``) is rescanned quote by quote.
"""

from __future__ import annotations

import csv
import io
from typing import BinaryIO, Iterator

import numpy as np

from airflow_provider_batchorch.core.csv.chunk_plan import ChunkPlanner
from airflow_provider_batchorch.core.csv.delimiter import sniff_delimiter
from airflow_provider_batchorch.core.csv.encoding import (
    EncodingFailure,
    check_start_of_file,
    check_structure_bytes_stand_alone,
    resolve_encoding,
    validator,
)
from airflow_provider_batchorch.core.csv.encoding_guess import guess_encoding
from airflow_provider_batchorch.core.csv.quote_scanner import Records, RecordScanner
from airflow_provider_batchorch.core.csv.type_inference import infer_data_types
from airflow_provider_batchorch.core.csv.chunk_reader import read_chunk_rows
from airflow_provider_batchorch.core.errors import CsvError
from airflow_provider_batchorch.core.models import CsvProfile

MAX_CHUNKS = 10_000
TYPE_SAMPLE_ROWS = 1000
SNIFF_BYTES = 64 << 10
# The type sample and the header are kept from a prefix of the file of at most this many bytes.
SAMPLE_MAX_BYTES = 16 << 20


def analyze_csv(
    stream: BinaryIO,
    *,
    uri: str,
    size_bytes: int | None = None,
    chunk_rows: int = 100,
    sample_size: int = 5,
    encoding: str | None = None,
    block_size: int = 8 << 20,
) -> CsvProfile:
    """Read ``stream`` once and describe the CSV; raise ``CsvError`` with a specific ``code`` if it is unusable.

    ``chunks`` cut the data rows into ``chunk_rows`` rows each (doubled until there are at most ``MAX_CHUNKS``;
    the profile's ``chunk_rows`` is the value used), covering ``[header_end, size_bytes)`` without gaps.
    ``size_bytes``, when known up front (an S3 ``ContentLength``), must match what the stream yields: the chunk
    offsets are only valid for that exact object.

    Error codes: EMPTY_CSV, HEADER_ONLY, HEADER_TOO_LONG, DUPLICATE_COLUMNS, EMPTY_COLUMN_NAME, RAGGED_ROWS,
    UNCLOSED_QUOTE, ENCODING_ERROR, UNSUPPORTED_ENCODING, UNSUPPORTED_LINE_ENDINGS, SIZE_MISMATCH.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    if block_size < 1:
        raise ValueError("block_size must be >= 1")
    codec = resolve_encoding(encoding)
    head, exhausted = _read_head(stream)
    data_start = check_start_of_file(head)
    sample_text = head[data_start : data_start + SNIFF_BYTES].decode(codec, errors="replace")
    delimiter = sniff_delimiter(sample_text)
    check_structure_bytes_stand_alone(codec, delimiter)

    scan = _Analysis(uri=uri, codec=codec, delimiter=delimiter, data_start=data_start, chunk_rows=chunk_rows)
    for block in _blocks(head, stream, block_size, exhausted):
        scan.feed(block)
    profile = scan.finish(sample_size)
    if size_bytes is not None and size_bytes != profile.size_bytes:
        raise CsvError(
            f"expected {size_bytes} bytes but read {profile.size_bytes}",
            code="SIZE_MISMATCH",
            hint="The file changed or the download was cut short; run the analysis again.",
        )
    return profile


def _read_head(stream: BinaryIO) -> tuple[bytes, bool]:
    """The first ``SNIFF_BYTES`` of the stream, and whether that was all of it."""
    head = _read_block(stream, SNIFF_BYTES)
    return head, len(head) < SNIFF_BYTES


def _blocks(head: bytes, stream: BinaryIO, block_size: int, exhausted: bool) -> Iterator[memoryview | bytes]:
    view = memoryview(head)
    for start in range(0, len(view), block_size):
        yield view[start : start + block_size]
    if exhausted:
        return
    while block := _read_block(stream, block_size):
        yield block


def _read_block(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes, fewer only at the end: network streams return short reads, and small blocks scan slowly."""
    block = stream.read(size)
    if not block or len(block) == size:
        return block
    parts, got = [block], len(block)
    while got < size and (part := stream.read(size - got)):
        parts.append(part)
        got += len(part)
    return b"".join(parts)


class _Analysis:
    """The state of one ``analyze_csv`` pass."""

    def __init__(self, *, uri: str, codec: str, delimiter: str, data_start: int, chunk_rows: int) -> None:
        self.uri, self.codec, self.delimiter, self.data_start = uri, codec, delimiter, data_start
        self.scanner = RecordScanner(delimiter, data_start)
        self.validator = validator(codec)
        self.planner = ChunkPlanner(chunk_rows, MAX_CHUNKS)
        self.prefix = bytearray()  # the start of the file: header and type sample
        self.collecting = True
        self.sample_end = 0  # end of the last data row of the type sample
        self.has_content = False
        self.header: tuple[int, int, int] | None = None  # start, end, field count
        self.columns: list[str] | None = None

    def feed(self, block: memoryview | bytes) -> None:
        offset = self.scanner.offset
        if not self.has_content:
            self.has_content = _has_content(block[max(0, self.data_start - offset) :])
        if self.collecting:
            self.prefix += block
        try:
            self.validator.feed(block, offset)
        except EncodingFailure as failure:
            raise self._encoding_error(failure, block, offset) from None
        self._take(self.scanner.feed(block))
        if self.collecting and (len(self.prefix) > SAMPLE_MAX_BYTES or self.planner.rows >= TYPE_SAMPLE_ROWS):
            self.collecting = False
            del self.prefix[max(self.sample_end, SNIFF_BYTES) :]

    def finish(self, sample_size: int) -> CsvProfile:
        if not self.has_content:
            raise CsvError(
                "the file is empty",
                code="EMPTY_CSV",
                hint="Upload a CSV with a header row and at least one data row.",
            )
        try:
            self.validator.finish(self.scanner.offset)
        except EncodingFailure as failure:
            raise self._encoding_error(failure, b"", self.scanner.offset) from None
        if self.scanner.in_quotes:
            raise self._unclosed_quote_error()
        self._take(self.scanner.finish())
        if self.header is None:
            raise CsvError(
                "the file has no header row", code="EMPTY_CSV", hint="Upload a CSV with a header row."
            )
        if self.columns is None:
            start, end, _ = self.header
            self.columns = _parse_header(bytes(self.prefix[start:end]), self.codec, self.delimiter)
        if self.planner.rows == 0:
            raise CsvError(
                "the file has a header row but no data rows",
                code="HEADER_ONLY",
                hint="Add at least one data row below the header.",
            )
        return self._profile(sample_size)

    def _take(self, records: Records) -> None:
        if not len(records):
            return
        if self.header is None:
            self._take_header(records)
            records = records[1:]
            if not len(records):
                return
        self._check_field_counts(records)
        if self.collecting and self.planner.rows < TYPE_SAMPLE_ROWS:
            in_sample = min(len(records), TYPE_SAMPLE_ROWS - self.planner.rows)
            self.sample_end = int(records.ends[in_sample - 1])
        self.planner.add(records.ends)

    def _take_header(self, records: Records) -> None:
        start, end = int(records.starts[0]), int(records.ends[0])
        if end > len(self.prefix):
            raise CsvError(
                f"the header row is longer than {SAMPLE_MAX_BYTES >> 20} MB",
                code="HEADER_TOO_LONG",
                hint="Check the first line of the file: it should be the column names.",
            )
        self.header = (start, end, int(records.fields[0]))
        raw = bytes(self.prefix[start:end])
        # A header of spaces may be the start of a file of only whitespace: that is EMPTY_CSV, known at the end.
        if not raw.isspace():
            self.columns = _parse_header(raw, self.codec, self.delimiter)

    def _check_field_counts(self, records: Records) -> None:
        expected = self.header[2]
        bad = np.flatnonzero(records.fields != expected)
        if not bad.size:
            return
        index = int(bad[0])
        row = self.planner.rows + index + 1
        line = self.scanner.line_number(int(records.starts[index]))
        got = int(records.fields[index])
        raise CsvError(
            f"row {row} (line {line}) has {got} fields, expected {expected} like the header",
            code="RAGGED_ROWS",
            hint="Fix that row: every row needs one value per column; quote values that contain "
            f"the delimiter {self.delimiter!r}.",
            details={"row": row, "line": line, "expected_fields": expected, "got_fields": got},
        )

    def _profile(self, sample_size: int) -> CsvProfile:
        _, header_end, _ = self.header
        sample = read_chunk_rows(
            bytes(self.prefix[header_end : self.sample_end]),
            columns=self.columns,
            delimiter=self.delimiter,
            encoding=self.codec,
        )
        line_terminator = "\r\n" if self.prefix[header_end - 2 : header_end] == b"\r\n" else "\n"
        planner = self.planner
        chunks = planner.chunks(header_end, self.scanner.offset)
        return CsvProfile(
            uri=self.uri,
            size_bytes=self.scanner.offset,
            encoding=self.codec,
            has_bom=self.data_start > 0,
            delimiter=self.delimiter,
            line_terminator=line_terminator,
            columns=self.columns,
            data_types=infer_data_types(self.columns, sample),
            row_count=planner.rows,
            sample_rows=sample[:sample_size],
            header_end=header_end,
            chunk_rows=planner.rows_per_chunk,
            chunks=chunks,
        )

    def _unclosed_quote_error(self) -> CsvError:
        offset, line = self.scanner.last_opener or (self.data_start, 1)
        return CsvError(
            f"the quoted field opened on line {line} (byte {offset}) is never closed",
            code="UNCLOSED_QUOTE",
            hint='Close that quote; a quote inside a quoted value must be doubled ("").',
            details={"line": line, "byte_offset": offset},
        )

    def _encoding_error(self, failure: EncodingFailure, block: memoryview | bytes, offset: int) -> CsvError:
        relative = failure.offset - offset
        window = bytes(block[max(0, relative - (32 << 10)) : max(0, relative) + (32 << 10)])
        guess = guess_encoding(bytes(self.prefix[:SNIFF_BYTES]) + b"\n" + window)
        line = self._line_at(failure.offset, block, offset)
        likely = f"; it looks like {guess}" if guess else ""
        example = f'e.g. "encoding": "{guess}"' if guess else "as a Python codec name"
        return CsvError(
            f"byte {failure.offset} (line {line}, bytes {failure.bad.hex(' ')}) is not valid {self.codec}{likely}",
            code="ENCODING_ERROR",
            hint=f"Re-save the file as UTF-8, or pass its encoding{',' if guess else ''} {example}.",
            details={"byte_offset": failure.offset, "line": line, "likely_encoding": guess},
        )

    def _line_at(self, position: int, block: memoryview | bytes, offset: int) -> int:
        # Called before the scanner saw ``block``. A position before it is in a character split by the block
        # boundary, which holds no newline.
        return self.scanner.lines_seen + bytes(block[: max(0, position - offset)]).count(b"\n") + 1


def _has_content(data: memoryview | bytes) -> bool:
    return len(data) > 0 and not bytes(data).isspace()


def _parse_header(raw: bytes, codec: str, delimiter: str) -> list[str]:
    text = raw.decode(codec)
    names = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    for position, name in enumerate(names, start=1):
        if not name.strip():
            raise CsvError(
                f"column {position} of the header has no name",
                code="EMPTY_COLUMN_NAME",
                hint="Give every column a name in the first row (check for a trailing delimiter).",
                details={"column_position": position},
            )
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(names, start=1):
        seen.setdefault(name, []).append(position)
    duplicates = {name: positions for name, positions in seen.items() if len(positions) > 1}
    if duplicates:
        listed = ", ".join(f"{name!r} (columns {', '.join(map(str, pos))})" for name, pos in duplicates.items())
        raise CsvError(
            f"duplicate column names: {listed}",
            code="DUPLICATE_COLUMNS",
            hint="Rename the columns so that every name in the header is unique.",
            details={"duplicates": duplicates},
        )
    return names
