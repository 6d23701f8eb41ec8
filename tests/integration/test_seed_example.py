"""The SavedModelEstimator documentation's three-step example, across environments.

Steps 1 and 2 (train a DNNClassifier 10 steps, export all modes) run with the real tf.estimator in
.venv-reference, through tools/export_reference_models.py, which also records what the real
SavedModelEstimator returned for step 3. Step 3 then runs here, on whatever TensorFlow this
environment has, with our SavedModelEstimator, and must return the same numbers.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from savedmodel_estimator import SavedModelEstimator
from tests.support.paths import REPO

pytestmark = pytest.mark.slow

REFERENCE_PYTHON = REPO / '.venv-reference' / 'bin' / 'python'
EXPORT_TOOL = REPO / 'tools' / 'export_reference_models.py'
# float32 after 20 steps on another TensorFlow: see RTOL/ATOL in tests/conformance.
RTOL, ATOL = 1e-5, 1e-6


def input_fn():
    """Step 1's input_fn, as the docstring writes it."""
    features = {
        'feature1': tf.constant(['green', 'green', 'yellow']),
        'feature2': tf.constant([3.5, 4.2, 6.1]),
    }
    label = tf.constant([1.0, 0.0, 0.0])
    return tf.data.Dataset.from_tensors((features, label)).repeat()


def predict_input_fn():
    """Step 3's predict_input_fn; bytes, since protobuf 4 refuses str in a bytes_list."""
    example = tf.train.Example()
    example.features.feature['feature1'].bytes_list.value.extend([b'yellow'])
    example.features.feature['feature2'].float_list.value.extend([1.0])
    return {'inputs': tf.constant([example.SerializeToString()])}


@pytest.fixture(scope='module')
def docs_export(tmp_path_factory) -> pathlib.Path:
    """Steps 1 and 2 by the real tf.estimator: OUT/docs_example/{saved_model,expected.json}."""
    if not REFERENCE_PYTHON.exists():
        pytest.skip(
            f'{REFERENCE_PYTHON} not found: steps 1 and 2 need the real tf.estimator of '
            '.venv-reference; build it with `make setup`.'
        )
    out = tmp_path_factory.mktemp('reference_models')
    command = [REFERENCE_PYTHON, EXPORT_TOOL, '--only', 'docs_example', '--expected', out]
    # A clean environment: importing TFX in this process sets TF_USE_LEGACY_KERAS and friends,
    # which would send TensorFlow 2.15 looking for tf_keras.
    env = {key: os.environ[key] for key in ('PATH', 'HOME', 'LANG', 'TMPDIR') if key in os.environ}
    env['TF_CPP_MIN_LOG_LEVEL'] = '2'
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        pytest.fail(f'{EXPORT_TOOL.name} failed ({done.returncode}):\n{done.stderr[-3000:]}')
    return out / 'docs_example'


@pytest.fixture(scope='module')
def expected(docs_export) -> dict[str, Any]:
    """What the real SavedModelEstimator returned for step 3 (TF 2.15.1)."""
    return json.loads((docs_export / 'expected.json').read_text())


@pytest.fixture(scope='module')
def step_3(docs_export, tmp_path_factory) -> dict[str, Any]:
    """Step 3 with our SavedModelEstimator, recorded like expected.json."""
    est = SavedModelEstimator(docs_export / 'saved_model', tmp_path_factory.mktemp('model_dir'))
    record: dict[str, Any] = {'available_modes': est.available_modes}
    record['evaluate_before_train'] = est.evaluate(input_fn=input_fn, steps=1)
    est.train(input_fn=input_fn, steps=20)
    record['global_step_after_train'] = int(est.get_variable_value('global_step'))
    record['evaluate_after_train'] = est.evaluate(input_fn=input_fn, steps=1)
    predictions = est.predict(predict_input_fn)
    record['first_prediction'] = next(predictions)
    predictions.close()  # predicting from plain tensors yields forever
    record['variables_after_train'] = {
        name: est.get_variable_value(name) for name in est.get_variable_names()
    }
    return record


def assert_close(ours: Any, theirs: Any, what: str) -> None:
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if ours.dtype.kind in 'SO':
        assert np.char.decode(ours.astype(bytes)).tolist() == theirs.tolist(), what
        return
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, err_msg=what)


def test_global_step_goes_from_10_to_30(step_3):
    assert step_3['evaluate_before_train']['global_step'] == 10
    assert step_3['global_step_after_train'] == 30
    assert step_3['evaluate_after_train']['global_step'] == 30


def test_evaluate_returns_the_exported_metrics_and_loss(step_3):
    for metrics in (step_3['evaluate_before_train'], step_3['evaluate_after_train']):
        assert {'metrics/accuracy', 'loss', 'global_step'} <= set(metrics)
        assert 0.0 <= metrics['metrics/accuracy'] <= 1.0


def test_prediction_has_classes_and_scores_summing_to_1(step_3):
    prediction = step_3['first_prediction']
    assert sorted(prediction) == ['classes', 'scores']
    assert prediction['classes'].tolist() == [b'0', b'1']
    assert prediction['scores'].shape == (2,)
    np.testing.assert_allclose(prediction['scores'].sum(), 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    'key', ['evaluate_before_train', 'evaluate_after_train', 'first_prediction']
)
def test_results_equal_the_originals(step_3, expected, key):
    assert sorted(step_3[key]) == sorted(expected[key])
    for name, value in expected[key].items():
        assert_close(step_3[key][name], value, f'{key}[{name!r}]')


def test_variables_equal_the_originals(step_3, expected):
    assert step_3['available_modes'] == expected['available_modes']
    theirs = expected['variables_after_train']
    assert sorted(step_3['variables_after_train']) == sorted(theirs)
    for name, value in theirs.items():
        assert_close(step_3['variables_after_train'][name], value, f'variable {name!r}')
