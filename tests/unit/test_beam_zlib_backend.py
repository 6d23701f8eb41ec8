"""The deflate backend: ISA-L where installed (both lanes' locks pin `isal`), zlib otherwise. Either
way every gzip reader reads what it writes; the records are the same, only the bytes differ."""

from __future__ import annotations

import gzip
import io
import zlib

import pytest

from savedmodel_estimator.encoding import gzip_stream, zlib_backend

DATA = b''.join(b'record %d: ' % i + bytes(range(i % 256)) for i in range(3000))


def test_the_locks_install_isal_and_it_is_used() -> None:
    pytest.importorskip('isal', reason='isal is pinned by the lanes, not by the core environments')
    assert zlib_backend.NAME == 'isal'
    compressor = zlib_backend.compressobj(1, -zlib.MAX_WBITS)
    assert type(compressor).__module__.startswith('isal')


@pytest.mark.parametrize('level', [0, 1, 3, 6])
def test_a_stream_of_its_chunks_is_gzip_every_reader_reads(level: int) -> None:
    buffer = io.BytesIO()
    stream = gzip_stream.GzipStream(buffer, level, threads=2, chunk_bytes=4096, max_pending=2)
    for start in range(0, len(DATA), 1000):
        stream.write(DATA[start : start + 1000])
    stream.close()
    assert gzip.decompress(buffer.getvalue()) == DATA
    inflater = zlib_backend.decompressobj(16 + zlib.MAX_WBITS)
    assert inflater.decompress(buffer.getvalue()) == DATA and inflater.eof


def test_isal_and_zlib_chunks_join_into_one_stream() -> None:
    """Chunks from either backend end on a byte boundary, so they concatenate."""
    halves = DATA[: len(DATA) // 2], DATA[len(DATA) // 2 :]
    first = zlib_backend.compressobj(1, -zlib.MAX_WBITS)
    joined = first.compress(halves[0]) + first.flush(zlib.Z_SYNC_FLUSH)
    second = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)
    joined += second.compress(halves[1]) + second.flush(zlib.Z_FINISH)
    assert zlib.decompress(joined, -zlib.MAX_WBITS) == DATA
