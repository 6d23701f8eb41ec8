"""Raw-tensor receivers through migration: several inputs, SparseTensor inputs and outputs.

Three exports: the two-input raw model of tests/support/tiny_models.py (served through Keras 3's
TFSMLayer, which cannot call the export's own two-input signature); the sparse raw-receiver
model of tests/support/tiny_models.py (a SparseTensor input and output, serve only); and `sparse_input` of tools/export_reference_models.py, which the real tf.estimator
exports in .venv-reference (train, eval and serve signatures taking a SparseTensor; the original
SavedModelEstimator cannot feed it, ours can). The migrated models run in a probe process
(TensorFlow only); our SavedModelEstimator on the export gives the expected values.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from savedmodel_estimator import SavedModelEstimator
from savedmodel_estimator.migration import migrate
from tests.support.paths import REPO
from tests.support.tiny_models import sparse_input_and_output, two_float_inputs
from tests.unit.test_migrate_probe import run_probe

pytestmark = pytest.mark.core

REFERENCE_PYTHON = REPO / '.venv-reference' / 'bin' / 'python'
EXPORT_TOOL = REPO / 'tools' / 'export_reference_models.py'
STEPS = 20
RTOL, ATOL = 1e-5, 1e-6

# The features of export_reference_models.sparse_features: six rows of ids, one empty.
ROWS = [[0, 2], [1], [3, 4, 5], [], [2], [5, 1]]
X = [[0.5], [-1.0], [2.0], [0.0], [1.5], [-0.5]]
LABELS = [[1.0], [0.0], [1.0], [0.0], [1.0], [0.0]]

PROBE = r"""
import json
import numpy as np
import tensorflow as tf

job = json.load(open(sys.argv[1]))
out = {}


def plain(values):
    return {k: (np.asarray(tf.sparse.to_dense(v)) if isinstance(v, tf.SparseTensor)
                else np.asarray(v)).tolist() for k, v in values.items()}


if job['kind'] == 'raw':
    for name, sub in job['jobs'].items():
        m = tf.saved_model.load(sub['migrated'])
        out[name] = {}
        if name == 'keras':
            import keras

            if not hasattr(keras.layers, 'TFSMLayer'):  # Keras 2 (TF 2.15)
                continue
            layer = keras.layers.TFSMLayer(sub['migrated'], call_endpoint='serve')
            inputs = {'a': tf.constant([1.0, 2.0]), 'b': tf.constant([0.5, -1.0])}
            out[name]['keras'] = plain(layer(inputs))
            out[name]['signature'] = plain(m.signatures['serving_default'](**inputs))
            try:
                keras.layers.TFSMLayer(sub['export'], call_endpoint='serving_default')(inputs)
            except Exception as err:
                out[name]['export_error'] = type(err).__name__
        else:
            tokens = tf.SparseTensor(
                [[0, 0], [0, 2], [1, 1]], tf.constant([1, 2, 5], tf.int64), [2, 3])
            scale = tf.constant([1.0, 0.5])
            out[name]['endpoint'] = plain(m.serve({'tokens': tokens, 'scale': scale}))
            out[name]['signature'] = plain(m.signatures['serving_default'](
                tokens_indices=tokens.indices, tokens_values=tokens.values,
                tokens_dense_shape=tokens.dense_shape, scale=scale))
            out[name]['inputs'] = sorted(
                m.signatures['serving_default'].structured_input_signature[1])
else:
    m = tf.saved_model.load(job['migrated'])
    rows = job['rows']
    indices = [[r, c] for r, ids in enumerate(rows) for c in range(len(ids))]
    ids = tf.SparseTensor(tf.constant(indices, tf.int64),
                          tf.constant([i for r in rows for i in r], tf.int64),
                          tf.constant([len(rows), 3], tf.int64))
    features, labels = {'ids': ids, 'x': tf.constant(job['x'])}, tf.constant(job['labels'])

    def metrics():
        m.reset_metrics()
        m.update_metrics(features, labels)
        return {k: float(v) for k, v in m.metrics().items()}

    out['serve_before'] = plain(m.serve(features))
    out['metrics_before'] = metrics()
    out['losses'] = [float(m.train_step(features, labels)) for _ in range(job['steps'])]
    out['variables'] = {v.name.split(':')[0]: v.numpy().tolist() for v in m.variables}
    out['serve_after'] = plain(m.serve(features))
    out['metrics_after'] = metrics()
json.dump(out, open(sys.argv[2], 'w'))
"""


def probe(tmp_path: pathlib.Path, job: dict) -> dict:
    (tmp_path / 'job.json').write_text(json.dumps(job))
    run_probe(PROBE, tmp_path / 'job.json', tmp_path / 'out.json')
    return json.loads((tmp_path / 'out.json').read_text())


@pytest.fixture(scope='module')
def raw_models(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The two raw-receiver exports migrated, and one probe's results on both."""
    work = tmp_path_factory.mktemp('raw')
    exports = {
        'keras': two_float_inputs(work / 'two_inputs'),
        'sparse': sparse_input_and_output(work / 'sparse'),
    }
    jobs = {}
    for name, export in exports.items():
        migrate(export, work / f'{name}_migrated')
        jobs[name] = {'migrated': str(work / f'{name}_migrated'), 'export': export}
    return {'exports': exports, 'probed': probe(work, {'kind': 'raw', 'jobs': jobs})}


def test_several_raw_inputs_serve_through_keras(raw_models):
    keras = pytest.importorskip('keras')
    if not hasattr(keras.layers, 'TFSMLayer'):
        pytest.skip(f'Keras {keras.__version__} has no TFSMLayer (Keras 3 has)')
    ours = raw_models['probed']['keras']
    assert ours['keras'] == ours['signature']
    assert ours['keras'] == {'weighted': [1.5, 5.0], 'both': [[1.0, 0.5], [2.0, -1.0]]}
    assert 'export_error' in ours  # the export itself: TFSMLayer passes the dict positionally


def test_sparse_input_and_output_serve(raw_models, tmp_path):
    ours = raw_models['probed']['sparse']

    def input_fn():
        tokens = tf.SparseTensor([[0, 0], [0, 2], [1, 1]], tf.constant([1, 2, 5], tf.int64), [2, 3])
        return tf.data.Dataset.from_tensors({'tokens': tokens, 'scale': tf.constant([1.0, 0.5])})

    (expected,) = SavedModelEstimator(raw_models['exports']['sparse'], tmp_path / 'run').predict(
        input_fn, yield_single_examples=False
    )
    doubled = tf.sparse.to_dense(tf.SparseTensor(*expected['doubled'])).numpy().tolist()
    for outputs in (ours['endpoint'], ours['signature']):
        np.testing.assert_allclose(outputs['total'], expected['total'], rtol=1e-6)
        assert outputs['doubled'] == doubled == [[2, 0, 4], [0, 10, 0]]
    assert ours['inputs'] == ['scale', 'tokens_dense_shape', 'tokens_indices', 'tokens_values']


@pytest.fixture(scope='module')
def estimator_sparse_export(tmp_path_factory) -> pathlib.Path:
    """`sparse_input`, exported by the real tf.estimator (10 steps, all modes)."""
    if not REFERENCE_PYTHON.exists():
        pytest.skip(f'{REFERENCE_PYTHON} not found: the real tf.estimator exports this model')
    out = tmp_path_factory.mktemp('reference_models')
    env = {k: os.environ[k] for k in ('PATH', 'HOME', 'LANG', 'TMPDIR') if k in os.environ}
    env['TF_CPP_MIN_LOG_LEVEL'] = '2'
    command = [REFERENCE_PYTHON, EXPORT_TOOL, '--only', 'sparse_input', out]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        pytest.fail(f'{EXPORT_TOOL.name} failed ({done.returncode}):\n{done.stderr[-3000:]}')
    return out / 'sparse_input' / 'saved_model'


def _input_fn():
    indices = [[r, c] for r, ids in enumerate(ROWS) for c in range(len(ids))]
    values = [i for ids in ROWS for i in ids]
    ids = tf.SparseTensor(
        tf.constant(indices, tf.int64), tf.constant(values, tf.int64), tf.constant([6, 3], tf.int64)
    )
    features = {'ids': ids, 'x': tf.constant(X)}
    return tf.data.Dataset.from_tensors((features, tf.constant(LABELS))).repeat()


@pytest.mark.slow
def test_an_estimator_export_with_a_sparse_feature_trains_and_evaluates(
    estimator_sparse_export, tmp_path
):
    migrate(estimator_sparse_export, tmp_path / 'migrated')
    ours = probe(
        tmp_path,
        {
            'kind': 'estimator',
            'migrated': str(tmp_path / 'migrated'),
            'rows': ROWS,
            'x': X,
            'labels': LABELS,
            'steps': STEPS,
        },
    )
    est = SavedModelEstimator(estimator_sparse_export, tmp_path / 'run')
    predict_input_fn = lambda: _input_fn().take(1).map(lambda f, _: f)  # noqa: E731

    def check(section: str, metrics_section: str) -> None:
        (predictions,) = est.predict(predict_input_fn, yield_single_examples=False)
        for key, value in predictions.items():
            np.testing.assert_allclose(ours[section][key], value, rtol=RTOL, atol=ATOL)
        metrics = est.evaluate(_input_fn, steps=1)
        assert sorted(ours[metrics_section]) == sorted(metrics)
        for key, value in metrics.items():
            np.testing.assert_allclose(ours[metrics_section][key], value, rtol=RTOL, atol=ATOL)

    check('serve_before', 'metrics_before')
    est.train(_input_fn, steps=STEPS)
    for name, value in ours['variables'].items():
        np.testing.assert_allclose(value, est.get_variable_value(name), rtol=RTOL, atol=ATOL)
    check('serve_after', 'metrics_after')
