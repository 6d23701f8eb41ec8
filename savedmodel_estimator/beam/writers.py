"""Writing batches of predictions: PredictionLog TFRecords, JSON lines and Parquet.

Each takes a PCollection of `PredictionBatch` and writes whole batches (`files.WriteBatchFiles`):
files are written under a temporary directory and renamed to their final names only when every
bundle has succeeded, so a failed run leaves no file under the final names.
"""

from __future__ import annotations

import os
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq

from savedmodel_estimator.beam.files import WriteBatchFiles
from savedmodel_estimator.constants import JSONL, PARQUET, ROW_FORMATS
from savedmodel_estimator.encoding.batches import PredictionBatch
from savedmodel_estimator.encoding.gzip_stream import GzipStream
from savedmodel_estimator.encoding.prediction_logs import LogFormat
from savedmodel_estimator.encoding.rows import RowColumns
from savedmodel_estimator.encoding.tfrecords import frame
from savedmodel_estimator.serving.signature_runner import SignatureSpec

# As stock BulkInferrer names them: <uri>/prediction_logs-00000-of-00001.gz
PREDICTION_LOGS_PREFIX = 'prediction_logs'
PREDICTION_LOGS_SUFFIX = '.gz'
# gzip level 1 writes PredictionLogs about 3 times faster than zlib's default 6, for files about
# a fifth larger; compression is the largest cost of writing them.
DEFAULT_COMPRESSION_LEVEL = 1
# Threads compressing each PredictionLog file: zlib releases the GIL, so they run beside the
# model; more than the cores would only wait.
COMPRESSION_THREADS = max(1, min(os.cpu_count() or 1, 4))


class _PredictionLogFormat:
    """gzip TFRecords of PredictionLog, a batch's records framed and compressed at once."""

    suffix = PREDICTION_LOGS_SUFFIX
    mime_type = 'application/octet-stream'

    def __init__(self, log_format: LogFormat, level: int) -> None:
        self._format = log_format
        self._level = level

    def open(self, handle: Any) -> GzipStream:
        return GzipStream(handle, self._level, COMPRESSION_THREADS)

    def write(self, stream: GzipStream, batch: PredictionBatch) -> None:
        parts = self._format.parts(batch)
        stream.write(frame(parts.records, parts.prefix, parts.suffixes))

    def close(self, stream: GzipStream) -> None:
        stream.close()


class _JsonLinesFormat:
    suffix = f'.{JSONL}'
    mime_type = 'application/jsonl'

    def __init__(self, columns: RowColumns) -> None:
        self._columns = columns

    def open(self, handle: Any) -> Any:
        return handle

    def write(self, handle: Any, batch: PredictionBatch) -> None:
        handle.write(self._columns.json_lines(batch))

    def close(self, handle: Any) -> None:
        pass


class _ParquetFormat:
    suffix = f'.{PARQUET}'
    mime_type = 'application/x-parquet'

    def __init__(self, columns: RowColumns) -> None:
        self._columns = columns
        self._schema = columns.arrow_schema()

    def open(self, handle: Any) -> pq.ParquetWriter:
        return pq.ParquetWriter(handle, self._schema)

    def write(self, writer: pq.ParquetWriter, batch: PredictionBatch) -> None:
        writer.write_table(self._columns.table(batch, self._schema))

    def close(self, writer: pq.ParquetWriter) -> None:
        writer.close()


class WritePredictionLogs(beam.PTransform):
    """Writes `PredictionBatch`es as gzip TFRecords of PredictionLog, as BulkInferrer does.

    Args:
        file_path_prefix: `<dir>/prediction_logs` gives BulkInferrer's file names.
        spec: The signature the predictions come from (its method picks the log kind).
        compression_level: gzip level: 1 (fastest compression) to 9 (smallest files), or 0
            (stored: no compression, files about 3 times larger).
    """

    def __init__(
        self,
        file_path_prefix: str,
        spec: SignatureSpec,
        compression_level: int = DEFAULT_COMPRESSION_LEVEL,
    ) -> None:
        super().__init__()
        if not 0 <= compression_level <= 9:
            raise ValueError(f'compression_level must be 0 to 9, given: {compression_level}.')
        log_format = LogFormat.for_spec(spec)
        self._write = WriteBatchFiles(
            file_path_prefix, _PredictionLogFormat(log_format, compression_level)
        )

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return batches | self._write


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
        file_format = _JsonLinesFormat(columns) if row_format == JSONL else _ParquetFormat(columns)
        self._write = WriteBatchFiles(file_path_prefix, file_format)

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return batches | self._write
