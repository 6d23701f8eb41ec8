"""savedmodel_estimator.export builds the same receivers as tensorflow-estimator 2.15.

Runs only where tensorflow-estimator is installed (the .venv-reference environment). Each test
builds a receiver with the original and with ours, each in a fresh graph, and compares
placeholder names, op types, dtypes and shapes, receiver keys and error messages.
"""

import numpy as np
import pytest
import tensorflow as tf

from savedmodel_estimator import export as ours

pytestmark = pytest.mark.reference

# exc_type=ImportError: tfx pulls tensorflow-estimator 2.15 into the TF 2.16 environment, where it
# is installed but fails to import; skip there as well.
original = pytest.importorskip(
    'tensorflow_estimator.python.estimator.export.export_lib', exc_type=ImportError
)


def _describe(value):
    """A comparable picture of a receiver, its dicts and its tensors."""
    if value is None:
        return None
    if isinstance(value, tuple):  # A receiver namedtuple.
        return type(value).__name__, value._fields, [_describe(field) for field in value]
    if isinstance(value, dict):
        return {key: _describe(tensor) for key, tensor in value.items()}
    if isinstance(value, tf.SparseTensor):
        return 'sparse', _describe(value.indices), _describe(value.values)
    shape = value.shape.as_list() if value.shape.rank is not None else None
    return value.name, value.op.type, value.dtype.name, shape


def _both(build):
    """Calls `build(module)()` for the original and ours, each in a fresh graph."""
    pictures = []
    for module in (original, ours):
        with tf.Graph().as_default():
            pictures.append(_describe(build(module)()))
    return pictures


def _graph_templates():
    """Templates that are graph tensors of another graph, as in pre-TF2 code."""
    with tf.Graph().as_default():
        return {
            'age': tf.compat.v1.placeholder(tf.int64, [None, 1], name='age_in'),
            'name': tf.compat.v1.placeholder(tf.string, [7], name='name'),
            'w': tf.constant([[1.0, 2.0]]),
            'unknown': tf.compat.v1.placeholder(tf.float32, None),
        }


def _eager_templates():
    return {'x': tf.constant([[1.0, 2.0]]), 'ids': tf.constant([3, 4], tf.int64)}


@pytest.mark.parametrize('batch_size', [None, 3])
def test_parsing_receiver(batch_size):
    spec = {
        'x': tf.io.FixedLenFeature([2], tf.float32),
        'tags': tf.io.VarLenFeature(tf.int64),
        'name': tf.io.FixedLenFeature([], tf.string, default_value=''),
    }
    theirs, mine = _both(lambda m: m.build_parsing_serving_input_receiver_fn(spec, batch_size))
    assert mine == theirs


@pytest.mark.parametrize('batch_size', [None, 3])
@pytest.mark.parametrize('templates', [_graph_templates, _eager_templates])
def test_raw_serving_receiver(templates, batch_size):
    features = templates()
    theirs, mine = _both(lambda m: m.build_raw_serving_input_receiver_fn(features, batch_size))
    assert mine == theirs


@pytest.mark.parametrize('labels_as_dict', [False, True])
@pytest.mark.parametrize('features_as_dict', [False, True])
@pytest.mark.parametrize('batch_size', [None, 5])
def test_raw_supervised_receiver(features_as_dict, labels_as_dict, batch_size):
    templates = _graph_templates()
    features = (
        {'age': templates['age'], 'w': templates['w']} if features_as_dict else templates['w']
    )
    labels = {'name': templates['name']} if labels_as_dict else templates['age']

    def build(module):
        return module.build_raw_supervised_input_receiver_fn(features, labels, batch_size)

    theirs, mine = _both(build)
    assert mine == theirs


def _receivers_and_tensors(module, tensor):
    """Invalid calls, each a thunk, with the original's and our error text to compare."""
    return [
        lambda: module.wrap_and_check_input_tensors(None, 'feature'),
        lambda: module.wrap_and_check_input_tensors({1: tensor}, 'receiver_tensor'),
        lambda: module.wrap_and_check_input_tensors({1.5: tensor}, 'label', allow_int_keys=True),
        lambda: module.wrap_and_check_input_tensors({'x': np.zeros(2)}, 'feature'),
        lambda: module.ServingInputReceiver(tensor, None),
        lambda: module.ServingInputReceiver(tensor, tensor, [tensor]),
        lambda: module.ServingInputReceiver(tensor, tensor, {'alt': {'a': 'x'}}),
        lambda: module.TensorServingInputReceiver(None, tensor),
        lambda: module.TensorServingInputReceiver({'x': tensor}, tensor),
        lambda: module.SupervisedInputReceiver(tensor, None, tensor),
        lambda: module.SupervisedInputReceiver(tensor, {'y': [1]}, tensor),
        lambda: module.build_raw_supervised_input_receiver_fn({'label': tensor}, tensor),
        lambda: module.build_raw_supervised_input_receiver_fn(tensor, {'input': tensor}),
    ]


def _error(thunk):
    with pytest.raises(ValueError) as raised:
        thunk()
    return str(raised.value)


def test_error_messages_start_with_the_original_text():
    with tf.Graph().as_default():
        tensor = tf.compat.v1.placeholder(tf.float32, [None])
        pairs = zip(
            _receivers_and_tensors(original, tensor),
            _receivers_and_tensors(ours, tensor),
            strict=True,
        )
        for theirs, mine in pairs:
            original_text, our_text = _error(theirs), _error(mine)
            # Ours may add what was found; the original's text stays a prefix for callers that
            # match on it.
            assert our_text.startswith(original_text), (our_text, original_text)


def test_receiver_classes_have_the_original_fields():
    for name in (
        'ServingInputReceiver',
        'TensorServingInputReceiver',
        'UnsupervisedInputReceiver',
        'SupervisedInputReceiver',
    ):
        assert getattr(ours, name)._fields == getattr(original, name)._fields, name


# Known, deliberate deviations: pinned here so that a change on either side is noticed.


def test_deviation_sparse_template_gives_a_sparse_placeholder():
    features = {'s': tf.SparseTensorSpec([None, 4], tf.float32)}
    with tf.Graph().as_default():
        receiver = ours.build_raw_serving_input_receiver_fn(features)()
    assert isinstance(receiver.features['s'], tf.SparseTensor)
    sparse = {'s': tf.SparseTensor([[0, 0]], [1.0], [2, 4])}
    with tf.Graph().as_default():
        theirs = original.build_raw_serving_input_receiver_fn(sparse)()
    # The original makes a dense placeholder for a SparseTensor template.
    assert not isinstance(theirs.features['s'], tf.SparseTensor)


@pytest.mark.parametrize('template', [tf.TensorSpec([None, 2]), np.zeros([1, 2], np.float32)])
def test_deviation_specs_and_numpy_templates_are_accepted(template):
    with tf.Graph().as_default():
        receiver = ours.build_raw_serving_input_receiver_fn({'x': template})()
        with pytest.raises(AttributeError, match='get_shape'):
            original.build_raw_serving_input_receiver_fn({'x': template})()
    assert receiver.features['x'].shape.as_list() == [None, 2]
