"""Tiny SavedModels built in tests: serving signatures of raw tensors, dense and sparse.

Estimator exports' serving signatures mostly take serialized tf.Examples; these take the raw
tensors instead (as an export with a raw serving receiver does), which stock BulkInferrer cannot
run. Each has a variable and a global step, so restoring variables is exercised and the core's
`SavedModelEstimator` can predict with it (an independent path for the expected values).
"""

from __future__ import annotations

import pathlib

import tensorflow as tf

WEIGHTS = (2.0, -1.0)


def _save(export_dir: pathlib.Path, inputs: dict, outputs: dict) -> str:
    v1 = tf.compat.v1
    with v1.Session() as session:
        session.run(v1.global_variables_initializer())
        builder = v1.saved_model.Builder(str(export_dir))
        signature = v1.saved_model.signature_def_utils.build_signature_def(
            inputs={k: v1.saved_model.build_tensor_info(t) for k, t in inputs.items()},
            outputs={k: v1.saved_model.build_tensor_info(t) for k, t in outputs.items()},
            method_name='tensorflow/serving/predict',
        )
        builder.add_meta_graph_and_variables(
            session, ['serve'], signature_def_map={'serving_default': signature}
        )
        builder.save()
    return str(export_dir)


def two_float_inputs(export_dir: pathlib.Path) -> str:
    """`a`, `b`: float [None] -> `weighted` = 2a - b [None], `both` = [a, b] [None, 2]."""
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        v1.train.get_or_create_global_step()
        a = v1.placeholder(tf.float32, [None], name='a')
        b = v1.placeholder(tf.float32, [None], name='b')
        weights = v1.get_variable('weights', initializer=tf.constant(WEIGHTS))
        weighted = tf.identity(a * weights[0] + b * weights[1], name='weighted')
        both = tf.stack([a, b], axis=1, name='both')
        return _save(export_dir, {'a': a, 'b': b}, {'weighted': weighted, 'both': both})


def sparse_input_and_output(export_dir: pathlib.Path) -> str:
    """`tokens`: SparseTensor int64, `scale`: float [None] -> `total` = scale * sum(tokens)
    per row [None], `doubled` = 2 * tokens (a SparseTensor)."""
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        v1.train.get_or_create_global_step()
        tokens = v1.sparse_placeholder(tf.int64, [None, None], name='tokens')
        scale = v1.placeholder(tf.float32, [None], name='scale')
        factor = v1.get_variable('factor', initializer=tf.constant(2, tf.int64))
        total = scale * tf.cast(
            tf.sparse.reduce_sum(tokens, axis=1, output_is_sparse=False), tf.float32
        )
        total.set_shape([None])
        doubled = tf.SparseTensor(tokens.indices, tokens.values * factor, tokens.dense_shape)
        return _save(
            export_dir,
            {'tokens': tokens, 'scale': scale},
            {'total': tf.identity(total, name='total'), 'doubled': doubled},
        )


def example(**features: object) -> bytes:
    """A serialized tf.Example: floats as float_list, ints (or []) as int64_list, bytes as
    bytes_list."""
    proto = tf.train.Example()
    for name, value in features.items():
        values = value if isinstance(value, list | tuple) else [value]
        feature = proto.features.feature[name]
        if not values:
            feature.int64_list.SetInParent()
        elif all(isinstance(v, bytes) for v in values):
            feature.bytes_list.value.extend(values)
        elif all(isinstance(v, int) for v in values):
            feature.int64_list.value.extend(values)
        else:
            feature.float_list.value.extend(float(v) for v in values)
    return proto.SerializeToString()
