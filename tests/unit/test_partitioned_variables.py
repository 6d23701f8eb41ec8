"""get_variable_value on partitioned variables and their optimizer slots.

The golden `dnn_classifier_partitioned` (FIXTURES.md) is a V1 DNNClassifier whose embedding
[10, 3] is saved in 3 slices, with Adam slots that the V1 optimizer saved one slice per name
(`.../embedding_weights/t_<i>/Adam`). Every value is checked against what TensorFlow itself
restores: the train MetaGraph loaded in a session, the model_dir checkpoint restored with its own
saver, and the parts of each partitioned variable read as graph variables and concatenated.
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import variable_pb2
from tensorflow.core.protobuf import saved_model_pb2

from savedmodel_estimator import SavedModelEstimator
from savedmodel_estimator.variables import read_variable, split_slot_slices

EXPORT = (
    pathlib.Path(__file__).resolve().parents[1]
    / 'data/estimator_exports/dnn_classifier_partitioned'
)
EMBEDDING = 'dnn/input_from_feature_columns/input_layer/color_embedding/embedding_weights'
# The graph names of the embedding's slot parts; the optimizer made them under the `dnn/` scope.
SLOT_PART = 'dnn/' + EMBEDDING + '/part_{part}/{slot}'
# The names the checkpoint lists for them: one per part and slot, each with shape [10, 3].
SLOT_NAME = re.compile(re.escape(EMBEDDING) + r'/t_[0-2]/(Adam|Adam_1)')
ROWS = [(0, 4), (4, 7), (7, 10)]  # fixed_size_partitioner(3) of 10 rows


def input_fn():
    """Every train row as one batch, repeated."""
    spec = {
        'color': tf.io.FixedLenFeature([], tf.string),
        'x1': tf.io.FixedLenFeature([], tf.float32),
        'x2': tf.io.FixedLenFeature([], tf.float32),
        'label': tf.io.FixedLenFeature([], tf.float32),
    }
    data = tf.data.TFRecordDataset(str(EXPORT / 'data/train.tfrecord')).batch(300)
    features = data.map(lambda records: tf.io.parse_example(records, spec))
    return features.map(lambda f: (f, f.pop('label'))).repeat()


def train(tmp_path: pathlib.Path, steps: int = 3) -> SavedModelEstimator:
    est = SavedModelEstimator(EXPORT / 'saved_model', tmp_path / 'model_dir')
    return est.train(input_fn, steps=steps)


def restored_graph_variables(checkpoint: str) -> dict[str, np.ndarray]:
    """Every global variable of the train graph, by graph name, as `checkpoint` restores it."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(
            session, ['train'], str(EXPORT / 'saved_model')
        )
        tf.compat.v1.train.Saver(saver_def=meta_graph.saver_def).restore(session, checkpoint)
        variables = tf.compat.v1.global_variables()
        values = session.run(variables)
    return {v.op.name: value for v, value in zip(variables, values, strict=True)}


def embedding_slot(restored: dict[str, np.ndarray], slot: str) -> np.ndarray:
    parts = [restored[SLOT_PART.format(part=i, slot=slot)] for i in range(3)]
    return np.concatenate(parts, axis=0)


@pytest.mark.core
def test_the_golden_saves_the_embedding_slots_one_slice_per_name():
    reader = tf.train.load_checkpoint(str(EXPORT / 'saved_model/variables/variables'))
    shapes = reader.get_variable_to_shape_map()
    slot_names = sorted(n for n in shapes if SLOT_NAME.fullmatch(n))
    assert len(slot_names) == 6 and all(shapes[n] == [10, 3] for n in slot_names)
    with pytest.raises(ValueError, match='Does not have sufficient slices for partitioned tensor'):
        reader.get_tensor(slot_names[0])


@pytest.mark.core
def test_every_listed_name_reads_whole(tmp_path):
    est = train(tmp_path)
    checkpoint = est.latest_checkpoint()
    restored = restored_graph_variables(checkpoint)
    shapes = dict(tf.train.list_variables(checkpoint))
    dtypes = tf.train.load_checkpoint(checkpoint).get_variable_to_dtype_map()
    joined = 0
    for name in est.get_variable_names():
        value = np.asarray(est.get_variable_value(name))
        assert list(value.shape) == shapes[name], name
        assert value.dtype == dtypes[name].as_numpy_dtype, name
        slot = SLOT_NAME.fullmatch(name)
        if slot:
            expected = embedding_slot(restored, slot.group(1))
            joined += 1
        else:
            expected = tf.train.load_variable(checkpoint, name)
        np.testing.assert_array_equal(value, expected, err_msg=name)
    assert joined == 6


@pytest.mark.core
def test_a_partitioned_variable_is_the_concatenation_of_its_parts(tmp_path):
    est = train(tmp_path)
    restored = restored_graph_variables(est.latest_checkpoint())
    parts = [restored[f'{EMBEDDING}/part_{i}'] for i in range(3)]
    assert [p.shape[0] for p in parts] == [stop - start for start, stop in ROWS]
    whole = est.get_variable_value(EMBEDDING)
    np.testing.assert_array_equal(whole, np.concatenate(parts, axis=0))
    for (start, stop), slot in zip(ROWS, ('t_0', 't_1', 't_2'), strict=True):
        adam = est.get_variable_value(f'{EMBEDDING}/{slot}/Adam')
        np.testing.assert_array_equal(
            adam[start:stop], restored[SLOT_PART.format(part=slot[-1], slot='Adam')]
        )


@pytest.mark.core
def test_slot_slices_of_the_golden():
    saved_model = saved_model_pb2.SavedModel.FromString(
        (EXPORT / 'saved_model/saved_model.pb').read_bytes()
    )
    split = split_slot_slices(saved_model.meta_graphs)
    assert sorted(split) == sorted(
        f'{EMBEDDING}/t_{i}/{s}' for i in range(3) for s in ('Adam', 'Adam_1')
    )
    adam = split[f'{EMBEDDING}/t_1/Adam']
    assert [(s.name, s.spec) for s in adam] == [
        (f'{EMBEDDING}/t_0/Adam', '10 3 0,4:0,3'),
        (f'{EMBEDDING}/t_1/Adam', '10 3 4,3:0,3'),
        (f'{EMBEDDING}/t_2/Adam', '10 3 7,3:0,3'),
    ]


# A tiny graph: Ftrl inside the variable scope of a partitioned variable, as the V1
# LinearClassifier builds it, saves its slots as `w/part_<i>/Ftrl` (the other naming).


def _ftrl_checkpoint(tmp_path: pathlib.Path):
    with tf.Graph().as_default():
        with tf.compat.v1.variable_scope(
            'linear', partitioner=tf.compat.v1.fixed_size_partitioner(3)
        ):
            w = tf.compat.v1.get_variable('w', [5, 2], initializer=tf.compat.v1.ones_initializer())
            x = tf.constant(np.arange(10, dtype=np.float32).reshape(1, 5, 2))
            optimizer = tf.compat.v1.train.FtrlOptimizer(0.1)
            train_op = optimizer.minimize(tf.reduce_sum(x * tf.convert_to_tensor(w) ** 2))
        parts = list(w)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            session.run(train_op)
            slots = [session.run(optimizer.get_slot(p, 'accum')) for p in parts]
            prefix = tf.compat.v1.train.Saver().save(session, str(tmp_path / 'model.ckpt'))
            meta_graph = tf.compat.v1.train.export_meta_graph()
    return prefix, meta_graph, np.concatenate(slots, axis=0)


@pytest.mark.core
def test_ftrl_slots_saved_per_part_read_whole(tmp_path):
    prefix, meta_graph, accum = _ftrl_checkpoint(tmp_path)
    names = [n for n, _ in tf.train.list_variables(prefix) if n.endswith('/Ftrl')]
    assert names == [f'linear/w/part_{i}/Ftrl' for i in range(3)]
    for name in names:
        with pytest.raises(ValueError, match='sufficient slices'):
            tf.train.load_variable(prefix, name)
        np.testing.assert_array_equal(read_variable(prefix, name, [meta_graph]), accum)


@pytest.mark.core
def test_slices_that_cannot_be_joined_raise_the_readers_error(tmp_path):
    prefix, meta_graph, _ = _ftrl_checkpoint(tmp_path)
    name = 'linear/w/part_1/Ftrl'
    with pytest.raises(ValueError, match=f'sufficient slices for partitioned tensor {name}'):
        read_variable(prefix, name, [])
    # Without one part's slot the other two do not make [5, 2]: no guessing.
    collection = meta_graph.collection_def[tf.compat.v1.GraphKeys.GLOBAL_VARIABLES].bytes_list
    kept = [
        raw
        for raw in collection.value
        if not variable_pb2.VariableDef.FromString(raw).variable_name.startswith(
            'linear/linear/w/part_2/'
        )
    ]
    del collection.value[:]
    collection.value.extend(kept)
    with pytest.raises(ValueError, match='sufficient slices'):
        read_variable(prefix, name, [meta_graph])


@pytest.mark.reference
def test_side_by_side_with_the_original(tmp_path):
    """Where the original reads a name, ours returns the same; where it raises, the whole slot."""
    original = pytest.importorskip(
        'tensorflow_estimator.python.estimator.canned.saved_model_estimator', exc_type=ImportError
    ).SavedModelEstimator
    theirs = original(str(EXPORT / 'saved_model'), str(tmp_path / 'theirs'))
    theirs.train(input_fn, steps=3)
    ours = train(tmp_path)
    names = theirs.get_variable_names()
    assert ours.get_variable_names() == names
    restored = restored_graph_variables(theirs.latest_checkpoint())
    raised = []
    for name in names:
        value = np.asarray(ours.get_variable_value(name))
        try:
            expected = theirs.get_variable_value(name)
        except ValueError as err:
            assert f'Does not have sufficient slices for partitioned tensor {name}' in str(err)
            raised.append(name)
            slot = SLOT_NAME.fullmatch(name)
            assert slot, name
            expected = embedding_slot(restored, slot.group(1))
        assert value.dtype == np.asarray(expected).dtype, name
        np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6, err_msg=name)
    assert len(raised) == 6
