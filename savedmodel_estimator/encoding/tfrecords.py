"""TFRecord framing, a batch of records at a time: written and read with C doing the per-record work.

A TFRecord is `length (8 bytes LE) | masked CRC32C of the length | data | masked CRC32C of the
data`. `frame` lays out a whole batch's records as one bytes object, and `split` finds the
records of a buffer and checks their CRCs: the CRC32Cs are computed by google-crc32c's C code
(hardware CRC32C instructions) in C loops over the batch (`map`), masked and compared by numpy.
Python code runs per record only to walk from one record's length to the next, and not even
that where consecutive records have one length (the rows of a numpy matrix then).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

import google_crc32c  # the beam extra's; C code with hardware CRC32C, or its pure-Python twin
import numpy as np

from savedmodel_estimator.encoding.byte_rows import ByteRows

# The C extension, fed in C loops over a batch; None where only the pure-Python one is built.
_extend: Callable[[int, bytes], int] | None = (
    google_crc32c.extend if google_crc32c.implementation == 'c' else None
)

_MASK_DELTA = 0xA282EAD8
_U8 = np.dtype(np.uint8)
_U32 = np.dtype('<u4')
_U64 = np.dtype('<u8')


class CorruptRecordError(ValueError):
    """TFRecord data is corrupt: a checksum does not match, or the data ends inside a record."""


def _masked(crcs: np.ndarray) -> np.ndarray:
    """TFRecord's masked CRC32C of each CRC32C (numpy uint64 in, little-endian uint32 out)."""
    rotated = ((crcs >> 15) | (crcs << 17)) & 0xFFFFFFFF
    return ((rotated + _MASK_DELTA) & 0xFFFFFFFF).astype(_U32)


def _crc32c(data: bytes) -> int:
    return (_extend or google_crc32c.extend)(0, data)


def _crc32cs(starts: Sequence[int], *columns: Sequence[bytes]) -> np.ndarray:
    """The CRC32C of each row's parts joined, continuing each row's `starts` value."""
    if _extend is not None:
        crcs: Any = starts
        for column in columns:
            crcs = map(_extend, crcs, column)
        return np.fromiter(crcs, np.uint64, len(starts))
    rows = map(b''.join, zip(*columns, strict=True))  # pragma: no cover - without google-crc32c
    return np.array([_crc32c(row) for row in rows], np.uint64)  # pragma: no cover


class _Prefix:
    """What a prefix contributes to a framed record: its bytes and their CRC32C."""

    __slots__ = ('crc', 'data')

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.crc = _crc32c(data)


def length_header(length: int) -> bytes:
    """A record's first 12 bytes: its length and the masked CRC32C of the length."""
    encoded = struct.pack('<Q', length)
    return encoded + _masked(np.array([_crc32c(encoded)], np.uint64)).tobytes()


def frame(
    records: Sequence[bytes],
    prefix: Callable[[int], bytes] | None = None,
    suffixes: ByteRows | None = None,
) -> bytes:
    """TFRecords of `prefix(len(r)) + r + suffixes[i]` for each record `r`, joined.

    Args:
        records: The records (or their middles, between a prefix and a suffix).
        prefix: Bytes before each record, a function of its length only (called per length).
        suffixes: Bytes after each record.
    """
    size = len(records)
    if not size:
        return b''
    lengths = list(map(len, records))
    tails = suffixes.tolist() if suffixes is not None else [b''] * size
    prefixes = {n: _Prefix(prefix(n) if prefix is not None else b'') for n in set(lengths)}
    width = suffixes.width if suffixes is not None else 0
    if width is not None:  # every suffix as long: the length header depends on `n` only
        heads = {n: length_header(len(p.data) + n + width) + p.data for n, p in prefixes.items()}
        head_list = list(map(heads.__getitem__, lengths))
    else:
        head_list = [
            length_header(len(prefixes[n].data) + n + len(tail)) + prefixes[n].data
            for n, tail in zip(lengths, tails, strict=True)
        ]
    if _extend is not None:  # each CRC continues from its prefix's
        starts = list(map({n: p.crc for n, p in prefixes.items()}.__getitem__, lengths))
        crcs = _masked(_crc32cs(starts, records, tails))
    else:  # pragma: no cover - Beam's CRC over each whole record
        datas = [prefixes[n].data + r for n, r in zip(lengths, records, strict=True)]
        crcs = _masked(_crc32cs([0] * size, datas, tails))
    pieces: list[Any] = [None] * (4 * size)
    pieces[0::4] = head_list
    pieces[1::4] = records
    pieces[2::4] = tails
    pieces[3::4] = crcs.view(np.dtype((np.void, 4))).tolist()
    return b''.join(pieces)


def _check(stored: np.ndarray, computed: np.ndarray, what: str, first: int) -> None:
    bad = np.flatnonzero(stored != computed)
    if len(bad):
        raise CorruptRecordError(f'the {what} checksum of record {first + int(bad[0])} is wrong')


def _same_length_run(data: bytes, position: int) -> tuple[int, int]:
    """(length, count): how many whole records from `position` on have the first one's length."""
    (length,) = struct.unpack_from('<Q', data, position)
    stride = length + 16
    count = (len(data) - position) // stride
    if count < 2:
        return length, count
    lengths: np.ndarray = np.ndarray((count,), _U64, data, position, (stride,))
    unequal = np.flatnonzero(lengths != length)
    return length, int(unequal[0]) if len(unequal) else count


def _run_of_one_length(
    data: bytes, position: int, length: int, count: int, first: int
) -> list[bytes]:
    """`count` records of `length` bytes from `position` on, checked: rows of a matrix."""
    stride = length + 16
    rows: np.ndarray = np.ndarray((count, stride), _U8, data, position)
    want = _masked(np.array([_crc32c(struct.pack('<Q', length))], np.uint64))
    _check(rows[:, 8:12].copy().view(_U32).ravel(), want, 'length', first)
    body = rows[:, 12 : 12 + length]
    records = body.view(np.dtype((np.void, length))).ravel().tolist() if length else [b''] * count
    computed = _masked(_crc32cs([0] * count, records))
    _check(rows[:, 12 + length :].copy().view(_U32).ravel(), computed, 'data', first)
    return records


def _walk(data: bytes, position: int, first: int) -> tuple[list[bytes], int]:
    """The whole records from `position` on, of any lengths, checked; and where they end."""
    lengths, end, unpack = [], len(data), struct.unpack_from
    while end - position >= 16:
        (length,) = unpack('<Q', data, position)
        if end - position < length + 16:
            break
        lengths.append(length)
        position += length + 16
    if not lengths:
        return [], position
    sizes = np.array(lengths, np.int64)
    starts = position - np.cumsum(sizes[::-1] + 16)[::-1]
    raw = np.frombuffer(data, _U8)
    headers = {n: _crc32c(struct.pack('<Q', n)) for n in set(lengths)}
    want = _masked(np.fromiter(map(headers.__getitem__, lengths), np.uint64, len(lengths)))
    stored = raw[starts[:, None] + np.arange(8, 12)].view(_U32).ravel()
    _check(stored, want, 'length', first)
    bodies = starts + 12
    records = list(map(data.__getitem__, map(slice, bodies.tolist(), (bodies + sizes).tolist())))
    stored = raw[(bodies + sizes)[:, None] + np.arange(4)].view(_U32).ravel()
    _check(stored, _masked(_crc32cs([0] * len(records), records)), 'data', first)
    return records, position


# A run of at least this many records of one length is read as a matrix, not walked.
_MIN_RUN = 16


def split(data: bytes, first_index: int = 0) -> tuple[list[bytes], int]:
    """The whole records at the start of `data`, checked, and the bytes they take.

    Args:
        data: TFRecord framing; it may end inside a record (the rest of it comes later).
        first_index: The index of the first record, for error messages.

    Raises:
        CorruptRecordError: a length or data checksum does not match.
    """
    records: list[bytes] = []
    position = 0
    while len(data) - position >= 16:
        length, count = _same_length_run(data, position)
        first = first_index + len(records)
        if count >= _MIN_RUN:
            records += _run_of_one_length(data, position, length, count, first)
            position += count * (length + 16)
        else:
            walked, position = _walk(data, position, first)
            records += walked
            break
    return records, position
