"""The original SavedModelEstimator and ours, side by side on the same calls.

Runs only in .venv-reference (TF 2.15.1 + tensorflow-estimator 2.15.0 with our core installed),
where both share one process. The models are exported by the real tf.estimator with
tools/export_reference_models.py into a session temp dir. Each scenario gives the original and
ours a fresh model_dir each, makes the same calls and compares results, variables and errors.
"""

from __future__ import annotations

import collections
import importlib.util
import itertools
import os
from typing import Any

import pytest
import tensorflow as tf

from savedmodel_estimator import export as our_export
from tests.conformance import fixture_data
from tests.conformance.side_by_side import (
    CountingHook,
    CountingListener,
    Pair,
    checkpoint_names,
    run_signature,
    summaries,
)

pytestmark = pytest.mark.reference

# .venv has tensorflow-estimator 2.15 (a TFX dependency) that fails to import on TF 2.16: an
# ImportError, not a missing module, so it must skip too.
pytest.importorskip('tensorflow_estimator', exc_type=ImportError)
Original = pytest.importorskip(
    'tensorflow_estimator.python.estimator.canned.saved_model_estimator'
).SavedModelEstimator
export_lib = pytest.importorskip('tensorflow_estimator.python.estimator.export.export_lib')


def _load_export_tool() -> Any:
    path = fixture_data.REPO / 'tools' / 'export_reference_models.py'
    spec = importlib.util.spec_from_file_location('export_reference_models', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


models = _load_export_tool()
EXPORT_STEPS = models.TRAIN_STEPS
PREDICT = models.ModeKeys.PREDICT
NOT_A_HOOK = object()  # one object, so both error messages show the same repr


def docs_predict_dataset() -> tf.data.Dataset:
    return tf.data.Dataset.from_tensors(models.docs_predict_input_fn())


# model -> (train and eval input_fn, finite predict input_fn, receiver fns factory)
INPUTS = {
    'docs_example': (models.docs_input_fn, docs_predict_dataset, models.docs_receiver_fns),
    'dnn_regressor': (
        models.regressor_input_fn,
        models.regressor_predict_input_fn,
        models.regressor_receiver_fns,
    ),
}


@pytest.fixture(scope='session')
def exported(tmp_path_factory) -> dict[str, str]:
    """name -> SavedModel dir of every model the export tool makes, exported once a session."""
    out = str(tmp_path_factory.mktemp('reference_models'))
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    return {name: models.export_model(name, out) for name in models.MODELS}


@pytest.fixture
def make_pair(exported, tmp_path):
    """make_pair(model or SavedModel path) -> a fresh Pair with its own model_dirs."""
    counter = itertools.count()

    def make(model: str) -> Pair:
        saved_model_dir = exported.get(model, model)
        return Pair.create(Original, saved_model_dir, tmp_path / f'pair{next(counter)}')

    return make


def test_hooks_and_listeners_see_the_same_calls(make_pair, compare):
    pair = make_pair('dnn_regressor')

    def run(est):
        train_hook, listener, eval_hook, predict_hook = (
            CountingHook(),
            CountingListener(),
            CountingHook(),
            CountingHook(),
        )
        est.train(
            models.regressor_input_fn, hooks=[train_hook], steps=5, saving_listeners=[listener]
        )
        metrics = est.evaluate(models.regressor_input_fn, steps=2, hooks=[eval_hook])
        rows = list(est.predict(models.regressor_predict_input_fn, hooks=[predict_hook]))
        counts = [train_hook.counts, eval_hook.counts, predict_hook.counts]
        return counts, listener.events, metrics, rows

    theirs, ours = pair.both(run)
    assert ours[:2] == theirs[:2], 'hook counts and listener events (ours, theirs)'
    assert theirs[0][0]['before_run'] == 5
    compare.metrics(theirs[2], ours[2])
    compare.predictions(theirs[3], ours[3])
    compare.variables(pair)


def test_max_steps_is_absolute_and_a_no_op_once_reached(make_pair, compare):
    pair = make_pair('dnn_regressor')
    pair.both(lambda est: est.train(models.regressor_input_fn, max_steps=EXPORT_STEPS + 4))
    compare.global_step(pair, EXPORT_STEPS + 4)
    compare.variables(pair)
    saved = pair.both(lambda est: checkpoint_names(est.model_dir))

    def train_again(est):
        hook = CountingHook()
        est.train(models.regressor_input_fn, hooks=[hook], max_steps=EXPORT_STEPS + 2)
        return hook.counts

    assert pair.both(train_again) == (collections.Counter(), collections.Counter())
    compare.global_step(pair, EXPORT_STEPS + 4)
    assert pair.both(lambda est: checkpoint_names(est.model_dir)) == saved


def test_steps_add_up_across_train_calls(make_pair, compare):
    pair = make_pair('dnn_regressor')
    for _ in range(2):
        pair.both(lambda est: est.train(models.regressor_input_fn, steps=3))
    compare.global_step(pair, EXPORT_STEPS + 6)
    compare.variables(pair)
    theirs, ours = pair.both(lambda est: checkpoint_names(est.model_dir))
    assert ours == theirs


def test_evaluate_an_older_checkpoint(make_pair, compare):
    pair = make_pair('dnn_regressor')
    for _ in range(2):
        pair.both(lambda est: est.train(models.regressor_input_fn, steps=4))
    older = f'model.ckpt-{EXPORT_STEPS + 4}'
    theirs, ours = pair.both(lambda est: checkpoint_names(est.model_dir))
    assert ours == theirs and older in theirs
    results = pair.both(
        lambda est: est.evaluate(
            models.regressor_input_fn, steps=1, checkpoint_path=os.path.join(est.model_dir, older)
        )
    )
    compare.metrics(*results)
    assert results[1]['global_step'] == EXPORT_STEPS + 4
    compare.metrics(*pair.both(lambda est: est.evaluate(models.regressor_input_fn, steps=1)))


def test_evaluate_with_a_name_writes_its_own_eval_dir(make_pair, compare):
    pair = make_pair('docs_example')
    pair.both(lambda est: est.train(models.docs_input_fn, steps=2))
    compare.metrics(
        *pair.both(lambda est: est.evaluate(models.docs_input_fn, steps=1, name='validation'))
    )
    theirs, ours = (est.eval_dir('validation') for est in (pair.theirs, pair.ours))
    assert os.path.relpath(ours, pair.ours.model_dir) == 'eval_validation'
    assert os.path.relpath(theirs, pair.theirs.model_dir) == 'eval_validation'
    assert any(n.startswith('events.out.tfevents') for n in os.listdir(ours))
    theirs, ours = summaries(theirs, pair.theirs.model_dir), summaries(ours, pair.ours.model_dir)
    assert [s[:2] for s in ours] == [s[:2] for s in theirs], '(step, tag) of each summary'
    assert ('checkpoint_path', '<model_dir>/model.ckpt-12') in [s[1:] for s in theirs]
    for (_, tag, mine), (_, _, other) in zip(ours, theirs, strict=True):
        compare.values(other, mine, f'summary {tag!r}')


@pytest.mark.parametrize(
    ('model', 'keys'),
    [
        ('docs_example', ['scores']),
        ('docs_example', ['classes', 'scores']),
        ('dnn_regressor', ['outputs']),
    ],
)
def test_predict_keys(make_pair, compare, model, keys):
    pair = make_pair(model)
    predict_input_fn = INPUTS[model][1]
    theirs, ours = pair.both(lambda est: list(est.predict(predict_input_fn, predict_keys=keys)))
    assert sorted(theirs[0]) == sorted(keys)
    compare.predictions(theirs, ours)


def test_predict_keys_that_match_no_output(make_pair, compare):
    pair = make_pair('docs_example')
    compare.errors(pair, lambda est: list(est.predict(docs_predict_dataset, predict_keys=['x'])))


@pytest.mark.parametrize('model', sorted(INPUTS))
def test_predict_whole_batches(make_pair, compare, model):
    pair = make_pair(model)
    predict_input_fn = INPUTS[model][1]
    theirs, ours = pair.both(
        lambda est: list(est.predict(predict_input_fn, yield_single_examples=False))
    )
    assert len(theirs) == 1
    compare.predictions(theirs, ours)


def first_prediction(est, predict_input_fn) -> list[dict[str, Any]]:
    """The first prediction of an endless predict(), in a list; the generator is closed."""
    predictions = est.predict(predict_input_fn)
    try:
        return [next(predictions)]
    finally:
        predictions.close()


def test_docs_example_step_3(make_pair, compare):
    pair = make_pair('docs_example')
    compare.metrics(*pair.both(lambda est: est.evaluate(input_fn=models.docs_input_fn, steps=1)))
    pair.both(lambda est: est.train(input_fn=models.docs_input_fn, steps=20))
    compare.global_step(pair, EXPORT_STEPS + 20)
    compare.variables(pair)
    compare.predictions(*pair.both(lambda est: first_prediction(est, models.docs_predict_input_fn)))


def reexport_receiver_fns(model: str, module: Any) -> dict[str, Any]:
    """Receivers, built with `module`, for a SavedModelEstimator of `model` to export with.

    Its model function takes features by the loaded signature's input keys: the serving
    signature's single input is the serialized tf.Examples, under 'inputs'.
    """
    receivers = INPUTS[model][2](module)
    with tf.Graph().as_default():
        serialized = tf.compat.v1.placeholder(tf.string, [None], name='input_example_tensor')
    receivers[PREDICT] = module.build_raw_serving_input_receiver_fn({'inputs': serialized})
    return receivers


@pytest.mark.parametrize('model', sorted(INPUTS))
def test_reexport_for_serving(make_pair, compare, tmp_path, model):
    """Each exports with its own receiver helpers; both load both exports and agree."""
    predict_input_fn = INPUTS[model][1]
    pair = make_pair(model)
    pair.both(lambda est: est.train(INPUTS[model][0], steps=2))
    exports = [
        est.export_saved_model(str(tmp_path / name), reexport_receiver_fns(model, module)[PREDICT])
        for est, module, name in (
            (pair.theirs, export_lib, 'theirs'),
            (pair.ours, our_export, 'ours'),
        )
    ]
    expected = list(pair.theirs.predict(predict_input_fn))
    for export_dir in exports:
        reloaded = make_pair(os.fsdecode(export_dir))
        for rows in reloaded.both(lambda est: list(est.predict(predict_input_fn))):
            compare.predictions(expected, rows)
        compare.errors(reloaded, lambda est: est.train(INPUTS[model][0], steps=1))
        compare.errors(reloaded, lambda est: est.evaluate(INPUTS[model][0], steps=1))
        compare.errors(reloaded, lambda est: est.get_variable_names())


@pytest.mark.parametrize('model', sorted(INPUTS))
def test_export_all_then_continue(make_pair, compare, tmp_path, model):
    """Each exports all modes with its own receiver helpers; both continue from both exports."""
    input_fn = INPUTS[model][0]
    pair = make_pair(model)
    pair.both(lambda est: est.train(input_fn, steps=2))
    exports = [
        est.experimental_export_all_saved_models(
            str(tmp_path / name), reexport_receiver_fns(model, module)
        )
        for est, module, name in (
            (pair.theirs, export_lib, 'theirs'),
            (pair.ours, our_export, 'ours'),
        )
    ]

    def continue_from(est):
        metrics = est.evaluate(input_fn, steps=1)
        est.train(input_fn, steps=3)
        return metrics

    reloaded = [make_pair(os.fsdecode(export_dir)) for export_dir in exports]
    expected = continue_from(reloaded[0].theirs)
    assert expected['global_step'] == EXPORT_STEPS + 2
    compare.metrics(expected, continue_from(reloaded[0].ours))
    compare.variables(reloaded[0])
    compare.global_step(reloaded[0], EXPORT_STEPS + 5)
    for metrics in reloaded[1].both(continue_from):
        compare.metrics(expected, metrics)
    compare.variables(reloaded[1])
    compare.variables(Pair(reloaded[0].theirs, reloaded[1].ours))


def sparse_supervised() -> dict[str, Any]:
    return {**models.sparse_features(), 'label': models.sparse_labels()}


def test_sparse_input(make_pair, compare, exported, tmp_path):
    """The original cannot feed a SparseTensor signature input: ours must match the graph run."""
    pair = make_pair('sparse_input')
    known_limitation = 'requires a non-empty `name` if `input_map` contains non-Tensor values'
    for call in (
        lambda est: est.evaluate(models.sparse_input_fn, steps=1),
        lambda est: est.train(models.sparse_input_fn, steps=1),
        lambda est: list(est.predict(models.sparse_predict_input_fn)),
    ):
        with pytest.raises(ValueError, match=known_limitation):
            call(pair.theirs)

    saved_model_dir = exported['sparse_input']
    loss, _, accuracy = run_signature(
        saved_model_dir,
        ['eval'],
        'eval',
        sparse_supervised,
        ['loss', 'metrics/accuracy/update_op', 'metrics/accuracy/value'],
    )
    metrics = pair.ours.evaluate(models.sparse_input_fn, steps=1)
    compare.metrics({'loss': loss, 'metrics/accuracy': accuracy, 'global_step': 10}, metrics)

    def predict_directly(saved_model_dir):
        outputs = ['logits', 'probabilities']
        values = run_signature(
            saved_model_dir, ['serve'], 'serving_default', models.sparse_features, outputs
        )
        return [dict(zip(outputs, values, strict=True))]

    predict = models.sparse_predict_input_fn
    compare.predictions(
        predict_directly(saved_model_dir), pair.ours.predict(predict, yield_single_examples=False)
    )
    pair.ours.train(models.sparse_input_fn, steps=3)
    export_dir = pair.ours.experimental_export_all_saved_models(
        str(tmp_path / 'export'), models.sparse_receiver_fns(our_export)
    )
    compare.predictions(
        predict_directly(os.fsdecode(export_dir)),
        pair.ours.predict(predict, yield_single_examples=False),
    )
    assert pair.ours.get_variable_value('global_step') == EXPORT_STEPS + 3


@pytest.mark.parametrize(
    'call',
    [
        lambda est: est.train(models.regressor_input_fn, steps=0),
        lambda est: est.train(models.regressor_input_fn, steps=-1),
        lambda est: est.train(models.regressor_input_fn, max_steps=0),
        lambda est: est.train(models.regressor_input_fn, steps=1, max_steps=20),
        lambda est: est.train(models.regressor_input_fn, steps=1, hooks=[NOT_A_HOOK]),
        lambda est: est.train(models.regressor_input_fn, steps=1, saving_listeners=[NOT_A_HOOK]),
        lambda est: est.evaluate(models.regressor_input_fn, steps=0),
        lambda est: est.evaluate(models.regressor_input_fn, steps=-3),
        lambda est: est.get_variable_names(),
        lambda est: est.get_variable_value('global_step'),
    ],
    ids=[
        'train-steps-0',
        'train-steps-negative',
        'train-max_steps-0',
        'train-steps-and-max_steps',
        'train-hook-not-a-hook',
        'train-listener-not-a-listener',
        'evaluate-steps-0',
        'evaluate-steps-negative',
        'get_variable_names-before-train',
        'get_variable_value-before-train',
    ],
)
def test_invalid_calls_raise_the_same_error(make_pair, compare, call):
    pair = make_pair('dnn_regressor')
    compare.errors(pair, call)
    theirs, ours = pair.both(lambda est: checkpoint_names(est.model_dir))
    assert ours == theirs == []
    latest = pair.both(lambda est: os.path.relpath(est.latest_checkpoint(), est.saved_model_dir))
    assert latest == ('variables/variables', 'variables/variables')
