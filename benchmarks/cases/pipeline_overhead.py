"""`sme run` end to end on the small model, split into orchestration and work; one result line.

    .venv-legacy/bin/python -m benchmarks.cases.pipeline_overhead [--train-steps 100]

Runs the `sme run` command (the click entry point, in this process) on dnn_classifier_seed and
its TFRecord rows, twice into the same output directory: the first run executes every stage,
the second finds every stage in the cache, so it is orchestration alone. The executors' own time
is measured by timing TFX's executor operators (`run_executor`, which builds the executor and
calls its `Do`); orchestration is the rest (pipeline compilation, ML Metadata, drivers, input
resolution, publishing, the summary). The timing wrappers change no behaviour. TFX builds an
sdist of its own install for every Beam executor whose arguments are not empty and name no
dependency (none with `sme run`'s default, empty `beam_pipeline_args`): that is timed on its
own: total = orchestration + beam_sdist + work.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from typing import Any

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from benchmarks.common import (  # after the log level is set, before TF loads
    EXPORTS,
    MODELS,
    Stopwatch,
    emit,
    environment_facts,
    maybe_profile,
    peak_rss_mb,
    saved_model_dir,
)
from benchmarks.tfx_timing import Timings, timing_executors


def seed_data(directory: str) -> str:
    """A data directory with the seed fixture's train and eval TFRecords (ImportExampleGen)."""
    source = EXPORTS / MODELS['seed'] / 'data'
    for split in ('train', 'eval'):
        shutil.copyfile(source / f'{split}.tfrecord', os.path.join(directory, f'{split}.tfrecord'))
    return directory


def run_sme(args: list[str]) -> None:
    from savedmodel_estimator_tfx.pipelines import cli

    try:
        cli.main(args, standalone_mode=False)
    except SystemExit as err:
        if err.code:
            raise RuntimeError(f'sme {" ".join(args)} exited with {err.code}') from err


def run(train_steps: int, profile: str | None) -> dict:
    watch = Stopwatch()
    with watch('import'):
        import tensorflow  # noqa: F401
        from tfx import v1  # noqa: F401

        from savedmodel_estimator_tfx.pipelines import cli  # noqa: F401
    timings = Timings()
    runs: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix='bench-pipeline-') as root,
        timing_executors(timings),
    ):
        data = seed_data(tempfile.mkdtemp(dir=root))
        args = [
            'run',
            *('--saved-model', str(saved_model_dir('seed'))),
            *('--data', data),
            *('--output-dir', os.path.join(root, 'out')),
            *('--train-steps', str(train_steps)),
            *('--threshold', 'loss>=0'),  # always blessed, so BatchPredictor predicts
        ]
        for name in ('first', 'cached'):
            timings.reset()
            with maybe_profile(profile if name == 'first' else None), watch(name):
                run_sme(args)
            executors, sdist = sum(timings.executors.values()), sum(timings.sdist)
            runs[name] = {
                'total_s': watch.seconds[name],
                'work_s': round(executors - sdist, 4),
                'beam_sdist_s': round(sdist, 4),
                'orchestration_s': round(watch.seconds[name] - executors, 4),
                'executors_s': dict(timings.executors),
            }
    first = runs['first']
    return {
        'case': 'pipeline_overhead',
        'impl': 'sme_run',
        'model': 'seed',
        'train_steps': train_steps,
        'total_s': first['total_s'],
        'work_s': first['work_s'],
        'orchestration_s': first['orchestration_s'],
        'beam_sdist_s': first['beam_sdist_s'],
        'cached_total_s': runs['cached']['total_s'],
        'runs': runs,
        'import_s': watch.seconds['import'],
        'peak_rss_mb': peak_rss_mb()['self'],
        'environment': environment_facts(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--train-steps', type=int, default=100)
    parser.add_argument('--profile', help='write a cProfile summary of the first run here')
    args = parser.parse_args(argv)
    emit(run(args.train_steps, args.profile))


if __name__ == '__main__':
    main()
