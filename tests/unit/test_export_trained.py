"""export_trained_saved_model: the original export, every signature kept, with trained variables."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from savedmodel_estimator import SavedModelEstimator
from savedmodel_estimator.saved_model_reader import SavedModelReader
from tests.support.paths import SEED

pytestmark = pytest.mark.core


def train_input_fn():
    features = {
        'feature1': tf.constant(['green', 'green', 'yellow']),
        'feature2': tf.constant([3.5, 4.2, 6.1]),
    }
    return tf.data.Dataset.from_tensors((features, tf.constant([1.0, 0.0, 0.0]))).repeat()


def predict_input_fn():
    example = tf.train.Example()
    example.features.feature['feature1'].bytes_list.value.append(b'yellow')
    example.features.feature['feature2'].float_list.value.append(1.0)
    return tf.data.Dataset.from_tensors({'inputs': tf.constant([example.SerializeToString()])})


def test_keeps_every_signature_and_carries_the_trained_variables(tmp_path):
    est = SavedModelEstimator(SEED / 'saved_model', tmp_path / 'run')
    est.train(train_input_fn, steps=3)
    export_dir = os.fsdecode(est.export_trained_saved_model(str(tmp_path / 'export')))

    original, exported = SavedModelReader(SEED / 'saved_model'), SavedModelReader(export_dir)
    for before, after in zip(
        original.saved_model.meta_graphs, exported.saved_model.meta_graphs, strict=True
    ):
        assert dict(before.signature_def) == dict(after.signature_def)
    assert sorted(exported.signature(m).method_name for m in exported.available_modes) == sorted(
        original.signature(m).method_name for m in original.available_modes
    )
    checkpoint = est.latest_checkpoint()
    for name, _ in tf.train.list_variables(checkpoint):
        np.testing.assert_array_equal(
            tf.train.load_variable(exported.variables_path, name),
            tf.train.load_variable(checkpoint, name),
        )

    reloaded = SavedModelEstimator(export_dir, tmp_path / 'reloaded')
    ours = next(reloaded.predict(predict_input_fn))
    trained = next(est.predict(predict_input_fn))
    np.testing.assert_array_equal(ours['scores'], trained['scores'])
    untrained = next(
        SavedModelEstimator(SEED / 'saved_model', tmp_path / 'x').predict(predict_input_fn)
    )
    assert not np.array_equal(ours['scores'], untrained['scores'])


def test_refuses_a_checkpoint_of_another_model(tmp_path):
    other = tmp_path / 'other'
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        tf.compat.v1.Variable(1.0, name='unrelated')
        session.run(tf.compat.v1.global_variables_initializer())
        tf.compat.v1.train.Saver().save(session, str(other / 'model.ckpt'))
    est = SavedModelEstimator(SEED / 'saved_model', tmp_path / 'run')
    with pytest.raises(ValueError, match='lacks variables the SavedModel restores'):
        est.export_trained_saved_model(str(tmp_path / 'export'), str(other / 'model.ckpt'))
    assert not (tmp_path / 'export').exists() or not any((tmp_path / 'export').iterdir())


def test_predict_yields_sparse_outputs_row_by_row(tmp_path):
    """A SparseTensor input and output (coo_sparse signature entries), one example at a time."""
    from tests.support.tiny_models import sparse_input_and_output

    export_dir = sparse_input_and_output(tmp_path / 'sparse')

    def input_fn():
        tokens = tf.SparseTensor([[0, 0], [0, 2], [1, 1]], tf.constant([1, 2, 5], tf.int64), [2, 3])
        return tf.data.Dataset.from_tensors({'tokens': tokens, 'scale': tf.constant([1.0, 0.5])})

    rows = list(SavedModelEstimator(export_dir, tmp_path / 'run').predict(input_fn))
    assert [float(r['total']) for r in rows] == [3.0, 2.5]
    np.testing.assert_array_equal(rows[0]['doubled'].indices, [[0], [2]])
    np.testing.assert_array_equal(rows[0]['doubled'].values, [2, 4])
    np.testing.assert_array_equal(rows[1]['doubled'].values, [10])
    np.testing.assert_array_equal(rows[1]['doubled'].dense_shape, [3])
