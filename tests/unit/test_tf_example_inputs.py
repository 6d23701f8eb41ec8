"""Reading tf.Examples into a signature's inputs, and the errors when they do not fit."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2

from savedmodel_estimator.serving import tf_example_inputs as tei
from tests.support.tiny_models import example

pytestmark = pytest.mark.core


def signature(**inputs: tuple[tf.dtypes.DType, list]) -> meta_graph_pb2.SignatureDef:
    sig = meta_graph_pb2.SignatureDef(method_name='tensorflow/supervised/training')
    for name, (dtype, shape) in inputs.items():
        info = sig.inputs[name]
        info.name = f'{name}:0'
        info.dtype = dtype.as_datatype_enum
        info.tensor_shape.CopyFrom(tf.TensorShape(shape).as_proto())
    return sig


SIG = signature(x=(tf.float32, [None, 2]), label=(tf.float32, [None]), word=(tf.string, [None]))


def test_columns_follow_the_signature():
    columns = {c.name: c for c in tei.signature_columns(SIG)}
    assert columns['x'].shape == (2,) and columns['x'].kind == 'float_list'
    assert columns['word'].kind == 'bytes_list'


def test_integer_labels_are_read_into_a_float_input():
    records = [
        example(x=[1.0, 2.0], label=[1], word=[b'a']),
        example(x=[3.0, 4.0], label=[0], word=[b'b']),
    ]
    columns = tei.adapt_to_records(tei.signature_columns(SIG), records)
    tei.check_records(records, columns, 'data.tfrecord', 'train')
    parsed = tei.parse_batch(tf.constant(records), columns)
    assert parsed['label'].dtype == tf.float32
    np.testing.assert_array_equal(parsed['label'].numpy(), [1.0, 0.0])


@pytest.mark.parametrize(
    ('record', 'message'),
    [
        (
            example(x=[1.0, 2.0], word=[b'a']),
            r"Feature 'label' in examples 'f.tfrecord' record 0 is missing, but the 'train' signature "
            r'expects float32 with shape \[\]',
        ),
        (
            example(x=[1.0, 2.0], label=[1.0], word=[3.0]),
            r"Feature 'word' in examples 'f.tfrecord' record 0 is a float_list, but the 'train' "
            r'signature expects string',
        ),
        (
            example(x=[1.0], label=[1.0], word=[b'a']),
            r"Feature 'x' .* has 1 values, but the 'train' signature expects float32 with shape \[2\]",
        ),
    ],
)
def test_records_that_do_not_fit_are_named(record, message):
    with pytest.raises(tei.ExampleFormatError, match=message):
        tei.check_records([record], tei.signature_columns(SIG), 'f.tfrecord', 'train')


def test_a_float_cannot_feed_an_integer_input():
    sig = signature(n=(tf.int64, [None]))
    columns = tei.adapt_to_records(tei.signature_columns(sig), [example(n=[1.5])])
    with pytest.raises(tei.ExampleFormatError, match="is a float_list, but the 'train' signature"):
        tei.check_records([example(n=[1.5])], columns, 'f', 'train')


def test_unknown_inner_dimensions_cannot_come_from_examples():
    with pytest.raises(tei.ExampleFormatError, match='only the batch dimension may be unknown'):
        tei.signature_columns(signature(x=(tf.float32, [None, None])))


def test_serialized_example_signatures_are_recognized():
    classify = meta_graph_pb2.SignatureDef(method_name='tensorflow/serving/classify')
    classify.inputs['inputs'].name = 'input_example_tensor:0'
    classify.inputs['inputs'].dtype = tf.string.as_datatype_enum
    assert tei.takes_serialized_examples(classify)
    assert not tei.takes_serialized_examples(SIG)


def test_a_corrupt_tfrecord_is_named(tmp_path):
    path = tmp_path / 'bad.tfrecord'
    with tf.io.TFRecordWriter(str(path)) as writer:
        writer.write(example(x=[1.0, 2.0], label=[1.0], word=[b'a']))
    data = path.read_bytes()
    path.write_bytes(data[:-6] + b'garbag')
    with pytest.raises(tei.ExampleFormatError, match=r"TFRecord file '.*bad.tfrecord' is corrupt"):
        tei.peek_records([str(path)], 10)
