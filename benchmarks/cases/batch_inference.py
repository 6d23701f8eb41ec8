"""One batch-inference run over N generated examples; prints one result line.

    .venv-legacy/bin/python -m benchmarks.cases.batch_inference --impl batch_predictor --n 200000
    tools/lane latest .venv-latest/bin/python -m benchmarks.cases.batch_inference ...  (latest lane)

* `batch_predictor`: our BatchPredictor executor (`pipelines.stages.run_predict`), Beam
  DirectRunner, PredictionLogs out (`--output-format parquet` or `jsonl`: rows instead).
* `bulk_inferrer`: the stock TFX BulkInferrer executor (tfx-bsl RunInference) of the environment's
  TFX, on the same Model and Examples artifacts, the same runner options, PredictionLogs out.
* `bare`: the limit: the serving signature in one `tf.compat.v1.Session`, a tight loop of
  `Session.run` over the records held in memory, at the best of a few batch sizes (chosen on a
  prefix); also reported with the time to read the files, and nothing written.

The executors' time includes TFX's sdist of its own install, which TFX's Beam executors build
when their arguments are not empty and name no dependency (`beam_sdist_s`, also reported alone):
stock BulkInferrer does with these arguments; BatchPredictor skips it when Beam runs locally.
It leaves out, for both, what a process pays once before any executor runs in a pipeline:
the imports, and the setuptools import of TFX's first artifact.

Both executors run in this process (DirectRunner in_memory), so peak RSS is this process's
`ru_maxrss`. Children's is reported apart: TFX forks `setup.py sdist` from this process, and a
forked child's peak counts the parent's pages it shares, so it is no measure of extra memory.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from typing import Any

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from benchmarks import data  # after the log level is set, before TF loads
from benchmarks.common import (
    Stopwatch,
    cpu_seconds,
    emit,
    environment_facts,
    maybe_profile,
    peak_rss_mb,
    rss_mb,
)
from benchmarks.tfx_timing import Timings, timing_executors

IMPLS = ('batch_predictor', 'bulk_inferrer', 'bare')
BEAM_ARGS = ('--runner=DirectRunner', '--direct_running_mode=in_memory', '--direct_num_workers=1')
BARE_BATCH_SIZES = (256, 1024, 4096, 16384)
BARE_SWEEP_RECORDS = 32768
PREDICTION_LOG, PARQUET, JSONL = 'prediction_log', 'parquet', 'jsonl'


def count_prediction_logs(uri: str) -> int:
    import tensorflow as tf

    files = tf.io.gfile.glob(os.path.join(uri, 'prediction_logs-*'))
    dataset = tf.data.TFRecordDataset(files, compression_type='GZIP')
    return int(dataset.reduce(0, lambda count, _: count + 1))


def count_jsonl_rows(uri: str) -> int:
    import tensorflow as tf

    files = tf.io.gfile.glob(os.path.join(uri, 'rows', 'Split-*', '*.jsonl'))
    total = 0
    for path in files:
        with open(path, 'rb') as handle:
            total += sum(chunk.count(b'\n') for chunk in iter(lambda: handle.read(1 << 20), b''))
    return total


def count_parquet_rows(uri: str) -> int:
    import pyarrow.parquet as pq
    import tensorflow as tf

    files = tf.io.gfile.glob(os.path.join(uri, 'rows', 'Split-*', '*.parquet'))
    return sum(pq.ParquetFile(path).metadata.num_rows for path in files)


def run_batch_predictor(
    model: str,
    examples: str,
    out: str,
    max_batch_size: int,
    beam_args: list[str],
    output_format: str = PREDICTION_LOG,
) -> dict:
    from savedmodel_estimator_tfx.components.batch_predictor.options import PredictOptions
    from savedmodel_estimator_tfx.pipelines import stages

    options = PredictOptions(max_batch_size=max_batch_size, output_formats=(output_format,))
    props = stages.run_predict(options, model, examples, out, beam_pipeline_args=beam_args)
    return {'reported_examples': next(iter(props.values())).get('num_examples')}


def run_bulk_inferrer(model_uri: str, examples_uri: str, out: str, beam_args: list[Any]) -> dict:
    from tfx import version
    from tfx.components.bulk_inferrer import executor as stock_executor
    from tfx.dsl.components.base import base_beam_executor
    from tfx.types import standard_artifacts, standard_component_specs

    model = standard_artifacts.Model()
    model.uri = model_uri
    # As this TFX's Trainer would record it: the model is read from Format-Serving/.
    model.set_string_custom_property('tfx_version', version.__version__)
    examples = standard_artifacts.Examples()
    examples.uri = examples_uri
    examples.split_names = json.dumps([data.SPLIT])
    result = standard_artifacts.InferenceResult()
    result.uri = out
    context = base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=beam_args)
    stock_executor.Executor(context).Do(
        {
            standard_component_specs.MODEL_KEY: [model],
            standard_component_specs.EXAMPLES_KEY: [examples],
        },
        {standard_component_specs.INFERENCE_RESULT_KEY: [result]},
        {
            standard_component_specs.MODEL_SPEC_KEY: json.dumps(
                {'model_signature_name': ['serving_default']}
            ),
            standard_component_specs.DATA_SPEC_KEY: '{}',
        },
    )
    return {}


def run_bare(model_dir: str, examples_uri: str, watch: Stopwatch) -> dict:
    """The serving signature in a tight `Session.run` loop; returns rates and the chosen batch."""
    import numpy as np
    import tensorflow as tf

    with watch('bare_load'):
        graph = tf.Graph()
        session = tf.compat.v1.Session(graph=graph)
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ['serve'], model_dir)
        signature = meta_graph.signature_def['serving_default']
        feed_name = signature.inputs['inputs'].name
        fetches = {k: graph.get_tensor_by_name(v.name) for k, v in signature.outputs.items()}
    with watch('bare_read'):
        files = sorted(tf.io.gfile.glob(os.path.join(examples_uri, f'Split-{data.SPLIT}', '*')))
        dataset = tf.data.TFRecordDataset(files, compression_type='GZIP', buffer_size=1 << 22)
        records = np.concatenate(list(dataset.batch(16384).as_numpy_iterator()))

    def rate(batch_size: int, items: Any) -> tuple[float, int]:
        start = time.perf_counter()
        count = 0
        for i in range(0, len(items), batch_size):
            out = session.run(fetches, {feed_name: items[i : i + batch_size]})
            count += len(out['scores'])
        return count / (time.perf_counter() - start), count

    with watch('bare_sweep'):
        prefix = records[:BARE_SWEEP_RECORDS]
        rate(1024, prefix[:4096])  # warm-up: the first run builds the executor
        sweep = {size: round(rate(size, prefix)[0], 1) for size in BARE_BATCH_SIZES}
    best = max(sweep, key=lambda size: sweep[size])
    with watch('bare_run'):
        model_rate, count = rate(best, records)
    with_read = count / (watch.seconds['bare_read'] + watch.seconds['bare_run'])
    return {
        'bare_batch_sweep_examples_per_s': sweep,
        'bare_best_batch_size': best,
        'model_examples_per_s': round(model_rate, 1),
        'with_read_examples_per_s': round(with_read, 1),
        'predicted': count,
    }


def run(
    impl: str,
    n: int,
    max_batch_size: int | None,
    beam_args: list[str],
    profile: str | None,
    output_format: str = PREDICTION_LOG,
) -> dict:
    watch = Stopwatch()
    with watch('import'):
        import tensorflow  # noqa: F401 (imported before the work is timed)

        if impl == 'batch_predictor':
            from savedmodel_estimator_tfx.pipelines import stages  # noqa: F401
        elif impl == 'bulk_inferrer':
            from tfx.components.bulk_inferrer import executor  # noqa: F401
        if impl != 'bare':
            # TFX's first artifact imports setuptools (~0.1 s, once per process); in a pipeline
            # the orchestrator has made artifacts before any executor runs. Both executors
            # make theirs in the timed work, so it is paid here, for both, before the timer.
            from tfx.types import standard_artifacts

            standard_artifacts.Model()
    from savedmodel_estimator.constants import DEFAULT_MAX_BATCH_SIZE

    max_batch_size = max_batch_size or DEFAULT_MAX_BATCH_SIZE
    examples = str(data.write_examples(n))
    model_uri = str(data.write_model_artifact())
    model_dir = os.path.join(model_uri, 'Format-Serving')
    rss_before = rss_mb()
    extra: dict[str, Any] = {}
    timings = Timings()
    cpu_before = cpu_seconds()
    with tempfile.TemporaryDirectory(prefix='bench-inference-') as out:
        with maybe_profile(profile), watch('work'):
            if impl == 'batch_predictor':
                with timing_executors(timings):
                    extra = run_batch_predictor(
                        model_uri, examples, out, max_batch_size, beam_args, output_format
                    )
            elif impl == 'bulk_inferrer':
                with timing_executors(timings):
                    extra = run_bulk_inferrer(model_uri, examples, out, beam_args)
            else:
                extra = run_bare(model_dir, examples, watch)
        cpu = cpu_seconds() - cpu_before
        if impl != 'bare':
            count = {
                PARQUET: count_parquet_rows,
                JSONL: count_jsonl_rows,
                PREDICTION_LOG: count_prediction_logs,
            }[output_format]
            extra['predicted'] = count(out)
    if extra['predicted'] != n:
        raise RuntimeError(f'{impl} predicted {extra["predicted"]} examples, expected {n}.')
    sdist = sum(timings.sdist)
    if impl == 'bare':  # the rate of the timed full pass, set-up and the batch sweep left out
        timed = watch.seconds['bare_run']
        rates = {'examples_per_s': extra['model_examples_per_s']}
    else:
        timed = watch.seconds['work']
        rates = {
            'examples_per_s': round(n / timed, 1),
            'examples_per_s_without_sdist': round(n / (timed - sdist), 1),
        }
    peak = peak_rss_mb()
    return {
        'case': 'batch_inference',
        'impl': impl,
        'n': n,
        **rates,
        'timed_s': timed,
        'work_s': watch.seconds['work'],
        # CPU time of the work, all threads and waited-for worker processes: what the run cost
        # the machine, less sensitive than wall time to other processes sharing the cores.
        'cpu_s': round(cpu, 3),
        'cpu_us_per_example': round(cpu / n * 1e6, 2),
        # How many cores the work kept busy on average, of how many this process may use.
        'cores_used': round(cpu / watch.seconds['work'], 2),
        'cpus_usable': len(os.sched_getaffinity(0)),
        'beam_sdist_s': round(sdist, 4),
        **extra,
        'max_batch_size': max_batch_size if impl == 'batch_predictor' else None,
        'output_format': output_format if impl != 'bare' else None,
        'rss_before_work_mb': round(rss_before, 1),
        'peak_rss_mb': peak['self'],
        'peak_rss_children_mb': peak['children'],
        'phases_s': watch.seconds,
        'environment': environment_facts(beam_pipeline_args=beam_args),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--impl', choices=IMPLS, required=True)
    parser.add_argument('--n', type=int, required=True, help='examples (generated if missing)')
    parser.add_argument(
        '--max-batch-size', type=int, help="batch_predictor's [its own default, constants.py]"
    )
    parser.add_argument(
        '--beam-arg',
        action='append',
        default=[],
        help=f'replaces the Beam options of both executors (default: {" ".join(BEAM_ARGS)})',
    )
    parser.add_argument(
        '--output-format',
        choices=(PREDICTION_LOG, PARQUET, JSONL),
        default=PREDICTION_LOG,
        help='what batch_predictor writes [prediction_log]',
    )
    parser.add_argument('--profile', help='write a cProfile summary of the work here')
    args = parser.parse_args(argv)
    if args.output_format != PREDICTION_LOG and args.impl != 'batch_predictor':
        parser.error('--output-format is for --impl batch_predictor only')
    beam_args = args.beam_arg or list(BEAM_ARGS)
    emit(run(args.impl, args.n, args.max_batch_size, beam_args, args.profile, args.output_format))


if __name__ == '__main__':
    main()
