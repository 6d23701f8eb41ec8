"""TFRecord framing, the threaded gzip stream, the reader and the batch file writer, against
TensorFlow's and Python's own readers and writers.
"""

from __future__ import annotations

import gzip
import io
import pathlib
import zlib

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from savedmodel_estimator.beam.files import WriteBatchFiles
from savedmodel_estimator.encoding import reading, tfrecords
from savedmodel_estimator.encoding.byte_rows import ByteRows
from savedmodel_estimator.encoding.gzip_stream import GzipStream
from savedmodel_estimator.encoding.reading import ReadError, first_records, read_batches


def random_records(count: int, seed: int = 0, lengths: list[int] | None = None) -> list[bytes]:
    rng = np.random.default_rng(seed)
    sizes = lengths if lengths is not None else rng.integers(0, 500, count).tolist()
    return [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in sizes]


def tf_framed(tmp_path: pathlib.Path, records: list[bytes], options: str = '') -> bytes:
    path = tmp_path / f'tf-{options or "plain"}.tfrecord'
    with tf.io.TFRecordWriter(str(path), options) as writer:
        for record in records:
            writer.write(record)
    return path.read_bytes()


def test_frame_is_tensorflows_framing(tmp_path: pathlib.Path) -> None:
    records = random_records(50, lengths=[0, 1, 16383, 16384, 70000]) + random_records(200)
    assert tfrecords.frame(records) == tf_framed(tmp_path, records)
    assert tfrecords.frame([]) == b''


@pytest.mark.parametrize('crc32c', ['google-crc32c', "Beam's (without google-crc32c's C code)"])
def test_frame_with_prefix_and_suffixes_frames_the_joined_records(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, crc32c: str
) -> None:
    if crc32c != 'google-crc32c':
        monkeypatch.setattr(tfrecords, '_extend', None)
    records = random_records(100, seed=1)
    tails = np.random.default_rng(2).integers(0, 256, (100, 7), dtype=np.uint8)
    ragged = [bytes(range(i % 9)) for i in range(100)]

    def prefix(length: int) -> bytes:
        return b'<%d>' % length

    for suffixes in (ByteRows.of(tails), ByteRows.of_list(ragged)):
        joined = [prefix(len(r)) + r + s for r, s in zip(records, suffixes.tolist(), strict=True)]
        framed = tfrecords.frame(records, prefix, suffixes)
        assert framed == tf_framed(tmp_path, joined)


def test_split_reads_what_tensorflow_wrote_and_stops_at_a_partial_record(
    tmp_path: pathlib.Path,
) -> None:
    # A run of one length (read as a matrix), then lengths that vary (walked).
    records = random_records(40, lengths=[100] * 40) + random_records(60, seed=3)
    data = tf_framed(tmp_path, records)
    assert tfrecords.split(data) == (records, len(data))
    got, used = tfrecords.split(data[:-5])
    assert got == records[:-1]
    assert used == len(data) - (len(records[-1]) + 16)


@pytest.mark.parametrize('where', ['length', 'data'])
@pytest.mark.parametrize('lengths', [[64] * 30, list(range(30))], ids=['one length', 'varied'])
def test_split_finds_a_wrong_checksum(tmp_path: pathlib.Path, where: str, lengths: list) -> None:
    records = random_records(30, lengths=lengths)
    data = bytearray(tf_framed(tmp_path, records))
    position = sum(len(r) + 16 for r in records[:17])
    data[position + (9 if where == 'length' else 12 + len(records[17]))] ^= 0xFF
    with pytest.raises(tfrecords.CorruptRecordError, match=f'the {where} checksum of record 21'):
        tfrecords.split(bytes(data), first_index=4)


@pytest.mark.parametrize('level', [0, 1, 9])
def test_gzip_stream_is_one_member_every_reader_reads(tmp_path: pathlib.Path, level: int) -> None:
    records = random_records(3000, seed=4)
    framed = tfrecords.frame(records)
    out = io.BytesIO()
    stream = GzipStream(out, level, threads=3, chunk_bytes=50_000, max_pending=2)
    for start in range(0, len(framed), 12_345):
        stream.write(framed[start : start + 12_345])
    stream.close()
    data = out.getvalue()
    assert zlib.decompress(data, 16 + zlib.MAX_WBITS) == framed  # a single member
    assert gzip.decompress(data) == framed
    path = tmp_path / 'out.gz'
    path.write_bytes(data)
    dataset = tf.data.TFRecordDataset(str(path), compression_type='GZIP')
    assert [bytes(r) for r in dataset.as_numpy_iterator()] == records


def test_empty_gzip_stream_is_a_valid_empty_file() -> None:
    out = io.BytesIO()
    GzipStream(out, 1).close()
    assert gzip.decompress(out.getvalue()) == b''


@pytest.mark.parametrize('options', ['', 'GZIP'])
def test_read_batches_reads_every_record_in_order(tmp_path: pathlib.Path, options: str) -> None:
    records = random_records(5000, seed=5)
    path = tmp_path / ('data.gz' if options else 'data.tfrecord')
    path.write_bytes(tf_framed(tmp_path, records, options))
    batches = list(read_batches(str(path), 777))
    assert [len(b) for b in batches] == [777] * 6 + [5000 - 6 * 777]
    assert [r for b in batches for r in b] == records
    assert first_records(str(path), 10) == records[:10]


@pytest.mark.parametrize('inflated_bytes', [reading.INFLATED_BYTES, 1000, 7])
def test_read_batches_of_concatenated_gzip_members(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, inflated_bytes: int
) -> None:
    monkeypatch.setattr(reading, 'INFLATED_BYTES', inflated_bytes)  # each inflated piece's most
    records = random_records(100, seed=6) + [b'ab' * n for n in range(0, 3000, 97)]
    path = tmp_path / 'two.gz'
    path.write_bytes(
        b''.join(gzip.compress(tfrecords.frame(half)) for half in (records[:30], records[30:]))
    )
    assert [r for b in read_batches(str(path), 64) for r in b] == records


@pytest.mark.parametrize(
    ('cut', 'message'),
    [
        (0.75, 'ends early|ends inside a record'),
        (None, 'gzip data is corrupt|checksum of record 1500 is wrong'),
    ],
    ids=['truncated', 'corrupt'],
)
def test_read_batches_reports_a_damaged_file(
    tmp_path: pathlib.Path, cut: float | None, message: str
) -> None:
    data = bytearray(tf_framed(tmp_path, random_records(3000, seed=7), 'GZIP'))
    if cut is not None:
        data = data[: int(len(data) * cut)]
    else:
        data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    path = tmp_path / 'damaged.gz'
    path.write_bytes(bytes(data))
    with pytest.raises(ReadError, match=message):
        for _ in read_batches(str(path), 100):
            pass


def test_a_reader_left_early_stops_its_thread(tmp_path: pathlib.Path) -> None:
    path = tmp_path / 'data.gz'
    path.write_bytes(tf_framed(tmp_path, random_records(20_000, seed=8), 'GZIP'))
    batches = read_batches(str(path), 10)
    next(batches)
    batches.close()  # joins the reader thread, which must not wait on its full queue


class _Lines:
    suffix = '.txt'
    mime_type = 'text/plain'

    def open(self, handle: object) -> object:
        return handle

    def write(self, handle: io.BufferedWriter, batch: list[str]) -> None:
        handle.write(''.join(f'{line}\n' for line in batch).encode())

    def close(self, handle: object) -> None:
        pass


def test_batch_files_are_renamed_once_written(tmp_path: pathlib.Path) -> None:
    prefix = str(tmp_path / 'out' / 'lines')
    with test_pipeline.TestPipeline() as pipeline:
        names = pipeline | beam.Create([['a', 'b'], ['c']]) | WriteBatchFiles(prefix, _Lines())
        assert_that(names, equal_to([f'{prefix}-00000-of-00001.txt']))
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == ['lines-00000-of-00001.txt']
    lines = (tmp_path / 'out' / 'lines-00000-of-00001.txt').read_text().split()
    assert sorted(lines) == ['a', 'b', 'c']


def test_no_batches_make_one_empty_file(tmp_path: pathlib.Path) -> None:
    prefix = str(tmp_path / 'out' / 'lines')
    with test_pipeline.TestPipeline() as pipeline:
        empty = pipeline | beam.Create([]).with_output_types(list[str])
        _ = empty | WriteBatchFiles(prefix, _Lines())
    assert [p.read_bytes() for p in (tmp_path / 'out').iterdir()] == [b'']


@pytest.mark.parametrize('c_extension', [True, False], ids=['c', 'python'])
def test_crc32c_matches_rfc_3720_vectors(
    c_extension: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not c_extension:
        monkeypatch.setattr(tfrecords, '_extend', None)
    assert tfrecords._crc32c(b'123456789') == 0xE3069283
    assert tfrecords._crc32c(bytes(32)) == 0x8A9136AA
    assert tfrecords._crc32c(b'\xff' * 32) == 0x62A8AB43
