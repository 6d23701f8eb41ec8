"""Writing batches of predictions: PredictionLog TFRecords, JSON lines and Parquet.

Each takes a PCollection of `PredictionBatch` and writes whole batches, through Beam's
`FileBasedSink`: files are written under a temporary directory and renamed to their final names
only when every bundle has succeeded, so a failed run leaves no file under the final names.
"""

from __future__ import annotations

import functools
import struct
import zlib
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam import coders
from apache_beam.io import filebasedsink
from apache_beam.io.filesystem import CompressionTypes

from savedmodel_estimator.beam._beam_internal import masked_crc32c
from savedmodel_estimator.beam.batches import PredictionBatch
from savedmodel_estimator.beam.prediction_logs import LogFormat
from savedmodel_estimator.beam.rows import JSONL, PARQUET, ROW_FORMATS, RowColumns
from savedmodel_estimator.serving.signature_runner import SignatureSpec

# As stock BulkInferrer names them: <uri>/prediction_logs-00000-of-00001.gz
PREDICTION_LOGS_PREFIX = 'prediction_logs'
PREDICTION_LOGS_SUFFIX = '.gz'
# gzip level 1 writes PredictionLogs about 3 times faster than zlib's default 6, for files about
# a fifth larger; compression is the largest cost of writing them.
DEFAULT_COMPRESSION_LEVEL = 1


@functools.lru_cache(maxsize=4096)
def _length_header(length: int) -> bytes:
    encoded = struct.pack('<Q', length)
    return encoded + struct.pack('<I', masked_crc32c(encoded))


def _tfrecord(record: bytes) -> bytes:
    """One record in TFRecord framing: length, its checksum, the data, its checksum."""
    return _length_header(len(record)) + record + struct.pack('<I', masked_crc32c(record))


class _GzipFile:
    """A gzip stream over a sink's file, at a chosen compression level."""

    def __init__(self, handle: Any, level: int) -> None:
        self.handle = handle
        self.compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def write(self, data: bytes) -> None:
        self.handle.write(self.compressor.compress(data))

    def close(self) -> None:
        self.handle.write(self.compressor.flush())


class _PredictionLogSink(filebasedsink.FileBasedSink):
    def __init__(self, file_path_prefix: str, log_format: LogFormat, level: int) -> None:
        super().__init__(
            file_path_prefix,
            coder=coders.BytesCoder(),
            file_name_suffix=PREDICTION_LOGS_SUFFIX,
            mime_type='application/octet-stream',
            compression_type=CompressionTypes.UNCOMPRESSED,
        )
        self._format = log_format
        self._level = level

    def open(self, temp_path: str) -> _GzipFile:
        return _GzipFile(super().open(temp_path), self._level)

    def write_record(self, file_handle: _GzipFile, value: PredictionBatch) -> None:
        file_handle.write(b''.join(_tfrecord(log) for log in self._format.encode(value)))

    def close(self, file_handle: _GzipFile) -> None:
        file_handle.close()
        super().close(file_handle.handle)


class _JsonLinesSink(filebasedsink.FileBasedSink):
    def __init__(self, file_path_prefix: str, columns: RowColumns) -> None:
        super().__init__(
            file_path_prefix,
            coder=coders.BytesCoder(),
            file_name_suffix=f'.{JSONL}',
            mime_type='application/jsonl',
            compression_type=CompressionTypes.UNCOMPRESSED,
        )
        self._columns = columns

    def write_record(self, file_handle: Any, value: PredictionBatch) -> None:
        file_handle.write(self._columns.json_lines(value))


class _ParquetFile:
    def __init__(self, handle: Any, schema: pa.Schema) -> None:
        self.handle = handle
        self.writer = pq.ParquetWriter(handle, schema)


class _ParquetSink(filebasedsink.FileBasedSink):
    def __init__(self, file_path_prefix: str, columns: RowColumns) -> None:
        super().__init__(
            file_path_prefix,
            coder=coders.BytesCoder(),
            file_name_suffix=f'.{PARQUET}',
            mime_type='application/x-parquet',
            compression_type=CompressionTypes.UNCOMPRESSED,
        )
        self._columns = columns
        self._schema = columns.arrow_schema()

    def open(self, temp_path: str) -> _ParquetFile:
        return _ParquetFile(super().open(temp_path), self._schema)

    def write_record(self, file_handle: _ParquetFile, value: PredictionBatch) -> None:
        file_handle.writer.write_table(self._columns.table(value, self._schema))

    def close(self, file_handle: _ParquetFile) -> None:
        file_handle.writer.close()
        super().close(file_handle.handle)


class WritePredictionLogs(beam.PTransform):
    """Writes `PredictionBatch`es as gzip TFRecords of PredictionLog, as BulkInferrer does.

    Args:
        file_path_prefix: `<dir>/prediction_logs` gives BulkInferrer's file names.
        spec: The signature the predictions come from (its method picks the log kind).
        compression_level: gzip level, 1 (fastest) to 9 (smallest).
    """

    def __init__(
        self,
        file_path_prefix: str,
        spec: SignatureSpec,
        compression_level: int = DEFAULT_COMPRESSION_LEVEL,
    ) -> None:
        super().__init__()
        if not 1 <= compression_level <= 9:
            raise ValueError(f'compression_level must be 1 to 9, given: {compression_level}')
        log_format = LogFormat.for_spec(spec)
        self._sink = _PredictionLogSink(file_path_prefix, log_format, compression_level)

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return batches | beam.io.Write(self._sink)


class WriteRows(beam.PTransform):
    """Writes `PredictionBatch`es as rows: JSON lines (`.jsonl`) or Parquet (`.parquet`).

    Args:
        file_path_prefix: The files' path without the shard number and suffix.
        row_format: `jsonl` or `parquet`.
        spec: The signature the predictions come from, with the pass-through features.
    """

    def __init__(self, file_path_prefix: str, row_format: str, spec: SignatureSpec) -> None:
        super().__init__()
        if row_format not in ROW_FORMATS:
            raise ValueError(
                f'row_format must be one of {list(ROW_FORMATS)}, given: {row_format!r}'
            )
        columns = RowColumns.for_spec(spec)
        sink_class = _JsonLinesSink if row_format == JSONL else _ParquetSink
        self._sink = sink_class(file_path_prefix, columns)

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return batches | beam.io.Write(self._sink)
