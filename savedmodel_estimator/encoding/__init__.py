"""What batch inference writes and reads, a batch at a time, without Apache Beam: PredictionLogs as
stock BulkInferrer writes them, JSON-lines and Parquet rows, TFRecord framing, gzip.

* `batches`: a batch of examples and of a signature's outputs (`ExampleBatch`, `PredictionBatch`).
* `prediction_logs`, `rows`: a batch of predictions as PredictionLog records, or as rows.
* `byte_rows`, `tfrecords`: records laid out per batch; TFRecord framing with CRC32C in C.
* `gzip_stream`, `zlib_backend`: a gzip stream compressed on threads (ISA-L where installed).
* `reading`: the first records of TFRecord files, read without TensorFlow's per-file set-up.

`savedmodel_estimator.beam` runs them in Beam pipelines; they need the `beam` extra's
tensorflow-serving-api, pyarrow, google-crc32c (and isal), not Beam itself.
"""
