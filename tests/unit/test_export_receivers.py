"""Receivers and receiver fn builders in savedmodel_estimator.export, on tiny graphs."""

import numpy as np
import pytest
import tensorflow as tf

from savedmodel_estimator import export

pytestmark = pytest.mark.core


@pytest.fixture
def graph():
    with tf.Graph().as_default() as g:
        yield g


def _placeholder(dtype=tf.float32, shape=(None,), name=None):
    return tf.compat.v1.placeholder(dtype, shape=shape, name=name)


def _sparse():
    return tf.SparseTensor(indices=[[0, 0]], values=[1.0], dense_shape=[2, 2])


def test_default_names_match_the_original():
    assert export.SINGLE_FEATURE_DEFAULT_NAME == 'feature'
    assert export.SINGLE_LABEL_DEFAULT_NAME == 'label'
    assert export.SINGLE_RECEIVER_DEFAULT_NAME == 'input'


# wrap_and_check_input_tensors


@pytest.mark.parametrize(
    ('field_name', 'key'),
    [
        ('feature', 'feature'),
        ('label', 'label'),
        ('receiver_tensor', 'input'),
        ('receiver_tensors_alternative', 'input'),
    ],
)
def test_wrap_puts_a_single_tensor_under_the_field_default_key(graph, field_name, key):
    tensor = _placeholder()
    assert export.wrap_and_check_input_tensors(tensor, field_name) == {key: tensor}


def test_wrap_returns_a_dict_as_is(graph):
    tensors = {'x': _placeholder(), 'sparse': _sparse(), 'ragged': tf.ragged.constant([[1], []])}
    assert export.wrap_and_check_input_tensors(tensors, 'feature') is tensors


def test_wrap_rejects_none():
    with pytest.raises(ValueError, match=r'^labels must be defined\.$'):
        export.wrap_and_check_input_tensors(None, 'label')


def test_wrap_rejects_int_keys_unless_allowed(graph):
    tensor = _placeholder()
    with pytest.raises(ValueError, match=r'^feature keys must be strings: 1\.$'):
        export.wrap_and_check_input_tensors({1: tensor}, 'feature')
    assert export.wrap_and_check_input_tensors({1: tensor}, 'feature', allow_int_keys=True)
    with pytest.raises(ValueError, match=r'^feature keys must be strings or ints: 1\.5\.$'):
        export.wrap_and_check_input_tensors({1.5: tensor}, 'feature', allow_int_keys=True)


def test_wrap_rejects_non_tensor_values():
    with pytest.raises(
        ValueError,
        match=r'^label y must be a Tensor, SparseTensor, or RaggedTensor\. Found ndarray\.$',
    ):
        export.wrap_and_check_input_tensors({'y': np.zeros(3)}, 'label')


def test_wrap_rejects_a_single_tensor_for_an_unknown_field(graph):
    with pytest.raises(ValueError, match=r"unknown field 'weights'; expected one of \["):
        export.wrap_and_check_input_tensors(_placeholder(), 'weights')


# The receiver namedtuples


def test_serving_receiver_wraps_single_tensors(graph):
    feature, serialized = _placeholder(), _placeholder(tf.string)
    receiver = export.ServingInputReceiver(feature, serialized)
    assert receiver.features == {'feature': feature}
    assert receiver.receiver_tensors == {'input': serialized}
    assert receiver.receiver_tensors_alternatives is None
    assert receiver._fields == ('features', 'receiver_tensors', 'receiver_tensors_alternatives')


def test_serving_receiver_accepts_int_feature_keys_but_not_int_receiver_keys(graph):
    feature = _placeholder()
    assert export.ServingInputReceiver({0: feature}, {'x': feature}).features == {0: feature}
    with pytest.raises(ValueError, match=r'^receiver_tensor keys must be strings: 0\.$'):
        export.ServingInputReceiver({'x': feature}, {0: feature})


def test_serving_receiver_wraps_each_alternative(graph):
    feature, raw = _placeholder(), _placeholder()
    receiver = export.ServingInputReceiver(feature, feature, {'raw': raw, 'both': {'a': raw}})
    assert receiver.receiver_tensors_alternatives == {'raw': {'input': raw}, 'both': {'a': raw}}


def test_serving_receiver_rejects_bad_alternatives(graph):
    feature = _placeholder()
    with pytest.raises(ValueError, match=r'^receiver_tensors_alternatives must be a dict: \['):
        export.ServingInputReceiver(feature, feature, [feature])
    with pytest.raises(ValueError, match=r'^receiver_tensors_alternative a must be a Tensor'):
        export.ServingInputReceiver(feature, feature, {'raw': {'a': 'not a tensor'}})


def test_serving_receiver_rejects_missing_features(graph):
    with pytest.raises(ValueError, match=r'^features must be defined\.$'):
        export.ServingInputReceiver(None, _placeholder())
    with pytest.raises(ValueError, match=r'^receiver_tensors must be defined\.$'):
        export.ServingInputReceiver(_placeholder(), None)


def test_tensor_serving_receiver_keeps_the_feature_unwrapped(graph):
    feature = _sparse()
    receiver = export.TensorServingInputReceiver(feature, {'x': feature.values})
    assert receiver.features is feature
    assert receiver.receiver_tensors == {'x': feature.values}


def test_tensor_serving_receiver_rejects_none_and_dicts(graph):
    with pytest.raises(ValueError, match=r'^features must be defined\.$'):
        export.TensorServingInputReceiver(None, _placeholder())
    with pytest.raises(ValueError, match=r'^feature must be a Tensor, SparseTensor, or Ragged'):
        export.TensorServingInputReceiver({'x': _placeholder()}, _placeholder())


def test_unsupervised_receiver_has_no_alternatives(graph):
    feature = _placeholder()
    receiver = export.UnsupervisedInputReceiver(feature, feature)
    assert isinstance(receiver, export.ServingInputReceiver)
    assert receiver.features == {'feature': feature}
    assert receiver.receiver_tensors_alternatives is None


def test_supervised_receiver_keeps_features_and_labels_as_given(graph):
    feature, label = _placeholder(), _placeholder(tf.int64)
    receiver = export.SupervisedInputReceiver(feature, {'y': label}, feature)
    assert receiver.features is feature
    assert receiver.labels == {'y': label}
    assert receiver.receiver_tensors == {'input': feature}


def test_supervised_receiver_validates_labels(graph):
    feature = _placeholder()
    with pytest.raises(ValueError, match=r'^labels must be defined\.$'):
        export.SupervisedInputReceiver(feature, None, feature)
    with pytest.raises(ValueError, match=r'^label y must be a Tensor, SparseTensor'):
        export.SupervisedInputReceiver(feature, {'y': [1, 2]}, feature)


# build_parsing_serving_input_receiver_fn


@pytest.mark.parametrize('batch_size', [None, 2])
def test_parsing_receiver_placeholder(graph, batch_size):
    spec = {'x': tf.io.FixedLenFeature([1], tf.float32)}
    receiver = export.build_parsing_serving_input_receiver_fn(spec, batch_size)()
    serialized = receiver.receiver_tensors['examples']
    assert list(receiver.receiver_tensors) == ['examples']
    assert serialized.name == 'input_example_tensor:0'
    assert serialized.op.type == 'Placeholder'
    assert serialized.dtype == tf.string
    assert serialized.shape.as_list() == [batch_size]
    assert receiver.features['x'].shape.as_list() == [batch_size, 1]


def test_parsing_receiver_parses_fed_examples(graph):
    spec = {
        'x': tf.io.FixedLenFeature([2], tf.float32),
        'tags': tf.io.VarLenFeature(tf.int64),
    }
    receiver = export.build_parsing_serving_input_receiver_fn(spec)()
    example = tf.train.Example(
        features=tf.train.Features(
            feature={
                'x': tf.train.Feature(float_list=tf.train.FloatList(value=[1.5, -2.0])),
                'tags': tf.train.Feature(int64_list=tf.train.Int64List(value=[7, 9])),
            }
        )
    )
    assert isinstance(receiver.features['tags'], tf.SparseTensor)
    with tf.compat.v1.Session() as session:
        x, tags = session.run(
            [receiver.features['x'], receiver.features['tags']],
            {receiver.receiver_tensors['examples']: [example.SerializeToString()]},
        )
    np.testing.assert_array_equal(x, [[1.5, -2.0]])
    np.testing.assert_array_equal(tags.values, [7, 9])


# build_raw_serving_input_receiver_fn


def _describe(tensor):
    return tensor.op.name, tensor.dtype, tensor.shape.as_list()


@pytest.mark.parametrize(
    ('template', 'expected'),
    [
        (tf.TensorSpec([None, 3], tf.float32), ('Placeholder', tf.float32, [None, 3])),
        (tf.TensorSpec([5], tf.int64, name='ids'), ('ids', tf.int64, [None])),
        (np.zeros([4, 2], np.int32), ('Placeholder', tf.int32, [None, 2])),
        (np.array([b'a', b'b']), ('Placeholder', tf.string, [None])),
        (np.array(['unicode']), ('Placeholder', tf.string, [None])),
        (tf.constant([[1.0, 2.0]], tf.float64), ('Placeholder', tf.float64, [None, 2])),
        (np.float32(1.0), ('Placeholder', tf.float32, [None])),
    ],
    ids=['spec', 'named_spec', 'numpy', 'bytes', 'unicode', 'eager', 'scalar'],
)
def test_raw_serving_placeholder_from_template(graph, template, expected):
    receiver = export.build_raw_serving_input_receiver_fn({'x': template})()
    assert receiver.features is receiver.receiver_tensors
    assert _describe(receiver.receiver_tensors['x']) == expected


def test_raw_serving_reuses_a_graph_tensor_op_name():
    with tf.Graph().as_default():
        templates = {'age': _placeholder(tf.int64, (8, 1), name='age_in'), 'w': tf.constant([1.0])}
    with tf.Graph().as_default():
        receiver = export.build_raw_serving_input_receiver_fn(templates)()
    assert _describe(receiver.features['age']) == ('age_in', tf.int64, [None, 1])
    assert _describe(receiver.features['w']) == ('Const', tf.float32, [None])


def test_raw_serving_default_batch_size_replaces_the_first_dimension(graph):
    templates = {'a': tf.TensorSpec([None, 3]), 'b': tf.TensorSpec(None, tf.string)}
    receiver = export.build_raw_serving_input_receiver_fn(templates, default_batch_size=4)()
    assert receiver.receiver_tensors['a'].shape.as_list() == [4, 3]
    assert receiver.receiver_tensors['b'].shape.rank is None


@pytest.mark.parametrize('template', [tf.SparseTensorSpec([None, 5], tf.float32), _sparse()])
def test_raw_serving_sparse_template_gives_a_sparse_placeholder(template):
    with tf.Graph().as_default():
        receiver = export.build_raw_serving_input_receiver_fn({'s': template}, 3)()
        sparse = receiver.features['s']
        assert isinstance(sparse, tf.SparseTensor)
        assert sparse.dtype == tf.float32
        assert sparse.shape.as_list()[0] == 3
        assert sparse.indices.op.type == 'Placeholder'
        with tf.compat.v1.Session() as session:
            dense = session.run(
                tf.sparse.to_dense(sparse),
                {sparse: tf.compat.v1.SparseTensorValue([[2, 1]], [4.0], [3, 2])},
            )
    np.testing.assert_array_equal(dense, [[0, 0], [0, 0], [0, 4.0]])


def test_raw_serving_placeholders_are_made_per_call_in_the_default_graph():
    receiver_fn = export.build_raw_serving_input_receiver_fn({'x': tf.TensorSpec([None])})
    for _ in range(2):
        with tf.Graph().as_default() as g:
            placeholder = receiver_fn().features['x']
            assert placeholder.graph is g
            with tf.compat.v1.Session() as session:
                assert session.run(placeholder * 2, {placeholder: [1.0]}).tolist() == [2.0]


def test_raw_serving_rejects_a_non_dict():
    with pytest.raises(TypeError, match=r'expects features to be a dict .* found TensorSpec\.$'):
        export.build_raw_serving_input_receiver_fn(tf.TensorSpec([None]))


@pytest.mark.parametrize(
    ('template', 'found'),
    [([1.0, 2.0], 'list'), (tf.RaggedTensorSpec([None, None]), 'RaggedTensorSpec')],
)
def test_raw_serving_rejects_values_that_are_not_templates(template, found):
    with pytest.raises(TypeError, match=rf"^features\['x'\] must be a tf\.TensorSpec.*{found}\.$"):
        export.build_raw_serving_input_receiver_fn({'x': template})


def test_raw_serving_rejects_int_keys_when_called(graph):
    receiver_fn = export.build_raw_serving_input_receiver_fn({1: tf.TensorSpec([None])})
    with pytest.raises(ValueError, match=r'^receiver_tensor keys must be strings: 1\.$'):
        receiver_fn()


# build_raw_supervised_input_receiver_fn


def test_raw_supervised_single_feature_and_label(graph):
    receiver_fn = export.build_raw_supervised_input_receiver_fn(
        tf.TensorSpec([None, 2]), np.zeros([3], np.int64), default_batch_size=6
    )
    receiver = receiver_fn()
    assert _describe(receiver.features) == ('Placeholder', tf.float32, [6, 2])
    assert _describe(receiver.labels) == ('Placeholder_1', tf.int64, [6])
    assert receiver.receiver_tensors == {'input': receiver.features, 'label': receiver.labels}


def test_raw_supervised_dicts_are_merged_into_the_receiver_tensors(graph):
    receiver = export.build_raw_supervised_input_receiver_fn(
        {'x': tf.TensorSpec([None]), 's': tf.SparseTensorSpec([None, 4], tf.int64)},
        {'y': tf.TensorSpec([None], tf.int32)},
    )()
    assert set(receiver.features) == {'x', 's'}
    assert isinstance(receiver.features['s'], tf.SparseTensor)
    assert set(receiver.labels) == {'y'}
    assert receiver.receiver_tensors == {**receiver.features, **receiver.labels}


@pytest.mark.parametrize(
    ('features', 'labels', 'keys'),
    [
        ({'label': tf.TensorSpec([None])}, tf.TensorSpec([None]), "{'label'}"),
        (tf.TensorSpec([None]), {'input': tf.TensorSpec([None])}, "{'input'}"),
        (
            {'b': tf.TensorSpec([None]), 'a': tf.TensorSpec([None])},
            {'a': tf.TensorSpec([None]), 'b': tf.TensorSpec([None])},
            "{'a', 'b'}",
        ),
    ],
)
def test_raw_supervised_rejects_overlapping_keys(features, labels, keys):
    with pytest.raises(ValueError) as raised:
        export.build_raw_supervised_input_receiver_fn(features, labels)
    assert str(raised.value) == (
        f'Features and labels must have distinct keys. Found overlapping keys: {keys}'
    )


def test_raw_supervised_rejects_a_missing_label():
    with pytest.raises(TypeError, match=r'^labels must be a tf\.TensorSpec.*found NoneType\.$'):
        export.build_raw_supervised_input_receiver_fn(tf.TensorSpec([None]), None)
