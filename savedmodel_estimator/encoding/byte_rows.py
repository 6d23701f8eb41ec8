"""One byte string per record of a batch, built for the whole batch at once.

The PredictionLogs of a batch differ from record to record in a few places only (the record,
its scores); the rest is the same bytes in every row. `ByteRows` holds a batch's byte strings
as an (N, width) uint8 matrix when they all have one width, so that constant parts, headers
and values are laid out by numpy for all rows in one operation, and as a list of bytes when
their widths differ (a string output, a varint), joined row by row in C loops (`map`, `zip`).
Either way no Python code runs per record.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import numpy as np

_U8 = np.dtype(np.uint8)


def encode_varint(value: int) -> bytes:
    """A non-negative int as a protobuf base-128 varint."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# Lengths below 16 KiB (nearly every record and tensor) are looked up, not encoded in Python.
_SHORT_VARINTS = [encode_varint(n) for n in range(1 << 14)]


def varint(value: int) -> bytes:
    return _SHORT_VARINTS[value] if value < 16384 else encode_varint(value)


class ByteRows:
    """N byte strings: a uint8 matrix (`matrix`, one width) or a list (`items`)."""

    __slots__ = ('items', 'matrix', 'size')

    def __init__(
        self, size: int, matrix: np.ndarray | None = None, items: list[bytes] | None = None
    ) -> None:
        self.size = size
        self.matrix = matrix
        self.items = items

    @classmethod
    def of(cls, matrix: np.ndarray) -> ByteRows:
        """Rows from a matrix whose rows are each record's bytes (any dtype, C order)."""
        rows = np.ascontiguousarray(matrix).view(_U8).reshape(len(matrix), -1)
        return cls(len(matrix), matrix=rows)

    @classmethod
    def of_list(cls, items: list[bytes]) -> ByteRows:
        return cls(len(items), items=items)

    @property
    def width(self) -> int | None:
        """The width every row has, or None when they differ."""
        return None if self.matrix is None else self.matrix.shape[1]

    def tolist(self) -> list[bytes]:
        if self.items is not None:
            return self.items
        assert self.matrix is not None
        width = self.matrix.shape[1]
        if width == 0:
            return [b''] * self.size
        # A void scalar converts to bytes as it is (an 'S' dtype would drop trailing zeros).
        return self.matrix.view(np.dtype((np.void, width))).ravel().tolist()


Part = bytes | ByteRows


def concat(size: int, parts: Sequence[Part]) -> ByteRows:
    """Each row: the parts' rows (constant bytes are the same in every row) one after another."""
    if all(isinstance(p, bytes) or p.matrix is not None for p in parts):
        widths = [len(p) if isinstance(p, bytes) else p.width or 0 for p in parts]
        matrix = np.empty((size, sum(widths)), _U8)  # C order: rows are contiguous bytes
        start = 0
        for part, width in zip(parts, widths, strict=True):
            block = np.frombuffer(part, _U8) if isinstance(part, bytes) else part.matrix
            assert block is not None  # every part is bytes or a matrix: checked above
            matrix[:, start : start + width] = block
            start += width
        return ByteRows(size, matrix=matrix)
    columns = [itertools.repeat(p, size) if isinstance(p, bytes) else p.tolist() for p in parts]
    return ByteRows.of_list(list(map(b''.join, zip(*columns, strict=True))))


@functools.lru_cache(maxsize=8192)
def headers(path: tuple[bytes, ...], length: int) -> bytes:
    """The keys and lengths that wrap a payload of `length` bytes in the nested fields `path`."""
    out = []
    for tag in reversed(path):
        header = tag + varint(length)
        out.append(header)
        length += len(header)
    return b''.join(reversed(out))


def nest(path: tuple[bytes, ...], rows: ByteRows) -> ByteRows:
    """Each row as the payload of the nested length-delimited fields `path` (outermost first)."""
    if rows.matrix is not None:
        return concat(rows.size, [headers(path, rows.matrix.shape[1]), rows])
    items = rows.tolist()
    heads = map(headers, itertools.repeat(path), map(len, items))
    return ByteRows.of_list(list(map(bytes.__add__, heads, items)))
