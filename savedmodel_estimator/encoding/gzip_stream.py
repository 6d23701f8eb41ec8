"""A gzip file whose chunks are compressed on a pool of threads, beside the rest of the work.

`GzipStream` writes one gzip member (a single deflate stream, as `gzip` and TensorFlow write
and every gzip reader reads). zlib releases the GIL while it compresses, so the threads run
beside the model and the encoding on the other cores. Each chunk ends on a byte boundary (a
zlib sync flush, 5 bytes), so the compressed chunks join into one deflate stream; the gzip
trailer's CRC32 is computed as the chunks are handed over. Compression is the largest cost of
writing PredictionLogs (zlib level 1 spends ~10 ns per byte, a PredictionLog is ~420 bytes);
ISA-L does it where installed (`zlib_backend`).
"""

from __future__ import annotations

import collections
import concurrent.futures
import struct
import zlib
from typing import BinaryIO

from savedmodel_estimator.encoding import zlib_backend


def deflate(data: bytes, level: int) -> bytes:
    """`data` as deflate blocks that end on a byte boundary, to join with other such chunks."""
    compressor = zlib_backend.compressobj(level, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


# A gzip member header: magic, deflate, no flags, no mtime, no extra flags, OS unknown (255),
# as `gzip.compress(data, mtime=0)` writes it, so a file's bytes depend on its contents only.
_GZIP_HEADER = b'\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff'
# The last deflate block (empty, final), which the stream of sync-flushed chunks lacks.
_FINAL_BLOCK = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS).flush(zlib.Z_FINISH)


class GzipStream:
    """A gzip file written through `handle`, its chunks compressed on a pool of threads.

    Writes are buffered into chunks of about `chunk_bytes`; at most `max_pending` chunks are
    compressed or waiting at once (memory stays flat), and compressed chunks are written to
    `handle` in order, from the calling thread. `close` writes the rest and the gzip trailer,
    and leaves `handle` open.

    Args:
        handle: A binary file object.
        level: zlib's compression level, 0 (stored) to 9.
        threads: Compression threads.
        chunk_bytes: Uncompressed bytes per chunk.
        max_pending: Chunks in flight before `write` waits for the oldest.
    """

    def __init__(
        self,
        handle: BinaryIO,
        level: int,
        threads: int = 2,
        chunk_bytes: int = 1 << 18,
        max_pending: int = 4,
    ) -> None:
        self.handle = handle
        self._level = level
        self._chunk_bytes = chunk_bytes
        self._max_pending = max(max_pending, threads)
        self._pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix='gzip')
        self._pending: collections.deque[concurrent.futures.Future[bytes]] = collections.deque()
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._crc = 0
        self._size = 0
        handle.write(_GZIP_HEADER)

    def write(self, data: bytes) -> None:
        self._buffer.append(data)
        self._buffered += len(data)
        if self._buffered >= self._chunk_bytes:
            self._submit()

    def _submit(self) -> None:
        chunk = b''.join(self._buffer) if len(self._buffer) > 1 else self._buffer[0]
        self._buffer, self._buffered = [], 0
        self._crc = zlib.crc32(chunk, self._crc)
        self._size += len(chunk)
        self._pending.append(self._pool.submit(deflate, chunk, self._level))
        while self._pending and (len(self._pending) > self._max_pending or self._pending[0].done()):
            self.handle.write(self._pending.popleft().result())

    def close(self) -> None:
        """Writes what is buffered and the gzip trailer; stops the threads."""
        try:
            if self._buffer:
                self._submit()
            while self._pending:
                self.handle.write(self._pending.popleft().result())
            self.handle.write(_FINAL_BLOCK)
            self.handle.write(struct.pack('<II', self._crc, self._size & 0xFFFFFFFF))
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
