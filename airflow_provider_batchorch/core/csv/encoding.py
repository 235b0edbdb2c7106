"""Which codec a CSV is read with, whether rows can be cut by bytes in it, and block-by-block validation."""

from __future__ import annotations

import codecs

import numpy as np
import pyarrow as pa

from airflow_provider_batchorch.core.errors import CsvError

UTF8_BOM = codecs.BOM_UTF8
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_ASCII_PROBE = "\n\r\",;\t|+-=@ azAZ09"


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


def check_structure_bytes_stand_alone(codec: str, delimiter: str) -> None:
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


def check_start_of_file(head: bytes) -> int:
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
                raise EncodingFailure(offset + error.start, raw[error.start : error.start + 4]) from None
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
            raise EncodingFailure(offset - buffered + error.start, bad) from None


class _NoValidator:
    def feed(self, block: memoryview | bytes, offset: int) -> None:
        pass

    def finish(self, offset: int) -> None:
        pass


class EncodingFailure(Exception):
    def __init__(self, offset: int, bad: bytes) -> None:
        super().__init__(offset)
        self.offset = offset
        self.bad = bad


def validator(codec: str) -> _Utf8Validator | _CodecValidator | _NoValidator:
    if codec == "utf-8":
        return _Utf8Validator()
    if codec == "iso8859-1":
        return _NoValidator()  # every byte is a latin-1 character
    return _CodecValidator(codec)
