"""Where BatchPredictor's time goes: each stage of its per-batch work, alone, without Beam.

    .venv-legacy/bin/python -m benchmarks.cases.batch_stages --n 200000

Runs the same code BatchPredictor's DoFns and sink run, in a plain loop over the same files:
read (`reading.read_batches`), predict (`SignatureRunner.run`), encode PredictionLogs
(`LogFormat.parts`), frame them (`tfrecords.frame`) and gzip them (zlib at BatchPredictor's
level, as one of `GzipStream`'s threads does), each timed on its own, one after the other on one
thread. Their sum is what the work costs on one thread; BatchPredictor overlaps them on the
cores (reading and gzip on threads of their own, the model on TensorFlow's), so its rate can
exceed the sum's. Nothing here changes what BatchPredictor does.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from benchmarks import data  # after the log level is set, before TF loads
from benchmarks.common import emit, environment_facts


def run(n: int, batch_size: int | None) -> dict[str, Any]:
    import glob

    from savedmodel_estimator.beam import writers
    from savedmodel_estimator.constants import DEFAULT_MAX_BATCH_SIZE
    from savedmodel_estimator.encoding import gzip_stream, reading, tfrecords
    from savedmodel_estimator.encoding.batches import PredictionBatch
    from savedmodel_estimator.encoding.prediction_logs import LogFormat
    from savedmodel_estimator.serving.signature_runner import SignatureRunner, SignatureSpec

    batch_size = batch_size or DEFAULT_MAX_BATCH_SIZE
    examples = data.write_examples(n)
    spec = SignatureSpec(str(data.write_model_artifact() / 'Format-Serving'))
    files = sorted(glob.glob(str(examples / f'Split-{data.SPLIT}' / '*')))
    seconds = dict.fromkeys(('load', 'read', 'predict', 'encode', 'frame', 'gzip'), 0.0)

    start = time.perf_counter()
    runner = SignatureRunner(spec)
    log_format = LogFormat.for_spec(spec)
    first = next(reading.read_batches(files[0], batch_size))
    runner.run(first)  # the first run builds TF's executor: a fixed cost, not per example
    seconds['load'] = time.perf_counter() - start
    level = writers.DEFAULT_COMPRESSION_LEVEL
    output_bytes = 0
    count = 0
    for path in files:
        batches = reading.read_batches(path, batch_size)
        while True:
            start = time.perf_counter()
            records = next(batches, None)
            seconds['read'] += time.perf_counter() - start
            if records is None:
                break
            start = time.perf_counter()
            result = runner.run(records, source=path)
            seconds['predict'] += time.perf_counter() - start
            start = time.perf_counter()
            parts = log_format.parts(PredictionBatch(records, result.outputs))
            seconds['encode'] += time.perf_counter() - start
            start = time.perf_counter()
            framed = tfrecords.frame(parts.records, parts.prefix, parts.suffixes)
            seconds['frame'] += time.perf_counter() - start
            start = time.perf_counter()
            output_bytes += len(gzip_stream.deflate(framed, level))
            seconds['gzip'] += time.perf_counter() - start
            count += len(records)
    per_record_us = {k: round(v / count * 1e6, 2) for k, v in seconds.items() if k != 'load'}
    total = sum(v for k, v in seconds.items() if k != 'load')
    return {
        'case': 'batch_stages',
        'impl': 'stages',
        'n': count,
        'batch_size': batch_size,
        'seconds': {k: round(v, 4) for k, v in seconds.items()},
        'per_record_us': per_record_us,
        'examples_per_s': round(count / total, 1),
        'output_mb': round(output_bytes / 2**20, 1),
        'environment': environment_facts(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--n', type=int, required=True)
    parser.add_argument('--batch-size', type=int, help="[BatchPredictor's default max_batch_size]")
    args = parser.parse_args(argv)
    emit(run(args.n, args.batch_size))


if __name__ == '__main__':
    main()
