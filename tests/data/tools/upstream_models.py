"""The input functions and model_fns of tensorflow_estimator's saved_model_estimator_test.py, as
the upstream test writes them, for make_upstream_scenarios.py (same environment: TF 2.15.1 and
tensorflow-estimator 2.15.0)."""
import tensorflow as tf
from tensorflow.python.framework import ops
from tensorflow.python.ops import lookup_ops
from tensorflow.python.training import saver_test_utils
from tensorflow_estimator.python.estimator import model_fn as model_fn_lib
from tensorflow_estimator.python.estimator.export import export_lib
from tensorflow_estimator.python.estimator.mode_keys import ModeKeys

GraphKeys = tf.compat.v1.GraphKeys


def dummy_input_fn():
    return tf.compat.v1.data.Dataset.from_tensors(({
        'x': tf.constant([[1], [-2]], name='feature_x')
    }, tf.constant([[4], [-3]], name='truth'))).repeat()


def _serving_feature_dict():
    return {'x': tf.constant([[5], [6]], name='feature_x')}


def dummy_input_fn_features_only():
    return tf.compat.v1.data.Dataset.from_tensors(_serving_feature_dict()).repeat()


def dummy_supervised_receiver_fn():
    return export_lib.build_supervised_input_receiver_fn_from_input_fn(dummy_input_fn)


def dummy_serving_receiver_fn():
    return export_lib.build_raw_serving_input_receiver_fn(_serving_feature_dict())


def model_fn_diff_modes(features, labels, mode):
    v = tf.Variable(21, name='some_var')
    train_op = None
    loss = tf.constant(104)
    if mode == ModeKeys.TRAIN:
        loss = tf.constant(105)
        predictions = tf.constant([501])
        train_op = tf.group(
            tf.compat.v1.assign_add(tf.compat.v1.train.get_global_step(), 1),
            tf.compat.v1.assign_add(v, 3))
    elif mode == ModeKeys.EVAL:
        loss = tf.constant(106)
        predictions = tf.constant([502])
    else:
        loss = tf.constant(107)
        predictions = tf.constant([503])
    return model_fn_lib.EstimatorSpec(
        mode, loss=loss, train_op=train_op,
        eval_metric_ops={'abs_err': tf.compat.v1.metrics.mean_absolute_error(tf.constant(0), predictions)},
        predictions=predictions)


def model_fn_with_trackable(features, labels, mode):
    spec = model_fn_diff_modes(features, labels, mode)
    predictions = spec.predictions
    trackable_variable_ = saver_test_utils.CheckpointedOp(name='v2')
    if mode == ModeKeys.TRAIN:
        init_op = trackable_variable_.insert('key1', 2.2)
        tf.compat.v1.add_to_collection(GraphKeys.TABLE_INITIALIZERS, init_op)
    else:
        looked_up = trackable_variable_.lookup('key1', 0.0)
        predictions = tf.constant([503.0]) + looked_up
    return model_fn_lib.EstimatorSpec(
        mode, loss=spec.loss, train_op=spec.train_op,
        eval_metric_ops=spec.eval_metric_ops, predictions=predictions)


def model_fn_local_init_op(features, labels, mode):
    v = tf.Variable(21, name='some_var')
    scaffold = tf.compat.v1.train.Scaffold(local_init_op=tf.compat.v1.assign_add(v, -3).op)
    return model_fn_lib.EstimatorSpec(
        mode, scaffold=scaffold,
        train_op=tf.compat.v1.assign_add(tf.compat.v1.train.get_global_step(), 1),
        loss=tf.identity(v))


def make_model_fn_assets(asset_path):
    def model_fn(features, labels, mode):
        v = tf.Variable(0, name='some_var', dtype=tf.dtypes.int64)
        filepath_tensor = ops.convert_to_tensor(asset_path)
        tf.compat.v1.add_to_collection(GraphKeys.ASSET_FILEPATHS, filepath_tensor)
        scaffold = tf.compat.v1.train.Scaffold(
            local_init_op=tf.compat.v1.assign(v, tf.strings.to_hash_bucket_fast(filepath_tensor, 1000)).op)
        return model_fn_lib.EstimatorSpec(
            mode, scaffold=scaffold,
            train_op=tf.compat.v1.assign_add(tf.compat.v1.train.get_global_step(), 1),
            loss=tf.identity(0))
    return model_fn


def model_fn_working_input(features, labels, mode):
    loss = None
    if labels is not None:
        loss = labels[0][0] + labels[1][0]
    return model_fn_lib.EstimatorSpec(
        mode, loss=loss,
        train_op=tf.compat.v1.assign_add(tf.compat.v1.train.get_global_step(), 1),
        predictions={'features_0': tf.identity([features['x'][0][0]]),
                     'features_1': tf.identity([features['x'][1][0]])})


def model_fn_control_dependency(features, labels, mode):
    with tf.control_dependencies([features['x']]):
        loss = features['x'][1][0]
    return model_fn_lib.EstimatorSpec(
        mode, loss=loss,
        train_op=tf.compat.v1.assign_add(tf.compat.v1.train.get_global_step(), 1))


def model_fn_saveable_resources(features, labels, mode):
    tb = lookup_ops.MutableHashTable(key_dtype=tf.dtypes.int32, value_dtype=tf.dtypes.int32, default_value=-1)
    predictions = tb.lookup(features['x'])
    train_op = None
    if mode == ModeKeys.TRAIN:
        train_op = tf.group(tb.insert(features['x'], labels),
                            tf.compat.v1.assign_add(tf.compat.v1.train.get_global_step(), 1))
    return model_fn_lib.EstimatorSpec(mode, loss=tf.constant(0), predictions=predictions, train_op=train_op)


def model_fn_serving_only(features, labels, mode):
    return model_fn_lib.EstimatorSpec(
        mode, loss=tf.constant([103]),
        train_op=tf.compat.v1.assign_add(tf.compat.v1.train.get_global_step(), 1),
        predictions=tf.constant([502]),
        export_outputs={'test': export_lib.ClassificationOutput(tf.constant([[32.]]))})
