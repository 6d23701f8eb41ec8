"""One run of one implementation's train, evaluate or predict; prints one result line.

    .venv-legacy/bin/python -m benchmarks.cases.train_eval_predict --impl ours --model wide --what train
    .venv-reference/bin/python -m benchmarks.cases.train_eval_predict --impl original ...

`ours` is `savedmodel_estimator.SavedModelEstimator` (any environment); `original` is the real one
from tensorflow-estimator, importable only in `.venv-reference`. Both get the same export, the
same input function and a fresh `model_dir`. A `SessionRunHook` stamps the time after every
`Session.run`, so the result separates the set-up before the first step (graph import, session
start, restore), the steady state, and the tear-down after the last step (final checkpoint).

For train, the timed `train(steps=N)` call comes first in the process, as a user's first call
would; a second call, `train(steps=--steady-steps)` on the same estimator (resuming from the
first call's checkpoint), gives the steady-state rate over a window long enough to average out
a shared machine's bursts. Both implementations are measured the same way.
"""

from __future__ import annotations

import argparse
import importlib
import os
import tempfile
import time
from typing import Any

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from benchmarks.common import (  # after the log level is set, before TF loads
    Stopwatch,
    emit,
    environment_facts,
    maybe_profile,
    saved_model_dir,
)

IMPLEMENTATIONS = {
    'ours': 'savedmodel_estimator:SavedModelEstimator',
    'original': (
        'tensorflow_estimator.python.estimator.canned.saved_model_estimator:SavedModelEstimator'
    ),
}
# Per model: batch size, and how often the eval rows are repeated for evaluate and predict.
BATCH_SIZES = {'wide': 256, 'seed': 32}
REPEATS = {'wide': 10, 'seed': 100}


def load_class(impl: str) -> Any:
    module, _, name = IMPLEMENTATIONS[impl].partition(':')
    return getattr(importlib.import_module(module), name)


def steady_rate(stamps: list[float], skip: int, per_step: int = 1) -> float | None:
    """Steps (times `per_step`) per second between stamp `skip` and the last stamp."""
    if len(stamps) < skip + 2:
        return None
    return per_step * (len(stamps) - 1 - skip) / (stamps[-1] - stamps[skip])


def summarize(
    stamps: list[float], start: float, end: float, skip: int, per_step: int, examples: int
) -> dict[str, Any]:
    """The call's wall time split into set-up, steady state and tear-down."""
    call = end - start
    return {
        'call_s': round(call, 4),
        'setup_s': round(stamps[0] - start, 4) if stamps else None,
        'teardown_s': round(end - stamps[-1], 4) if stamps else None,
        'steps': len(stamps),
        'examples': examples,
        'call_examples_per_s': round(examples / call, 1),
        'steady_steps_per_s': _round(steady_rate(stamps, skip)),
        'steady_examples_per_s': _round(steady_rate(stamps, skip, per_step)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def run(
    impl: str,
    model: str,
    what: str,
    steps: int,
    skip: int,
    profile: str | None,
    steady_steps: int = 0,
) -> dict:
    watch = Stopwatch()
    with watch('import_tensorflow'):
        import tensorflow as tf
    with watch('import_implementation'):
        estimator_class = load_class(impl)
    from benchmarks import inputs

    class StepStamps(tf.compat.v1.train.SessionRunHook):
        def __init__(self) -> None:
            self.stamps: list[float] = []

        def after_run(self, run_context: Any, run_values: Any) -> None:
            self.stamps.append(time.perf_counter())

    batch = BATCH_SIZES[model]
    repeats = REPEATS[model]
    hook = StepStamps()
    with tempfile.TemporaryDirectory(prefix='bench-model-dir-') as model_dir:
        with watch('construct'):
            estimator = estimator_class(str(saved_model_dir(model)), model_dir=model_dir)
        with maybe_profile(profile):
            start = time.perf_counter()
            if what == 'train':
                estimator.train(inputs.train_input_fn(model, batch), hooks=[hook], steps=steps)
                examples = steps * batch
            elif what == 'evaluate':
                metrics = estimator.evaluate(
                    inputs.eval_input_fn(model, batch, repeats), hooks=[hook]
                )
                examples = repeats * inputs.count_records(model, 'eval')
            else:
                predictions = estimator.predict(
                    inputs.predict_input_fn(model, batch, repeats), hooks=[hook]
                )
                examples = sum(1 for _ in predictions)
            end = time.perf_counter()
        steady: dict[str, Any] = {}
        if what == 'train' and steady_steps:
            second = StepStamps()
            estimator.train(inputs.train_input_fn(model, batch), hooks=[second], steps=steady_steps)
            rate = steady_rate(second.stamps, skip)
            steady = {
                'steady_window_steps': steady_steps - skip,
                'steady_steps_per_s': _round(rate),
                'steady_examples_per_s': _round(rate * batch if rate else None),
                'first_call_steady_steps_per_s': _round(steady_rate(hook.stamps, skip)),
            }
        check: dict[str, Any] = {}
        if what == 'train':
            check['global_step'] = int(estimator.get_variable_value('global_step'))
        elif what == 'evaluate':
            check['loss'] = float(metrics['loss'])
    stamps = hook.stamps
    if what != 'train' and stamps and examples % batch:
        stamps = stamps[:-1]  # the last batch is smaller: keep the steady rate per full batch
    result = {**summarize(stamps, start, end, skip, batch, examples), **steady}
    return {
        'case': 'train_eval_predict',
        'impl': impl,
        'model': model,
        'what': what,
        'batch_size': batch,
        'skip_steps': skip,
        **result,
        'check': check,
        'phases_s': watch.seconds,
        'environment': environment_facts(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--impl', choices=sorted(IMPLEMENTATIONS), required=True)
    parser.add_argument('--model', choices=sorted(BATCH_SIZES), required=True)
    parser.add_argument('--what', choices=('train', 'evaluate', 'predict'), required=True)
    parser.add_argument('--steps', type=int, default=200, help='train(steps=...) [200]')
    parser.add_argument('--skip', type=int, default=20, help='steps left out of steady state')
    parser.add_argument(
        '--steady-steps',
        type=int,
        default=600,
        help='train: a second call of this many steps gives the steady state [600; 0: none]',
    )
    parser.add_argument('--profile', help='write a cProfile summary of the call here')
    args = parser.parse_args(argv)
    emit(
        run(
            args.impl, args.model, args.what, args.steps, args.skip, args.profile, args.steady_steps
        )
    )


if __name__ == '__main__':
    main()
