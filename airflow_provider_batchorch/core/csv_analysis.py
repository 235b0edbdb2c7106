"""Profile a CSV in one streaming pass: header, delimiter, encoding, types, row count and the chunk plan.

The stream is read block by block and never held whole. Each block is scanned with numpy: the positions of quote,
newline and delimiter bytes, the quote parity before each of them (carried across blocks), and from those the
row ends (newlines outside quotes), the field count of every row and the byte ranges of the chunks. A quote only
opens a quoted field at the start of a field, as in RFC 4180 and in both parsers that later read the chunks
(``csv`` and ``pyarrow.csv``): a block whose quotes break that rule (``5" screen``) is rescanned quote by quote.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO, Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa

from airflow_provider_batchorch.core.csv_chunks import read_chunk_rows
from airflow_provider_batchorch.core.errors import CsvError
from airflow_provider_batchorch.core.models import ChunkSpec, CsvProfile, DataType

MAX_CHUNKS = 10_000
TYPE_SAMPLE_ROWS = 1000
SNIFF_BYTES = 64 << 10
DELIMITERS = ",;\t|"
# The type sample and the header are kept from a prefix of the file of at most this many bytes.
SAMPLE_MAX_BYTES = 16 << 20

QUOTE, LF, CR = ord('"'), ord("\n"), ord("\r")
UTF8_BOM = codecs.BOM_UTF8
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_QUOTED = re.compile(r'"[^"]*"?')  # a quoted value, or an unclosed one up to the end
_ASCII_PROBE = "\n\r\",;\t|+-=@ azAZ09"


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
    data_start = _check_start_of_file(head)
    sample_text = head[data_start : data_start + SNIFF_BYTES].decode(codec, errors="replace")
    delimiter = sniff_delimiter(sample_text)
    _check_structure_bytes_stand_alone(codec, delimiter)

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


def resolve_encoding(encoding: str | None) -> str:
    """The Python codec name for ``encoding`` (default UTF-8); only ASCII-compatible encodings can be chunked."""
    if encoding is None:
        return "utf-8"
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise CsvError(
            f"unknown encoding {encoding!r}",
            code="UNSUPPORTED_ENCODING",
            hint='Give a Python codec name, e.g. "encoding": "cp1252", or leave it out for UTF-8.',
        ) from None
    if name == "utf-8-sig":
        return "utf-8"
    if not _is_ascii_compatible(name) or name.startswith("iso2022") or name == "hz":
        raise CsvError(
            f"the {name} encoding is not supported",
            code="UNSUPPORTED_ENCODING",
            hint="Convert the file to UTF-8 (e.g. Excel: Save As > CSV UTF-8) and upload it again.",
        )
    return name


def _check_structure_bytes_stand_alone(codec: str, delimiter: str) -> None:
    """Reject a codec in which the delimiter, quote or newline byte can end a multi-byte character.

    Shift-JIS, GBK and Big5 characters may end with 0x7C, the byte of ``|``: such a file cannot be cut by bytes.
    """
    for char in {delimiter, '"', "\n", "\r"}:
        for lead in range(0x80, 0x100):
            try:
                inside = len(bytes([lead, ord(char)]).decode(codec)) == 1
            except UnicodeDecodeError:
                continue
            if inside:
                raise CsvError(
                    f"in {codec} the byte of {char!r} can be part of a character, so rows cannot be cut by bytes",
                    code="UNSUPPORTED_ENCODING",
                    hint="Re-save the file as UTF-8, or with a comma or semicolon as the delimiter.",
                )


def _is_ascii_compatible(codec: str) -> bool:
    # Chunks are cut at byte offsets of '\n', '"' and the delimiter: they must be those ASCII bytes and nothing else.
    try:
        return _ASCII_PROBE.encode(codec) == _ASCII_PROBE.encode("ascii")
    except UnicodeError:
        return False


def sniff_delimiter(sample: str) -> str:
    """The delimiter of ``sample`` (the start of the file), one of ``,;\\t|``; ``,`` when unsure."""
    if "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]
    # The Sniffer's quote patterns (``.*?`` across lines) take seconds on 64 KB when quoted values end lines.
    # Without quotes it goes straight to its linear per-line frequency count, which also no longer sees
    # delimiters inside quoted values.
    sample = _QUOTED.sub("x", sample).replace("'", "x")
    header = sample.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ""
    if delimiter and delimiter in header:
        return delimiter
    # The sniffer failed or chose a character the header does not even contain: trust the header.
    counts = {candidate: header.count(candidate) for candidate in DELIMITERS}
    best = max(counts, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","


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


def _check_start_of_file(head: bytes) -> int:
    """The offset where the CSV text starts (after a UTF-8 BOM); reject UTF-16/32 files."""
    for bom in _WIDE_BOMS:
        if head.startswith(bom):
            raise _wide_encoding_error()
    # Without a BOM, UTF-16/32 text shows as NUL bytes between ASCII characters.
    if head and head.count(0) > len(head) // 4:
        raise _wide_encoding_error()
    return len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0


def _wide_encoding_error() -> CsvError:
    return CsvError(
        "the file is UTF-16 or UTF-32 encoded, which cannot be split into byte-range chunks",
        code="UNSUPPORTED_ENCODING",
        hint="Re-save the file as UTF-8 (e.g. Excel: Save As > CSV UTF-8) and upload it again.",
    )


# --------------------------------------------------------------------------------------------------- scanning


@dataclass
class _Records:
    """The non-blank records that ended in one block, as absolute byte offsets."""

    starts: np.ndarray
    ends: np.ndarray  # just past the record's newline (or the end of the file)
    fields: np.ndarray

    @classmethod
    def empty(cls) -> "_Records":
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64))

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, key: slice) -> "_Records":
        return _Records(self.starts[key], self.ends[key], self.fields[key])


class _RecordScanner:
    """Finds record boundaries and field counts block by block, carrying the parser state across blocks."""

    def __init__(self, delimiter: str, data_start: int) -> None:
        self._delim = ord(delimiter)
        self._data_start = data_start
        self.offset = 0  # absolute offset of the next block
        self.in_quotes = False
        self._prev_byte = LF
        self._prev_byte_toggled = False  # the previous block ended with a quote that opened or closed a field
        self._cr_pending = False  # the previous block ended with an unquoted '\r'
        self._last_row_end = data_start - 1  # absolute offset of the last '\n' that ended a (maybe blank) row
        self._open_delims = 0  # unquoted delimiters seen in the record still open
        self._lines_before = 0  # '\n' bytes before the next block
        self._open_line = 1  # line on which the record still open starts
        # The last block fed, for line numbers in error messages.
        self._block_start, self._block_lines_before, self._block_open_line = 0, 0, 1
        self._newlines = np.empty(0, np.int64)  # every '\n' of the block, relative
        self.last_opener: tuple[int, int] | None = None  # (offset, line) of the quote that opened the open field

    @property
    def lines_seen(self) -> int:
        """How many newline bytes came before the next block."""
        return self._lines_before

    def feed(self, block: memoryview | bytes) -> _Records:
        a = np.frombuffer(block, np.uint8)
        special = np.flatnonzero((a == QUOTE) | (a == LF) | (a == self._delim))
        kinds = a[special]
        toggles, quoted = self._quote_toggles(a, special, kinds)
        is_lf = kinds == LF
        newlines = special[is_lf]
        row_ends = special[is_lf & (quoted == 0)]
        delims = special[(kinds == self._delim) & (quoted == 0)]
        self._check_carriage_returns(a, newlines, special[toggles])

        self._block_start, self._block_lines_before = self.offset, self._lines_before
        self._block_open_line, self._newlines = self._open_line, newlines
        records = self._records(a, row_ends, delims)
        if quoted.size:
            self.in_quotes = bool(quoted[-1])
        if self.in_quotes and toggles.any():
            self._remember_last_opener(int(special[toggles][-1]))
        self._lines_before += len(newlines)
        if len(a):
            self._prev_byte = int(a[-1])
            self._prev_byte_toggled = bool(toggles.size and toggles[-1] and special[-1] == len(a) - 1)
            self._cr_pending = self._prev_byte == CR and not self.in_quotes
        self.offset += len(a)
        return records

    def finish(self) -> _Records:
        """The last record when the file does not end with a newline."""
        self._block_start, self._block_open_line = self.offset, self._open_line
        tail = self.offset - (self._last_row_end + 1)
        if self.in_quotes or tail <= 0 or (tail == 1 and self._prev_byte == CR):
            return _Records.empty()
        return _Records(
            np.array([self._last_row_end + 1]), np.array([self.offset]), np.array([self._open_delims + 1])
        )

    def line_number(self, position: int) -> int:
        """1-based line of ``position``: a position in the last block fed, or the start of the record open before."""
        if position >= self._block_start:
            relative = position - self._block_start
            return self._block_lines_before + int(np.searchsorted(self._newlines, relative)) + 1
        return self._block_open_line

    def _quote_toggles(self, a: np.ndarray, special: np.ndarray, kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which special bytes are quotes that open or close a field, and the quote parity after each special byte.

        The parity of a newline or a delimiter says whether it lies inside quotes.
        """
        toggles = kinds == QUOTE
        if not toggles.any():
            return toggles, np.full(len(special), self.in_quotes, np.int32)
        quoted = _parity(toggles, self.in_quotes)
        if not self._at_field_starts(a, special[toggles & (quoted == 1)]):
            toggles = self._exact_toggles(a, special, toggles)
            quoted = _parity(toggles, self.in_quotes)
        return toggles, quoted

    def _at_field_starts(self, a: np.ndarray, openers: np.ndarray) -> bool:
        """Whether every quote that parity says opens a quoted field stands at the start of a field.

        A quote may follow a quote: the second of an escaped pair, assuming the first one toggled. Had the first
        been literal, it would itself be an opener that is not at a field start, and fail this check.
        """
        if not openers.size:
            return True
        before = a[openers - 1]  # openers[0] == 0 reads a[-1]: replaced below
        ok = (before == self._delim) | (before == LF) | (before == QUOTE)
        if openers[0] == 0:
            ok[0] = self._previous_block_ends_a_field()
        if self.offset <= self._data_start < self.offset + len(a):
            ok |= openers == self._data_start - self.offset
        return bool(ok.all())

    def _previous_block_ends_a_field(self) -> bool:
        previous = self._prev_byte
        return previous in (self._delim, LF) or (previous == QUOTE and self._prev_byte_toggled)

    def _exact_toggles(self, a: np.ndarray, special: np.ndarray, is_quote: np.ndarray) -> np.ndarray:
        # Slow path, only for blocks with a quote inside an unquoted field: such a quote is a literal character.
        positions = special[is_quote]
        before = self._bytes_before(a, positions).tolist()
        in_quotes, last_toggle = self.in_quotes, -1 if self._prev_byte_toggled else -2
        keep = np.zeros(len(positions), np.bool_)
        for index, (position, previous) in enumerate(zip(positions.tolist(), before)):
            if not in_quotes:
                field_start = (
                    previous == self._delim
                    or previous == LF
                    or (previous == QUOTE and last_toggle == position - 1)
                    or position + self.offset == self._data_start
                )
                if not field_start:
                    continue
            keep[index] = True
            in_quotes = not in_quotes
            last_toggle = position
        toggles = np.zeros(len(special), np.bool_)
        toggles[np.flatnonzero(is_quote)[keep]] = True
        return toggles

    def _bytes_before(self, a: np.ndarray, positions: np.ndarray) -> np.ndarray:
        before = a[positions - 1]
        if positions.size and positions[0] == 0:
            before[0] = self._prev_byte
        return before

    def _records(self, a: np.ndarray, row_ends: np.ndarray, delims: np.ndarray) -> _Records:
        if not row_ends.size:
            self._open_delims += len(delims)
            return _Records.empty()
        ends = row_ends + self.offset
        previous = np.concatenate(([self._last_row_end], ends[:-1]))
        gap = ends - previous
        # A blank row is an empty line or a lone '\r' before the '\n'.
        blank = (gap == 1) | ((gap == 2) & (self._bytes_before(a, row_ends) == CR))
        delims_before = np.searchsorted(delims, row_ends)
        fields = np.diff(delims_before, prepend=0) + 1
        fields[0] += self._open_delims
        self._open_delims = len(delims) - int(delims_before[-1])
        self._last_row_end = int(ends[-1])
        last_line_of_block = int(np.searchsorted(self._newlines, row_ends[-1], side="right"))
        self._open_line = self._lines_before + last_line_of_block + 1
        keep = ~blank
        return _Records(previous[keep] + 1, ends[keep] + 1, fields[keep])

    def _remember_last_opener(self, position: int) -> None:
        # The block ends inside quotes, so its last toggling quote opened the field still open.
        line = self._lines_before + int(np.searchsorted(self._newlines, position)) + 1
        self.last_opener = (position + self.offset, line)

    def _check_carriage_returns(self, a: np.ndarray, newlines: np.ndarray, toggles: np.ndarray) -> None:
        """Reject a '\\r' outside quotes that is not followed by '\\n': parsers read it as a row end, we do not."""
        if self._cr_pending and len(a) and a[0] != LF:
            raise self._bare_cr_error(self.offset - 1)
        carriage_returns = int(np.count_nonzero(a == CR))
        if not carriage_returns:
            return
        inner = newlines[newlines > 0]
        crlf = int(np.count_nonzero(a[inner - 1] == CR))
        if carriage_returns == crlf + (a[-1] == CR):
            return
        candidates = np.flatnonzero(a[:-1] == CR)
        bare = candidates[a[candidates + 1] != LF]
        unquoted = bare[((np.searchsorted(toggles, bare) + self.in_quotes) & 1) == 0]
        if unquoted.size:
            raise self._bare_cr_error(int(unquoted[0]) + self.offset)

    def _bare_cr_error(self, position: int) -> CsvError:
        return CsvError(
            f"byte {position} is a carriage return (\\r) that is not followed by a newline (\\n)",
            code="UNSUPPORTED_LINE_ENDINGS",
            hint="Re-save the file with Windows (CRLF) or Unix (LF) line endings.",
            details={"byte_offset": position},
        )


def _parity(toggles: np.ndarray, in_quotes: bool) -> np.ndarray:
    """Quote parity after each position (1: inside quotes).

    int32 is the fastest cumulative sum here (about 4x int64); wrapping at 2**32 keeps the parity.
    """
    return (np.cumsum(toggles, dtype=np.int32) + np.int32(in_quotes)) & 1


# ------------------------------------------------------------------------------------------------- encodings


class _Utf8Validator:
    """Validates UTF-8 block by block with Arrow's vectorised check; Python only locates an error."""

    def __init__(self) -> None:
        self._carry = b""  # the start of a character cut by the end of the previous block

    def feed(self, block: memoryview | bytes, offset: int) -> None:
        start = offset - len(self._carry)
        data = self._carry + bytes(block) if self._carry else block
        complete = _complete_utf8_prefix(data)
        self._check(memoryview(data)[:complete], start)
        self._carry = bytes(memoryview(data)[complete:])

    def finish(self, offset: int) -> None:
        self._check(self._carry, offset - len(self._carry))

    @staticmethod
    def _check(data: memoryview | bytes, offset: int) -> None:
        if not len(data):
            return
        offsets = pa.py_buffer(np.array([0, len(data)], np.int64))
        array = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
        try:
            array.validate(full=True)
        except pa.ArrowInvalid:
            raw = bytes(data)
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise _EncodingFailure(offset + error.start, raw[error.start : error.start + 4]) from None
            raise


def _complete_utf8_prefix(data: memoryview | bytes) -> int:
    """How many bytes of ``data`` hold whole characters: a character may be cut at the end of a block."""
    for index in range(len(data) - 1, max(len(data) - 4, 0) - 1, -1):
        byte = data[index]
        if byte < 0x80:
            return index + 1
        if byte >= 0xC0:  # a lead byte: its character may be incomplete, carry it to the next block
            return index
    return len(data)


class _CodecValidator:
    def __init__(self, codec: str) -> None:
        self._decoder = codecs.getincrementaldecoder(codec)()

    def feed(self, block: memoryview | bytes, offset: int) -> None:
        self._decode(bytes(block), offset, final=False)

    def finish(self, offset: int) -> None:
        self._decode(b"", offset, final=True)

    def _decode(self, data: bytes, offset: int, *, final: bool) -> None:
        buffered = len(self._decoder.getstate()[0])  # bytes of a character cut by the previous block
        try:
            self._decoder.decode(data, final)
        except UnicodeDecodeError as error:
            bad = bytes(error.object[error.start : error.start + 4])
            raise _EncodingFailure(offset - buffered + error.start, bad) from None


class _NoValidator:
    def feed(self, block: memoryview | bytes, offset: int) -> None:
        pass

    def finish(self, offset: int) -> None:
        pass


class _EncodingFailure(Exception):
    def __init__(self, offset: int, bad: bytes) -> None:
        super().__init__(offset)
        self.offset = offset
        self.bad = bad


def _validator(codec: str) -> _Utf8Validator | _CodecValidator | _NoValidator:
    if codec == "utf-8":
        return _Utf8Validator()
    if codec == "iso8859-1":
        return _NoValidator()  # every byte is a latin-1 character
    return _CodecValidator(codec)


# When charset-normalizer cannot tell codecs apart (a few accented letters decode to letters in many of them:
# Latin-1's "£" is cp1250's "Ł"), the more widely used one is the better bet; listed by use, most used first.
_COMMON_CODECS = ("cp1252", "iso8859-15", "iso8859-1", "cp1251", "cp1250", "shift_jis", "gb18030", "euc_kr",
                  "big5", "cp1253", "cp1254", "cp1256", "cp1255", "cp1257", "cp1258", "koi8-r", "iso8859-2")
# Scripts that one word may mix (Japanese writes kanji and kana together).
_SCRIPT_FAMILIES = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK", "HALFWIDTH": "CJK", "FULLWIDTH": "CJK"}
_WORD = re.compile(r"[^\W\d_]+")
_LETTER_BY_DIGIT = re.compile(r"[^\W\d_\x00-\x7f][0-9]|[0-9][^\W\d_\x00-\x7f]")
_INSIDE_WORD = re.compile(r"(?<=[^\W\d_])([^\x00-\x7f])(?=[^\W\d_])")
# Differences charset-normalizer's scores show on a short sample and that say nothing (measured on CSVs of a
# few accented words: Latin-1 scored 0.0 to 0.05 below cp1250 in mess and coherence alike).
_CHAOS_TIE = 0.05
_COHERENCE_TIE = 0.1


def _guess_encoding(sample: bytes) -> str | None:
    """A codec that decodes ``sample`` to plausible text, or ``None`` when there is none or several disagree.

    charset-normalizer ranks the candidates; a decoding with control or unassigned characters, or with a word
    that mixes scripts (an Arabic letter inside a Latin word), is not plausible. Among candidates ranked alike
    that decode the bytes differently, the most used codec wins; when none of them is a common one, no guess.
    """
    import charset_normalizer

    matches = [match for match in charset_normalizer.from_bytes(sample) if _plausible(str(match))]
    if not matches or matches[0].encoding in ("utf_8", "ascii"):
        return None
    best = matches[0]
    tied = [m for m in matches
            if m.chaos <= best.chaos + _CHAOS_TIE and m.coherence >= best.coherence - _COHERENCE_TIE]
    decodings = {str(m) for m in tied}
    candidates = {_codec_name(name): str(m) for m in reversed(tied) for name in [m.encoding, *m.could_be_from_charset]}
    for codec in _COMMON_CODECS:
        if codec in candidates and _plausible(candidates[codec]):
            return codec
    return _codec_name(best.encoding) if len(decodings) == 1 else None


def _codec_name(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name


def _plausible(text: str) -> bool:
    """No control, private or unassigned character beyond ASCII, no word that mixes scripts, no accented letter
    against a digit ("Ł12" is cp1250 for Latin-1's "£12"), no symbol inside a word ("¿ó³k" is cp1252 for "Żółk")."""
    if any(unicodedata.category(ch) in ("Cc", "Cn", "Co", "Cs") for ch in text if not ch.isascii()):
        return False
    if _LETTER_BY_DIGIT.search(text) or any(_is_symbol(m.group(1)) for m in _INSIDE_WORD.finditer(text)):
        return False
    return all(len(_scripts(word)) == 1 for word in _WORD.findall(text) if not word.isascii())


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch) in ("Sc", "Sk", "Sm", "So", "No")


def _scripts(word: str) -> set[str]:
    names = (unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0] for ch in word)
    return {_SCRIPT_FAMILIES.get(name, name) for name in names}


# ---------------------------------------------------------------------------------------------- the analysis


class _ChunkPlanner:
    """Keeps the byte offset after every ``rows_per_chunk``-th data row; doubles the rows when there are too many."""

    def __init__(self, rows_per_chunk: int, max_chunks: int) -> None:
        self.rows_per_chunk = rows_per_chunk
        self._max_chunks = max_chunks
        self._cuts: list[int] = []
        self.rows = 0

    def add(self, ends: np.ndarray) -> None:
        first = (-self.rows - 1) % self.rows_per_chunk
        self._cuts.extend(ends[first :: self.rows_per_chunk].tolist())
        self.rows += len(ends)
        while len(self._cuts) > self._max_chunks:
            self._double()

    def chunks(self, start: int, end: int) -> list[ChunkSpec]:
        while math.ceil(self.rows / self.rows_per_chunk) > self._max_chunks:
            self._double()
        count = math.ceil(self.rows / self.rows_per_chunk)
        bounds = [start, *self._cuts[: count - 1], end]
        return [
            ChunkSpec(
                chunk=index,
                start=bounds[index],
                end=bounds[index + 1],
                rows=min(self.rows_per_chunk, self.rows - index * self.rows_per_chunk),
                first_row=index * self.rows_per_chunk,
            )
            for index in range(count)
        ]

    def _double(self) -> None:
        # The cut after row 2k*(j+1) is the cut after row k*(2j+2): every second one.
        self._cuts = self._cuts[1::2]
        self.rows_per_chunk *= 2


class _Analysis:
    """The state of one ``analyze_csv`` pass."""

    def __init__(self, *, uri: str, codec: str, delimiter: str, data_start: int, chunk_rows: int) -> None:
        self.uri, self.codec, self.delimiter, self.data_start = uri, codec, delimiter, data_start
        self.scanner = _RecordScanner(delimiter, data_start)
        self.validator = _validator(codec)
        self.planner = _ChunkPlanner(chunk_rows, MAX_CHUNKS)
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
        except _EncodingFailure as failure:
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
        except _EncodingFailure as failure:
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

    def _take(self, records: _Records) -> None:
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

    def _take_header(self, records: _Records) -> None:
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

    def _check_field_counts(self, records: _Records) -> None:
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

    def _encoding_error(self, failure: _EncodingFailure, block: memoryview | bytes, offset: int) -> CsvError:
        relative = failure.offset - offset
        window = bytes(block[max(0, relative - (32 << 10)) : max(0, relative) + (32 << 10)])
        guess = _guess_encoding(bytes(self.prefix[:SNIFF_BYTES]) + b"\n" + window)
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


# ------------------------------------------------------------------------------------------------------ types

_INTEGER = re.compile(r"[+-]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[+-]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?[0-9]+[eE][+-]?[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_BOOLEANS = {"true", "false", "yes", "no"}


def infer_data_types(columns: list[str], rows: list[dict[str, str]]) -> dict[str, DataType]:
    return {name: infer_data_type(row[name] for row in rows) for name in columns}


def infer_data_type(values: Iterable[str]) -> DataType:
    """The narrowest type every non-empty value fits; integers with leading zeros (IDs, ZIP codes) are strings."""
    kinds = {_value_kind(value.strip()) for value in values if value.strip()}
    if not kinds:
        return "empty"
    if len(kinds) == 1:
        return kinds.pop()
    if kinds == {"integer", "float"}:
        return "float"
    if kinds == {"date", "datetime"}:
        return "datetime"
    return "string"


def _value_kind(value: str) -> DataType:
    if value.lower() in _BOOLEANS:
        return "boolean"
    if _INTEGER.fullmatch(value):
        return "integer"
    if _FLOAT.fullmatch(value):
        return "float"
    if _DATE.fullmatch(value) and _parses(date.fromisoformat, value):
        return "date"
    if _DATETIME.fullmatch(value) and _parses(datetime.fromisoformat, value):
        return "datetime"
    return "string"


def _parses(parse: Callable[[str], object], value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True
