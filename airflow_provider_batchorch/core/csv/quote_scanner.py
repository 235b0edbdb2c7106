"""Record boundaries and field counts of CSV blocks, found with numpy from the quote parity (RFC 4180 quotes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from airflow_provider_batchorch.core.errors import CsvError

QUOTE, LF, CR = ord('"'), ord("\n"), ord("\r")


@dataclass
class Records:
    """The non-blank records that ended in one block, as absolute byte offsets."""

    starts: np.ndarray
    ends: np.ndarray  # just past the record's newline (or the end of the file)
    fields: np.ndarray

    @classmethod
    def empty(cls) -> "Records":
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64))

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, key: slice) -> "Records":
        return Records(self.starts[key], self.ends[key], self.fields[key])


class RecordScanner:
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

    def feed(self, block: memoryview | bytes) -> Records:
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

    def finish(self) -> Records:
        """The last record when the file does not end with a newline."""
        self._block_start, self._block_open_line = self.offset, self._open_line
        tail = self.offset - (self._last_row_end + 1)
        if self.in_quotes or tail <= 0 or (tail == 1 and self._prev_byte == CR):
            return Records.empty()
        return Records(
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

    def _records(self, a: np.ndarray, row_ends: np.ndarray, delims: np.ndarray) -> Records:
        if not row_ends.size:
            self._open_delims += len(delims)
            return Records.empty()
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
        return Records(previous[keep] + 1, ends[keep] + 1, fields[keep])

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
