"""TFRecord files read as batches of records, on a background thread, at a fraction of tf.data's cost.

tf.data's TFRecordDataset costs ~3.5 µs of CPU per 360-byte tf.Example here (its gzip stream,
a tensor per record, a numpy object array per batch); inflating with zlib and splitting the
records a chunk at a time (`tfrecords.split`: C loops and numpy over the chunk) costs about half,
checksums checked as TensorFlow checks them. The file is read and inflated on a thread of its
own (zlib and file reads release the GIL), a few chunks ahead of the batches handed out, so
reading overlaps the model; memory stays flat (a bounded queue of batches).
"""

from __future__ import annotations

import queue
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import tensorflow as tf

from savedmodel_estimator.encoding import zlib_backend
from savedmodel_estimator.encoding.tfrecords import CorruptRecordError, split

# Compressed bytes read at a time, after a first read of FIRST_BYTES and doubling from there:
# the first batch is ready soon after a file is opened. Inflated a piece of at most
# INFLATED_BYTES at a time: buffers of one modest size, which glibc's malloc reuses; pieces of
# several MB, freed on other threads than they were made, grew the heap with the input's size.
READ_BYTES = 1 << 18
FIRST_BYTES = 1 << 16
INFLATED_BYTES = 1 << 18
# Batches read ahead of the consumer.
AHEAD = 4
_GZIP = 16 + zlib.MAX_WBITS


class ReadError(ValueError):
    """A TFRecord file is corrupt or truncated (the message says how)."""


def _reads(handle: Any, read_bytes: int) -> Iterator[bytes]:
    size = min(FIRST_BYTES, read_bytes)
    while data := handle.read(size):
        yield data
        size = min(size * 2, read_bytes)


def _chunks(path: str, read_bytes: int = READ_BYTES) -> Iterator[bytes]:
    """The file's bytes, inflated if it is gzip (a `.gz` name), a chunk at a time.

    Raises:
        ReadError: the gzip stream is corrupt or ends early.
    """
    with tf.io.gfile.GFile(path, 'rb') as handle:  # any filesystem TensorFlow knows
        if not path.endswith('.gz'):
            yield from _reads(handle, read_bytes)
            return
        inflater, started = zlib_backend.decompressobj(_GZIP), False
        for data in _reads(handle, read_bytes):
            while True:
                started = started or bool(data)
                try:  # at most INFLATED_BYTES at a time: the rest stays in `unconsumed_tail`
                    out = inflater.decompress(data, INFLATED_BYTES)
                except zlib_backend.ERRORS as err:
                    raise ReadError(f'gzip data is corrupt: {err}') from err
                if out:
                    yield out
                if inflater.eof:  # one gzip member ended; another may follow
                    data, started = inflater.unused_data, False
                    inflater = zlib_backend.decompressobj(_GZIP)
                    if not data:
                        break
                    continue
                data = inflater.unconsumed_tail
                if not data and len(out) < INFLATED_BYTES:  # else zlib may hold more output
                    break
        if started and not inflater.eof:
            raise ReadError('the gzip stream ends early')


def _batches(path: str, batch_size: int, read_bytes: int = READ_BYTES) -> Iterator[list[bytes]]:
    """The file's records in lists of `batch_size` (the last may be shorter)."""
    pending, batch, count = b'', [], 0
    for chunk in _chunks(path, read_bytes):
        data = pending + chunk if pending else chunk
        try:
            records, used = split(data, count)
        except CorruptRecordError as err:
            raise ReadError(str(err)) from err
        pending = data[used:]
        count += len(records)
        batch += records
        while len(batch) >= batch_size:
            yield batch[:batch_size]
            batch = batch[batch_size:]
    if pending:
        raise ReadError(f'the file ends inside a record ({len(pending)} bytes in)')
    if batch:
        yield batch


def first_records(path: str, count: int) -> list[bytes]:
    """The first `count` records of a TFRecord file (all, if it has fewer), read in small steps.

    Raises:
        ReadError: (a ValueError) what was read of the file is corrupt or truncated.
    """
    return next(_batches(path, count, 1 << 16), [])


_DONE = object()


def read_batches(path: str, batch_size: int) -> Iterator[list[bytes]]:
    """The records of a TFRecord file (gzip when named `*.gz`), in lists of `batch_size`.

    Read on a background thread, `AHEAD` batches ahead.

    Raises:
        ReadError: (a ValueError) the file is corrupt or truncated.
    """
    out: queue.Queue[Any] = queue.Queue(AHEAD)
    stop = threading.Event()

    def put(item: Any) -> bool:
        """Hands `item` over; False once the consumer has gone."""
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in _batches(path, batch_size):
                if not put(batch):
                    return
            put(_DONE)
        except BaseException as err:  # handed to the consumer, raised there
            put(err)

    thread = threading.Thread(target=produce, name=f'read {path}', daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
