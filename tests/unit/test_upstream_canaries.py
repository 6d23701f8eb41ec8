"""Canaries: each private upstream symbol we rely on is still there and still does what we use.

The symbols are the `SYMBOLS` of the fence modules (`savedmodel_estimator/_tf_internal.py`,
`savedmodel_estimator/beam/_beam_internal.py`, `components/common/_tfx_internal.py`). Each
canary goes through the fence's wrapper and checks the behaviour the code relies on against
values from the specification or from public API, not from the code under test; `relies_on`
names the symbols a canary covers, so its failure says which moved, and a test checks that every
fenced symbol has a canary. The TensorFlow canaries are `core` (TF 2.15, 2.16 and 2.21); the
Beam and TFX ones, in test_upstream_canaries_beam_tfx.py, run on both lanes.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import attr_value_pb2
from tensorflow.core.protobuf import saved_model_pb2

from savedmodel_estimator import _tf_internal as tf_internal
from tests.support.canaries import (
    BEAM_FENCE,
    COVERED,
    TF_FENCE,
    TFX_FENCE,
    fence,
    relies_on,
    short_name,
)

# The Beam and TFX canaries: imported so that they count in COVERED when this file runs alone.
from tests.unit import test_upstream_canaries_beam_tfx  # noqa: F401


@pytest.mark.parametrize(
    'module',
    [pytest.param(TF_FENCE, marks=pytest.mark.core), BEAM_FENCE, TFX_FENCE],
)
def test_every_fenced_symbol_is_there_and_has_a_canary(module: str) -> None:
    symbols = fence(module).SYMBOLS
    assert [s.problem() for s in symbols if s.problem()] == []
    assert sorted({short_name(s) for s in symbols} - COVERED) == []


# --- TensorFlow --------------------------------------------------------------------------------


@pytest.mark.core
@relies_on(
    'evaluation._StopAfterNEvalsHook',
    'evaluation._get_or_create_eval_step',
    'evaluation._evaluate_once',
)
def test_evaluation_loop_runs_n_batches_from_a_checkpoint(tmp_path: Any) -> None:
    with tf.Graph().as_default():
        global_step = tf.compat.v1.train.get_or_create_global_step()
        weight = tf.compat.v1.Variable(3.0, name='weight')
        eval_step = tf_internal.get_or_create_eval_step()
        assert tf_internal.get_or_create_eval_step() is eval_step
        assert eval_step in tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.LOCAL_VARIABLES)
        mean, update = tf.compat.v1.metrics.mean(weight)
        batches = tf.compat.v1.Variable(
            0, collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES], name='batches'
        )
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            session.run(weight.assign(5.0))  # the checkpoint's value, not the initial one
            checkpoint = tf.compat.v1.train.Saver().save(session, str(tmp_path / 'ckpt'))
        results = tf_internal.evaluate_once(
            checkpoint_path=checkpoint,
            scaffold=tf.compat.v1.train.Scaffold(),
            eval_ops=tf.group(update, batches.assign_add(1)),
            final_ops={'mean': mean, 'batches': batches, 'global_step': global_step},
            hooks=[tf_internal.stop_after_n_evals_hook(3)],
            config=None,
        )
    assert results == {'mean': 5.0, 'batches': 3, 'global_step': 0}


@pytest.mark.core
@relies_on('saver._import_meta_graph_with_return_elements')
def test_import_meta_graph_returns_the_named_elements_with_inputs_replaced() -> None:
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None], name='x')
        tf.compat.v1.Variable(1.0, name='v')
        tf.identity(x * 2.0, name='doubled')
        tf.identity(x + 1.0, name='plus_one')
        meta_graph = tf.compat.v1.train.export_meta_graph()
    with tf.Graph().as_default():
        given = tf.constant([1.0, 2.0])
        saver, elements = tf_internal.import_meta_graph_with_return_elements(
            meta_graph,
            input_map={'x': given, '^x': given},
            return_elements=['plus_one:0', 'doubled:0'],
        )
        assert isinstance(saver, tf.compat.v1.train.Saver)
        assert [t.name for t in elements] == ['plus_one:0', 'doubled:0']
        with tf.compat.v1.Session() as session:
            plus_one, doubled = session.run(elements)
    np.testing.assert_array_equal(plus_one, [2.0, 3.0])
    np.testing.assert_array_equal(doubled, [2.0, 4.0])


@pytest.mark.core
@relies_on('Operation._set_attr')
def test_set_op_attr_changes_what_a_constant_holds() -> None:
    with tf.Graph().as_default():
        path = tf.constant('/old/vocab.txt', name='asset_path')
        value = attr_value_pb2.AttrValue(tensor=tf.make_tensor_proto('/new/vocab.txt'))
        tf_internal.set_op_attr(path.op, 'value', value)
        with tf.compat.v1.Session() as session:
            assert session.run(path) == b'/new/vocab.txt'


def _save_train_graph(export_dir: str) -> None:
    """A TF 1 SavedModel: `y = x * v`, a train op in the collection, a main op."""
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None], name='x')
        v = tf.compat.v1.Variable(2.0, name='v')
        tf.identity(x * v, name='y')
        train_op = v.assign_add(1.0, name='train').op
        main_op = tf.group(tf.compat.v1.local_variables_initializer(), name='main_op')
        builder = tf.compat.v1.saved_model.Builder(export_dir)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            tf_internal.add_train_op(builder, train_op)
            builder.add_meta_graph_and_variables(session, ['train'], main_op=main_op)
        builder.save()


@pytest.mark.core
@relies_on(
    'SavedModelBuilder._add_train_op',
    'constants.TRAIN_OP_KEY',
    'constants.TRAIN_OP_SIGNATURE_KEY',
    'loader_impl.get_train_op',
    'loader_impl.get_init_op',
)
def test_train_op_written_by_the_builder_is_found_after_import(tmp_path: Any) -> None:
    # The names TF 1 SavedModels store them under (on disk, so they cannot change).
    assert tf_internal.TRAIN_OP_KEY == 'saved_model_train_op'
    assert tf_internal.TRAIN_OP_SIGNATURE_KEY == '__saved_model_train_op'
    export_dir = str(tmp_path / 'export')
    _save_train_graph(export_dir)
    saved_model = saved_model_pb2.SavedModel.FromString(
        tf.io.gfile.GFile(os.path.join(export_dir, 'saved_model.pb'), 'rb').read()
    )
    meta_graph = saved_model.meta_graphs[0]
    assert tf_internal.TRAIN_OP_KEY in meta_graph.collection_def
    with tf.Graph().as_default():
        tf.compat.v1.train.import_meta_graph(meta_graph)
        assert tf_internal.get_train_op(meta_graph).name == 'train'
        assert tf_internal.get_init_op(meta_graph).name == 'main_op'


@pytest.mark.core
@relies_on(
    'loader_impl.SavedModelLoader',
    'SavedModelLoader.load_graph',
    'SavedModelLoader.restore_variables',
    'SavedModelLoader.run_init_ops',
    'path_helpers.get_variables_dir',
    'path_helpers.get_variables_path',
)
def test_loader_loads_into_our_graph_and_session(tmp_path: Any) -> None:
    export_dir = str(tmp_path / 'export')
    _save_train_graph(export_dir)
    assert tf_internal.variables_dir(export_dir) == os.path.join(export_dir, 'variables')
    prefix = tf_internal.variables_path(export_dir)
    assert prefix == os.path.join(export_dir, 'variables', 'variables')
    assert tf.io.gfile.exists(prefix + '.index')
    loader = tf_internal.saved_model_loader(export_dir)
    graph = tf.Graph()
    with graph.as_default():
        given = tf.constant([1.0, 3.0])
        saver, _ = loader.load_graph(graph, ['train'], input_map={'x:0': given})
        with tf.compat.v1.Session(graph=graph) as session:
            loader.restore_variables(session, saver)
            loader.run_init_ops(session, ['train'])
            np.testing.assert_array_equal(session.run('y:0'), [2.0, 6.0])


@pytest.mark.core
@relies_on(
    'export_utils.SIGNATURE_KEY_MAP',
    'export_utils.get_export_outputs',
    'export_utils.export_outputs_for_mode',
    'export_utils.build_all_signature_defs',
    'export_output.PredictOutput',
)
def test_signature_defs_are_the_ones_estimator_exported() -> None:
    # Indexed by Estimator's mode names, as ModeKeys has them.
    keys = {mode: tf_internal.SIGNATURE_KEY_MAP[mode] for mode in ('train', 'eval', 'infer')}
    assert keys == {'train': 'train', 'eval': 'eval', 'infer': 'serving_default'}
    with tf.Graph().as_default():
        receiver = {'x': tf.compat.v1.placeholder(tf.float32, [None], name='x')}
        predictions = {'y': receiver['x'] * 2.0}
        serving = {'serving_default': tf_internal.predict_output(predictions)}
        outputs = tf_internal.get_export_outputs(serving, predictions)
        signatures = tf_internal.build_all_signature_defs(
            receiver, outputs, None, serving_only=True
        )
        assert list(signatures) == ['serving_default']
        assert signatures['serving_default'].method_name == 'tensorflow/serving/predict'
        assert list(signatures['serving_default'].outputs) == ['y']

        outputs = tf_internal.export_outputs_for_mode(
            mode='train',
            predictions=predictions,
            loss=tf.reduce_sum(receiver['x']),
            metrics={'m': tf.compat.v1.metrics.mean(receiver['x'])},
        )
        signatures = tf_internal.build_all_signature_defs(
            receiver, outputs, None, serving_only=False
        )
    assert list(signatures) == ['train']
    assert signatures['train'].method_name == 'tensorflow/supervised/training'
    # graph_import reads the outputs back by these names.
    assert sorted(signatures['train'].outputs) == [
        'loss',
        'metrics/m/update_op',
        'metrics/m/value',
        'predictions/y',
    ]


@pytest.mark.core
@relies_on('export_utils.get_timestamped_export_dir', 'export_utils.get_temp_export_dir')
def test_export_dirs_are_timestamped_bytes(tmp_path: Any) -> None:
    export_dir = tf_internal.get_timestamped_export_dir(str(tmp_path))
    temp_dir = tf_internal.get_temp_export_dir(export_dir)
    assert isinstance(export_dir, bytes)
    assert os.path.dirname(export_dir) == os.fsencode(tmp_path)
    assert os.path.basename(export_dir).isdigit()
    assert os.path.basename(temp_dir) == b'temp-' + os.path.basename(export_dir)
    assert not tf.io.gfile.exists(export_dir)


@pytest.mark.core
@relies_on('function_utils.fn_args')
def test_fn_args_sees_through_partials_methods_and_callables() -> None:
    class InputFn:
        def __call__(self, mode: str, config: Any) -> None: ...

        def method(self, params: Any) -> None: ...

    def input_fn(features: Any, mode: str, params: Any) -> None: ...

    assert tf_internal.fn_args(input_fn) == ('features', 'mode', 'params')
    assert tf_internal.fn_args(functools.partial(input_fn, 1)) == ('mode', 'params')
    assert tf_internal.fn_args(InputFn()) == ('mode', 'config')
    assert tf_internal.fn_args(InputFn().method) == ('params',)


@pytest.mark.core
@relies_on(
    'meta_graph.create_meta_graph_def',
    'FileWriter._write_plugin_assets',
    'FileWriter._add_graph_def',
)
def test_graph_and_meta_graph_events_from_one_graph_def(tmp_path: Any) -> None:
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.train.get_or_create_global_step()
        saver = tf.compat.v1.train.Saver()
        graph_def = graph.as_graph_def(add_shapes=True)
        meta_graph = tf_internal.create_meta_graph_def(
            graph_def=graph_def, saver_def=saver.saver_def, graph=graph
        )
        writer = tf.compat.v1.summary.FileWriter(str(tmp_path))
        tf_internal.write_graph_event(writer, graph, graph_def)
        writer.close()
    assert meta_graph.graph_def == graph_def
    assert meta_graph.saver_def == saver.saver_def
    assert tf.compat.v1.GraphKeys.GLOBAL_STEP in meta_graph.collection_def  # from `graph`
    (events_file,) = tf.io.gfile.glob(str(tmp_path / 'events.out.tfevents.*'))
    written = [e.graph_def for e in tf.compat.v1.train.summary_iterator(events_file)]
    assert [tf.compat.v1.GraphDef.FromString(g) for g in written if g] == [graph_def]


class CountingListener(tf.compat.v1.train.CheckpointSaverListener):
    def __init__(self) -> None:
        self.saves: list[int] = []

    def after_save(self, session: Any, global_step_value: int) -> None:
        self.saves.append(global_step_value)


@pytest.mark.core
@relies_on(
    'CheckpointSaverHook._checkpoint_dir',
    'CheckpointSaverHook._listeners',
    'CheckpointSaverHook._save_graph_def',
    'CheckpointSaverHook._timer',
    'CheckpointSaverHook._summary_writer',
    'CheckpointSaverHook._global_step_tensor',
    'CheckpointSaverHook._get_saver',
    'CheckpointSaverHook._save',
)
def test_checkpoint_saver_hook_state_and_starting_save(tmp_path: Any) -> None:
    model_dir = str(tmp_path)
    listener = CountingListener()
    with tf.Graph().as_default():
        global_step = tf.compat.v1.train.get_or_create_global_step()
        saver = tf.compat.v1.train.Saver()
        hook = tf.compat.v1.train.CheckpointSaverHook(
            model_dir, save_steps=100, scaffold=tf.compat.v1.train.Scaffold(saver=saver)
        )
        assert tf_internal.saver_hook_checkpoint_dir(hook) == model_dir
        assert tf_internal.saver_hook_saves_graph_def(hook) is True
        tf_internal.saver_hook_listeners(hook).append(listener)
        hook.begin()
        assert tf_internal.saver_hook_global_step_tensor(hook).dtype == tf.int64
        assert tf_internal.saver_hook_saver(hook) is saver
        writer = tf_internal.saver_hook_summary_writer(hook)
        assert writer is tf.compat.v1.summary.FileWriterCache.get(model_dir)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            tf_internal.saver_hook_save(hook, session, 0)
            assert tf.train.latest_checkpoint(model_dir).endswith('model.ckpt-0')
            assert listener.saves == [0]  # listeners appended to the list are called
            hook.end(session)  # the timer saw step 0 saved: no second save at the same step
            assert listener.saves == [0]
            assert session.run(global_step) == 0
    unsaved = tf.compat.v1.train.CheckpointSaverHook(model_dir, save_steps=1, save_graph_def=False)
    assert tf_internal.saver_hook_saves_graph_def(unsaved) is False
