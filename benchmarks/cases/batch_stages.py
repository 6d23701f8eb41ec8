"""Where BatchPredictor's time goes: each stage of its per-batch work, alone, without Beam.

    .venv-legacy/bin/python -m benchmarks.cases.batch_stages --n 200000

Runs the same code BatchPredictor's DoFns and sink run, in a plain loop over the same files:
read (`_ReadBatchesFn`), predict (`SignatureRunner.run`), encode PredictionLogs
(`LogFormat.encode`), frame and gzip them (`_tfrecord`, `_GzipFile` at BatchPredictor's
level), each timed on its own. Their sum is what the work costs on one thread; BatchPredictor's
time beyond it is Beam's and TFX's. Nothing here changes what BatchPredictor does.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from typing import Any

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from benchmarks import data  # after the log level is set, before TF loads
from benchmarks.common import emit, environment_facts

DEFAULT_BATCH_SIZE = 1024  # BatchPredictor's default max_batch_size


def run(n: int, batch_size: int) -> dict[str, Any]:
    import glob

    from savedmodel_estimator.beam import transforms, writers
    from savedmodel_estimator.beam.batches import PredictionBatch
    from savedmodel_estimator.beam.prediction_logs import LogFormat
    from savedmodel_estimator.serving.signature_runner import SignatureRunner, SignatureSpec

    examples = data.write_examples(n)
    spec = SignatureSpec(str(data.write_model_artifact() / 'Format-Serving'))
    files = sorted(glob.glob(str(examples / f'Split-{data.SPLIT}' / '*')))
    seconds = dict.fromkeys(('load', 'read', 'predict', 'encode', 'frame', 'gzip'), 0.0)

    start = time.perf_counter()
    runner = SignatureRunner(spec)
    log_format = LogFormat.for_spec(spec)
    first = next(transforms._ReadBatchesFn(batch_size).process(files[0]))
    runner.run(first.records)  # the first run builds TF's executor: a fixed cost, not per example
    seconds['load'] = time.perf_counter() - start
    sink = writers._GzipFile(io.BytesIO(), writers.DEFAULT_COMPRESSION_LEVEL)
    reader = transforms._ReadBatchesFn(batch_size)
    count = 0
    for path in files:
        batches = reader.process(path)
        while True:
            start = time.perf_counter()
            batch = next(batches, None)
            seconds['read'] += time.perf_counter() - start
            if batch is None:
                break
            start = time.perf_counter()
            result = runner.run(batch.records, source=batch.source, first_index=batch.first_index)
            seconds['predict'] += time.perf_counter() - start
            start = time.perf_counter()
            logs = log_format.encode(PredictionBatch(batch.records, result.outputs))
            seconds['encode'] += time.perf_counter() - start
            start = time.perf_counter()
            framed = b''.join(writers._tfrecord(log) for log in logs)
            seconds['frame'] += time.perf_counter() - start
            start = time.perf_counter()
            sink.write(framed)
            seconds['gzip'] += time.perf_counter() - start
            count += len(batch)
    sink.close()
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
        'output_mb': round(sink.handle.tell() / 2**20, 1),
        'environment': environment_facts(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--n', type=int, required=True)
    parser.add_argument('--batch-size', type=int, default=DEFAULT_BATCH_SIZE)
    args = parser.parse_args(argv)
    emit(run(args.n, args.batch_size))


if __name__ == '__main__':
    main()
