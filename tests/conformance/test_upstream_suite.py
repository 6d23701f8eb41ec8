"""The upstream SavedModelEstimator test file, ported to our core.

Each test of tensorflow_estimator/python/estimator/canned/saved_model_estimator_test.py (2.15.0)
runs on the SavedModel that test exports (tests/data/upstream_suite/<scenario>/, made by the real
tf.estimator) and asserts what the real SavedModelEstimator returned in expected.json: the same
calls as tests/data/tools/make_upstream_scenarios.py replayed. Where an upstream test has no
fixture of its own it reuses one exported by the same model_fn. Re-exports use our
`savedmodel_estimator.export` receivers with TensorSpec templates matching the original export.
"""

from __future__ import annotations

import itertools
import os
import pathlib
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from savedmodel_estimator import ModeKeys, SavedModelEstimator, export
from tests.conformance import fixture_data

pytestmark = pytest.mark.core

# The signatures of every fixture with an 'x' input: int32 [None, 1], label the same.
FEATURE_SPECS = {'x': tf.TensorSpec([None, 1], tf.int32)}
LABEL_SPEC = tf.TensorSpec([None, 1], tf.int32)
# What the upstream test asserts for model_fn_diff_modes before any training, with the kinds the
# original returned (loss and metric as float, global_step as int; reexport/expected.json).
EVALUATE_UNTRAINED = {'global_step': 10, 'loss': 106.0, 'metrics/abs_err': 502.0}
PREDICT_DIFF_MODES = {'output': 503}
# Every fixture folder a test below uses; a new folder without a test fails the suite.
SCENARIOS_USED = {
    'assets',
    'bad_input',
    'control_dependency',
    'eval_only',
    'load_all_modes',
    'local_init_op',
    'no_eval',
    'reexport',
    'saveable_resources',
    'serving_only_classification',
    'trackable_table',
    'working_input_fn',
}


def dummy_input_fn():
    return tf.compat.v1.data.Dataset.from_tensors(
        ({'x': tf.constant([[1], [-2]], name='feature_x')}, tf.constant([[4], [-3]], name='truth'))
    ).repeat()


def dummy_input_fn_features_only():
    return tf.compat.v1.data.Dataset.from_tensors(
        {'x': tf.constant([[5], [6]], name='feature_x')}
    ).repeat()


def serving_receiver_fn():
    return export.build_raw_serving_input_receiver_fn(FEATURE_SPECS)


def receiver_fn_map() -> dict[str, Any]:
    supervised = export.build_raw_supervised_input_receiver_fn(FEATURE_SPECS, LABEL_SPEC)
    return {
        ModeKeys.TRAIN: supervised,
        ModeKeys.EVAL: supervised,
        ModeKeys.PREDICT: serving_receiver_fn(),
    }


def first_prediction(estimator, input_fn) -> dict[str, Any]:
    """next(predict(...)) as upstream does: these input_fns repeat, so predict never ends."""
    predictions = estimator.predict(input_fn)
    try:
        return next(predictions)
    finally:
        predictions.close()


def assert_same(actual: Any, expected: Any, where: str = 'result') -> None:
    """Asserts a result equals the original's: same keys, int/float kind and value.

    The values are integers and float32 constants (505.2), so float32 rounding is the only slack.
    """
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f'{where}: {actual!r} is not a dict'
        assert sorted(actual) == sorted(expected), f'{where}: keys {sorted(actual)}'
        for key, value in expected.items():
            assert_same(actual[key], value, f'{where}[{key!r}]')
        return
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f'{where}: shape {actual.shape} != {expected.shape}'
    kinds = 'iu' if expected.dtype.kind == 'i' else 'f'
    assert actual.dtype.kind in kinds, (
        f'{where}: {actual.dtype}, the original gave {expected.dtype}'
    )
    np.testing.assert_allclose(actual, expected, rtol=1e-6, err_msg=where)


def assert_evaluates(estimator, steps: int, expected: dict[str, Any]) -> None:
    assert_same(estimator.evaluate(dummy_input_fn, steps=steps), expected, f'evaluate({steps=})')


def assert_variable(estimator, name: str, expected: Any) -> None:
    assert_same(estimator.get_variable_value(name), expected, f'get_variable_value({name!r})')


def assert_exported_under(path: Any, base: str) -> str:
    """Asserts an export went where the original puts it; returns the path as str.

    The original returns the new directory as bytes, <base>/<timestamp>.
    """
    assert isinstance(path, bytes), f'export returned {type(path).__name__}, the original bytes'
    text = path.decode()
    assert os.path.dirname(text) == base and os.path.basename(text).isdigit(), text
    return text


class Workspace:
    """Fresh copies of fixtures, model_dirs and export bases under one tmp_path."""

    def __init__(self, tmp_path: pathlib.Path) -> None:
        self.tmp_path = tmp_path
        self._n = itertools.count()

    def new_dir(self, prefix: str) -> str:
        path = self.tmp_path / f'{prefix}_{next(self._n)}'
        path.mkdir()
        return str(path)

    def copy(self, scenario: str) -> str:
        source = fixture_data.UPSTREAM_DIR / scenario / 'saved_model'
        return fixture_data.copy_saved_model(source, self.tmp_path / scenario / 'saved_model')

    def estimator(self, scenario_or_dir: str | bytes) -> SavedModelEstimator:
        """A SavedModelEstimator on a scenario's fixture (copied) or on an exported directory."""
        source = scenario_or_dir
        if isinstance(source, str) and not os.path.isabs(source):
            source = self.copy(source)
        return SavedModelEstimator(source, self.new_dir('model_dir'))


@pytest.fixture
def work(tmp_path) -> Workspace:
    return Workspace(tmp_path)


def test_every_scenario_is_ported():
    assert fixture_data.scenario_names() == sorted(SCENARIOS_USED)


def test_load_all_modes(work):
    expected = fixture_data.load_expected('load_all_modes')
    est = work.estimator('load_all_modes')
    est.train(input_fn=dummy_input_fn, steps=1)
    est.train(input_fn=dummy_input_fn, steps=2)
    assert_variable(est, 'global_step', expected['global_step'])
    assert_variable(est, 'some_var', expected['some_var'])
    assert_evaluates(est, 5, expected['evaluate'])
    assert_same(first_prediction(est, dummy_input_fn_features_only), expected['predict_first'])
    assert sorted(est.get_variable_names()) == expected['variable_names']


def test_load_all_modes_no_train(work):
    """All functions work without a checkpoint in model_dir: they read the SavedModel's."""
    est = work.estimator('load_all_modes')
    assert_evaluates(est, 5, EVALUATE_UNTRAINED)
    assert_same(first_prediction(est, dummy_input_fn_features_only), PREDICT_DIFF_MODES)


def test_partial_export_eval_only(work):
    expected = fixture_data.load_expected('eval_only')
    est = work.estimator('eval_only')
    assert_evaluates(est, 5, expected['evaluate'])
    fixture_data.raises_like(
        expected['train_error'],
        est.train,
        input_fn=dummy_input_fn,
        steps=1,
        match='train mode is not available',
    )
    fixture_data.raises_like(
        expected['predict_error'],
        first_prediction,
        est,
        dummy_input_fn_features_only,
        match='infer mode is not available',
    )


def test_partial_export_no_eval(work):
    expected = fixture_data.load_expected('no_eval')
    est = work.estimator('no_eval')
    est.train(input_fn=dummy_input_fn, steps=1)
    assert_variable(est, 'global_step', expected['global_step'])
    assert_same(first_prediction(est, dummy_input_fn_features_only), expected['predict_first'])
    fixture_data.raises_like(
        expected['evaluate_error'],
        est.evaluate,
        dummy_input_fn,
        steps=5,
        match='eval mode is not available',
    )


def bad_shape_input_fn():
    return tf.compat.v1.data.Dataset.from_tensors(
        ({'x': tf.constant([1, 2], dtype=tf.int64)}, tf.constant([1, 2], dtype=tf.float32))
    )


def bad_dtype_input_fn():
    return tf.compat.v1.data.Dataset.from_tensors(
        ({'x': tf.constant([[1], [1]], dtype=tf.int32)}, tf.constant([[1], [1]], dtype=tf.int64))
    )


def global_step_input_fn():
    tf.compat.v1.train.get_or_create_global_step()
    return tf.compat.v1.data.Dataset.from_tensors(
        ({'x': tf.constant([[1], [1]], dtype=tf.int64)}, tf.constant([[1], [1]], dtype=tf.float32))
    )


@pytest.mark.parametrize(
    ('input_fn', 'recorded', 'upstream_pattern'),
    [
        (bad_shape_input_fn, 'bad_shape_error', 'Expected shape'),
        (bad_dtype_input_fn, 'bad_dtype_error', 'Expected dtype'),
        (global_step_input_fn, 'global_step_error', 'Graph must not contain a global step tensor'),
    ],
    ids=['with_incorrect_input-shape', 'with_incorrect_input-dtype', 'input_fn_with_global_step'],
)
def test_bad_input(work, input_fn, recorded, upstream_pattern):
    est = work.estimator('bad_input')
    expected = fixture_data.load_expected('bad_input')[recorded]
    fixture_data.raises_like(expected, est.train, input_fn, steps=1, match=upstream_pattern)


def test_re_export_saved_model_serving_only(work):
    est = work.estimator('reexport')
    est.train(dummy_input_fn, steps=3)
    assert_variable(est, 'global_step', 13)
    assert_variable(est, 'some_var', 60)
    assert_same(first_prediction(est, dummy_input_fn_features_only), PREDICT_DIFF_MODES)

    base = work.new_dir('export')
    serving_dir = est.export_saved_model(base, serving_receiver_fn())
    assert_exported_under(serving_dir, base)
    reloaded = work.estimator(serving_dir)
    assert_same(first_prediction(reloaded, dummy_input_fn_features_only), PREDICT_DIFF_MODES)
    with pytest.raises(RuntimeError, match='train mode is not available'):
        reloaded.train(dummy_input_fn, steps=1)


def test_re_export_saved_model(work):
    expected = fixture_data.load_expected('reexport')
    est = work.estimator('reexport')
    assert_evaluates(est, 1, expected['evaluate_before'])
    est.train(dummy_input_fn, steps=3)
    assert_evaluates(est, 1, expected['evaluate_after_train'])
    assert_variable(est, 'some_var', 60)

    serving_dir = est.export_saved_model(work.new_dir('export'), serving_receiver_fn())
    serving = work.estimator(serving_dir)
    predicted = first_prediction(serving, dummy_input_fn_features_only)
    assert_same(predicted, expected['serving_reexport_predict_first'])

    base = work.new_dir('export')
    all_dir = est.experimental_export_all_saved_models(base, receiver_fn_map())
    assert_exported_under(all_dir, base)
    reloaded = work.estimator(all_dir)
    assert_evaluates(reloaded, 1, expected['all_reexport_evaluate'])
    reloaded.train(dummy_input_fn, steps=7)
    step = expected['all_reexport_global_step_after_train_7']
    assert_variable(reloaded, 'global_step', step)
    assert_variable(reloaded, 'some_var', expected['all_reexport_some_var_after_train_7'])
    assert_same(first_prediction(reloaded, dummy_input_fn_features_only), PREDICT_DIFF_MODES)


def test_re_export_saved_model_with_trackable(work):
    expected = fixture_data.load_expected('trackable_table')
    est = work.estimator('trackable_table')
    assert_evaluates(est, 1, expected['evaluate_before'])
    est.train(dummy_input_fn, steps=3)
    assert_evaluates(est, 1, expected['evaluate_after'])
    assert_variable(est, 'some_var', expected['some_var'])
    predicted = first_prediction(est, dummy_input_fn_features_only)
    assert_same(predicted, expected['predict_first'])

    all_dir = est.experimental_export_all_saved_models(work.new_dir('export'), receiver_fn_map())
    reloaded = work.estimator(all_dir)
    reloaded.train(dummy_input_fn, steps=7)
    after = expected['upstream_asserts']['after_reexport_all_and_train_7']
    assert_variable(reloaded, 'global_step', after['global_step'])
    # 81 = 60 (last value) + 3 (per step) * 7 (steps)
    assert_variable(reloaded, 'some_var', after['some_var'])
    # The table's value (2.2) came through both the re-export and the second training.
    predicted = first_prediction(reloaded, dummy_input_fn_features_only)
    assert_same(predicted, expected['predict_first'])


def test_load_saved_model_from_serving_only(work):
    expected = fixture_data.load_expected('serving_only_classification')
    est = work.estimator('serving_only_classification')
    predicted = first_prediction(est, lambda: {'inputs': tf.constant('someinputstr')})
    assert_same(predicted, expected['predict_first'])


def test_with_local_init_op(work):
    expected = fixture_data.load_expected('local_init_op')
    est = work.estimator('local_init_op')
    assert_evaluates(est, 2, expected['evaluate_1'])
    est.train(dummy_input_fn, steps=1)
    assert_variable(est, 'some_var', expected['some_var'])
    assert_evaluates(est, 5, expected['evaluate_2'])


def test_with_assets(work):
    saved_model_dir = work.copy('assets')
    est = work.estimator(saved_model_dir)
    est.train(dummy_input_fn, steps=1)
    # expected.json's rule: the asset path is rewritten to where the SavedModel was loaded from.
    asset = os.path.join(saved_model_dir, 'assets', 'test_asset')
    assert_variable(est, 'some_var', fixture_data.hash_bucket(asset, 1000))


def test_with_working_input_fn(work):
    expected = fixture_data.load_expected('working_input_fn')
    est = work.estimator('working_input_fn')
    assert_evaluates(est, 1, expected['evaluate'])
    assert_same(first_prediction(est, dummy_input_fn_features_only), expected['predict_first'])


def test_control_dependency(work):
    """Control inputs ('^x') of the imported graph are mapped to the input_fn's tensors too."""
    expected = fixture_data.load_expected('control_dependency')
    est = work.estimator('control_dependency')
    assert_evaluates(est, 1, expected['evaluate'])


def constant_input_fn(features, labels=None):
    def input_fn():
        x = {'x': tf.constant(features, name='feature_x')}
        if labels is None:
            return tf.compat.v1.data.Dataset.from_tensors(x).repeat()
        return tf.compat.v1.data.Dataset.from_tensors((x, tf.constant(labels))).repeat()

    return input_fn


def test_saveable_resources(work):
    """The exported table maps 1 -> 4 and -2 -> -3 (dummy_input_fn); training adds 5 -> 6."""
    expected = fixture_data.load_expected('saveable_resources')
    est = work.estimator('saveable_resources')
    lookup_5 = first_prediction(est, constant_input_fn([[5]]))['output']
    assert_same(lookup_5, expected['predict_5_before'])
    assert_same(first_prediction(est, constant_input_fn([[1]]))['output'], expected['predict_1'])
    est.train(constant_input_fn([[5]], [[6]]), steps=1)
    lookup_5 = first_prediction(est, constant_input_fn([[5]]))['output']
    assert_same(lookup_5, expected['predict_5_after'])
