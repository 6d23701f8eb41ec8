"""Today's writers against the files the writers of commit 7343dee wrote from the same batches.

The goldens in `tests/data/beam_writer_goldens/` were written once by the writers before the
batch-at-a-time encoding (one PredictionLog per record in Python, Beam's FileBasedSink and one
zlib stream), from `beam_writer_cases` (`tests/data/tools/make_beam_writer_goldens.py` says how).
PredictionLog files must hold the same records byte for byte (the gzip around them may be cut
differently), JSON lines must be the same bytes, and Parquet the same table.
"""

from __future__ import annotations

import gzip
import pathlib
from collections.abc import Callable

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
import tensorflow as tf
from apache_beam.testing import test_pipeline

from savedmodel_estimator.beam import WritePredictionLogs, WriteRows
from tests.support.beam_writer_cases import GOLDENS, batches, spec


def write(tmp_path: pathlib.Path, case: str, writer: Callable[[str], beam.PTransform]) -> bytes:
    """What `writer` writes for the case's batches, as the bytes of its one file."""
    with test_pipeline.TestPipeline() as pipeline:
        _ = pipeline | beam.Create(batches(case), reshuffle=False) | writer(str(tmp_path / 'out'))
    (path,) = tmp_path.glob('out-*')
    return path.read_bytes()


def tf_records(data: bytes, tmp_path: pathlib.Path) -> list[bytes]:
    """The records of gzip TFRecord data, as TensorFlow's reader reads them."""
    path = tmp_path / 'read.gz'
    path.write_bytes(data)
    dataset = tf.data.TFRecordDataset(str(path), compression_type='GZIP')
    return [bytes(record) for record in dataset.as_numpy_iterator()]


@pytest.mark.parametrize('case', ['classify', 'regress', 'predict'])
def test_prediction_logs_are_the_records_the_previous_writer_wrote(
    tmp_path: pathlib.Path, case: str
) -> None:
    golden = (GOLDENS / f'{case}-00000-of-00001.gz').read_bytes()
    ours = write(tmp_path, case, lambda prefix: WritePredictionLogs(prefix, spec(case)))
    # The TFRecord framing, byte for byte: lengths, records and checksums.
    assert gzip.decompress(ours) == gzip.decompress(golden)
    expected = tf_records(golden, tmp_path)
    assert len(expected) == sum(len(batch) for batch in batches(case))
    assert tf_records(ours, tmp_path) == expected


def test_json_lines_are_the_bytes_the_previous_writer_wrote(tmp_path: pathlib.Path) -> None:
    golden = (GOLDENS / 'jsonl-00000-of-00001.jsonl').read_bytes()
    assert b'NaN' in golden and b'customer_id' in golden  # both JSON paths, the pass-through
    ours = write(tmp_path, 'rows', lambda prefix: WriteRows(prefix, 'jsonl', spec('rows')))
    assert ours == golden


def test_parquet_is_the_table_the_previous_writer_wrote(tmp_path: pathlib.Path) -> None:
    ours = write(tmp_path, 'rows', lambda prefix: WriteRows(prefix, 'parquet', spec('rows')))
    (tmp_path / 'ours.parquet').write_bytes(ours)
    golden = pq.read_table(GOLDENS / 'parquet-00000-of-00001.parquet')
    table = pq.read_table(tmp_path / 'ours.parquet')
    assert table.schema == golden.schema
    # Compared as text: the NaN of the batch of one equals itself there.
    assert repr(table.to_pylist()) == repr(golden.to_pylist())
