"""Writes tests/data/beam_writer_goldens/ with the writers of the checkout it runs from.

Ran once, from a worktree of commit 7343dee (the writers before the batch-at-a-time encoding),
with this repository's tests/ for the cases:

    git worktree add /tmp/head 7343dee --detach
    PYTHONPATH=/tmp/head:. .venv-legacy/bin/python tests/data/tools/make_beam_writer_goldens.py

Each case's files are what `WritePredictionLogs` / `WriteRows` wrote for `beam_writer_cases.
batches(case)` through a TestPipeline (one bundle, so one shard).
"""

from __future__ import annotations

import pathlib
import shutil

import apache_beam as beam
import savedmodel_estimator
from apache_beam.testing import test_pipeline
from tests.support.beam_writer_cases import GOLDENS, batches, spec

from savedmodel_estimator.beam import WritePredictionLogs, WriteRows


def main() -> None:
    print('writers from', pathlib.Path(savedmodel_estimator.__file__).parent)
    shutil.rmtree(GOLDENS, ignore_errors=True)
    GOLDENS.mkdir(parents=True)
    writes = {
        'classify': lambda prefix: WritePredictionLogs(prefix, spec('classify')),
        'regress': lambda prefix: WritePredictionLogs(prefix, spec('regress')),
        'predict': lambda prefix: WritePredictionLogs(prefix, spec('predict')),
        'jsonl': lambda prefix: WriteRows(prefix, 'jsonl', spec('rows')),
        'parquet': lambda prefix: WriteRows(prefix, 'parquet', spec('rows')),
    }
    for name, write in writes.items():
        case = name if name in ('classify', 'regress', 'predict') else 'rows'
        with test_pipeline.TestPipeline() as pipeline:
            _ = pipeline | beam.Create(batches(case), reshuffle=False) | write(str(GOLDENS / name))
    for path in sorted(GOLDENS.iterdir()):
        print(path.name, path.stat().st_size)


if __name__ == '__main__':
    main()
