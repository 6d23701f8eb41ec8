"""The private TensorFlow symbols the core relies on, each wrapped once, with why.

`tf.estimator` was built on these; they ship in TensorFlow 2.15 through 2.21 (checked on 2.15,
2.16 and 2.21 by tests/unit/test_upstream_canaries.py), but they are not public API. Nothing
else in this repository touches a private TensorFlow module or attribute (a test checks), so a
TensorFlow that moves one fails here, at import, with an `UpstreamChangedError` naming it.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from savedmodel_estimator._fence import Private, UpstreamChangedError, check

SUPPORTED = 'TensorFlow 2.15 to 2.21'

try:
    from tensorflow.python.framework import meta_graph as _meta_graph
    from tensorflow.python.saved_model import constants as _constants
    from tensorflow.python.saved_model import loader_impl as _loader_impl
    from tensorflow.python.saved_model import path_helpers as _path_helpers
    from tensorflow.python.saved_model.model_utils import export_output as _export_output
    from tensorflow.python.saved_model.model_utils import export_utils as _export_utils
    from tensorflow.python.training import evaluation as _evaluation
    from tensorflow.python.training import saver as _saver
    from tensorflow.python.util import function_utils as _function_utils
except ImportError as err:  # pragma: no cover - only on an unsupported TensorFlow
    raise UpstreamChangedError(
        'TensorFlow',
        tf.__version__,
        [f'{err.name}: no such module ({SUPPORTED} have it)'],
        __name__.replace('.', '/') + '.py',
    ) from err

_SaverHook = tf.compat.v1.train.CheckpointSaverHook
SYMBOLS = (
    Private(_evaluation, '_StopAfterNEvalsHook', ('num_evals',)),
    Private(_evaluation, '_get_or_create_eval_step'),
    Private(
        _evaluation,
        '_evaluate_once',
        ('checkpoint_path', 'scaffold', 'eval_ops', 'final_ops', 'hooks', 'config'),
    ),
    Private(
        _saver,
        '_import_meta_graph_with_return_elements',
        ('meta_graph_or_file', 'input_map', 'return_elements'),
    ),
    Private(tf.Operation, '_set_attr', ('attr_name', 'attr_value')),
    Private(tf.compat.v1.saved_model.Builder, '_add_train_op', ('train_op',)),
    Private(_constants, 'TRAIN_OP_KEY'),
    Private(_constants, 'TRAIN_OP_SIGNATURE_KEY'),
    Private(_loader_impl, 'get_train_op', ('meta_graph_def',)),
    Private(_loader_impl, 'get_init_op', ('meta_graph_def',)),
    Private(_loader_impl, 'SavedModelLoader', ('export_dir',)),
    Private(_loader_impl, 'SavedModelLoader.load_graph', ('graph', 'tags')),
    Private(_loader_impl, 'SavedModelLoader.restore_variables', ('sess', 'saver')),
    Private(_loader_impl, 'SavedModelLoader.run_init_ops', ('sess', 'tags')),
    Private(_path_helpers, 'get_variables_dir', ('export_dir',)),
    Private(_path_helpers, 'get_variables_path', ('export_dir',)),
    Private(_export_utils, 'SIGNATURE_KEY_MAP'),
    Private(_export_utils, 'get_export_outputs', ('export_outputs', 'predictions')),
    Private(_export_utils, 'export_outputs_for_mode', ('mode', 'predictions', 'loss', 'metrics')),
    Private(
        _export_utils,
        'build_all_signature_defs',
        ('receiver_tensors', 'export_outputs', 'receiver_tensors_alternatives', 'serving_only'),
    ),
    Private(_export_utils, 'get_timestamped_export_dir', ('export_dir_base',)),
    Private(_export_utils, 'get_temp_export_dir', ('timestamped_export_dir',)),
    Private(_export_output, 'PredictOutput', ('outputs',)),
    Private(_function_utils, 'fn_args', ('fn',)),
    Private(_meta_graph, 'create_meta_graph_def', ('graph_def', 'saver_def', 'graph')),
    Private(_SaverHook, '_checkpoint_dir', set_by='__init__'),
    Private(_SaverHook, '_listeners', set_by='__init__'),
    Private(_SaverHook, '_save_graph_def', set_by='__init__'),
    Private(_SaverHook, '_timer', set_by='__init__'),
    Private(_SaverHook, '_summary_writer', set_by='begin'),
    Private(_SaverHook, '_global_step_tensor', set_by='begin'),
    Private(_SaverHook, '_get_saver'),
    Private(_SaverHook, '_save', ('session', 'step')),
    Private(tf.compat.v1.summary.FileWriter, '_write_plugin_assets', ('graph',)),
    Private(tf.compat.v1.summary.FileWriter, '_add_graph_def', ('graph_def',)),
)
check('TensorFlow', tf.__version__, __name__.replace('.', '/') + '.py', SYMBOLS)

# --- Evaluation: tf.estimator's own loop (tensorflow/python/training/evaluation.py). ---------


def stop_after_n_evals_hook(num_evals: int) -> tf.compat.v1.train.SessionRunHook:
    """`_StopAfterNEvalsHook`: stops `evaluate_once` after `num_evals` batches, logging progress.

    Estimator.evaluate(steps=N) stops with it; it reads the eval step `evaluate_once` counts.
    """
    return _evaluation._StopAfterNEvalsHook(num_evals=num_evals)


def get_or_create_eval_step() -> Any:
    """`_get_or_create_eval_step`: the graph's eval step counter (a local variable), made once.

    Made before the scaffold's local init op, so that op initializes it, as Estimator did.
    """
    return _evaluation._get_or_create_eval_step()


def evaluate_once(
    *,
    checkpoint_path: str | None,
    scaffold: tf.compat.v1.train.Scaffold,
    eval_ops: Any,
    final_ops: dict[str, Any],
    hooks: list[tf.compat.v1.train.SessionRunHook],
    config: Any,
) -> dict[str, Any]:
    """`_evaluate_once`: restores `checkpoint_path`, runs `eval_ops` until the hooks stop or the
    input ends, and returns `final_ops`' values, exactly as Estimator.evaluate did.
    """
    return _evaluation._evaluate_once(
        checkpoint_path=checkpoint_path,
        scaffold=scaffold,
        eval_ops=eval_ops,
        final_ops=final_ops,
        hooks=hooks,
        config=config,
    )


# --- Graph import and rewriting. ---------------------------------------------------------------


def import_meta_graph_with_return_elements(
    meta_graph: Any, *, input_map: dict[str, Any], return_elements: list[str]
) -> tuple[Any, list[Any]]:
    """`saver._import_meta_graph_with_return_elements`: `tf.compat.v1.train.import_meta_graph`
    that also returns the graph elements named in `return_elements`, in their order.

    Returns:
        (the saver, the tensors/ops for `return_elements`): how outputs are found after
        `input_map` has renamed the inputs.
    """
    return _saver._import_meta_graph_with_return_elements(
        meta_graph, input_map=input_map, return_elements=return_elements
    )


def set_op_attr(op: tf.Operation, name: str, value: Any) -> None:
    """`Operation._set_attr`: replaces attribute `name` of `op` (an `AttrValue`) in place.

    No public setter exists; asset path constants are rewritten with it so a re-export copies
    the assets from where the SavedModel is now.
    """
    op._set_attr(name, value)


# --- Reading SavedModels the way TF 1's loader does (tensorflow/python/saved_model). ------------

# The collection that holds the train op in TF 1 exports (`constants.TRAIN_OP_KEY`).
TRAIN_OP_KEY: str = _constants.TRAIN_OP_KEY
# The signature that names the train op in newer TF 1 exports (`constants.TRAIN_OP_SIGNATURE_KEY`).
TRAIN_OP_SIGNATURE_KEY: str = _constants.TRAIN_OP_SIGNATURE_KEY


def get_train_op(meta_graph: Any) -> Any:
    """`loader_impl.get_train_op`: the imported graph's train op, from signature or collection."""
    return _loader_impl.get_train_op(meta_graph)


def get_init_op(meta_graph: Any) -> Any:
    """`loader_impl.get_init_op`: the imported graph's init op (main op or legacy init op)."""
    return _loader_impl.get_init_op(meta_graph)


def saved_model_loader(export_dir: str) -> Any:
    """`loader_impl.SavedModelLoader`: the TF 1 loader, whose `load_graph` takes an `input_map`
    and whose `restore_variables` and `run_init_ops` run on a session we keep (for Beam).
    """
    return _loader_impl.SavedModelLoader(export_dir)


def variables_dir(export_dir: str) -> str:
    """`path_helpers.get_variables_dir`: `<export_dir>/variables`, as the loader spells it."""
    return _path_helpers.get_variables_dir(export_dir)


def variables_path(export_dir: str) -> str:
    """`path_helpers.get_variables_path`: the variables checkpoint prefix the loader restores."""
    return _path_helpers.get_variables_path(export_dir)


# --- Writing SavedModels the way Estimator.export_saved_model did (model_utils). ---------------

# Mode -> the signature key of its main signature (`export_utils.SIGNATURE_KEY_MAP`).
SIGNATURE_KEY_MAP: Any = _export_utils.SIGNATURE_KEY_MAP


def predict_output(outputs: dict[str, Any]) -> Any:
    """`export_output.PredictOutput`: the predict signature's export output."""
    return _export_output.PredictOutput(outputs)


def get_export_outputs(export_outputs: dict[str, Any], predictions: Any) -> dict[str, Any]:
    """`export_utils.get_export_outputs`: checks them and adds the default serving output."""
    return _export_utils.get_export_outputs(export_outputs, predictions)


def export_outputs_for_mode(
    *, mode: str, predictions: Any, loss: Any, metrics: Any
) -> dict[str, Any]:
    """`export_utils.export_outputs_for_mode`: the train or eval signature's export outputs."""
    return _export_utils.export_outputs_for_mode(
        mode=mode, predictions=predictions, loss=loss, metrics=metrics
    )


def build_all_signature_defs(
    receiver_tensors: Any,
    export_outputs: dict[str, Any],
    receiver_tensors_alternatives: Any,
    *,
    serving_only: bool,
) -> dict[str, Any]:
    """`export_utils.build_all_signature_defs`: the SignatureDefs Estimator wrote per mode."""
    return _export_utils.build_all_signature_defs(
        receiver_tensors,
        export_outputs,
        receiver_tensors_alternatives,
        serving_only=serving_only,
    )


def get_timestamped_export_dir(export_dir_base: str) -> bytes:
    """`export_utils.get_timestamped_export_dir`: `<base>/<unix seconds>`, not yet existing."""
    return _export_utils.get_timestamped_export_dir(export_dir_base)


def get_temp_export_dir(timestamped_export_dir: bytes) -> bytes:
    """`export_utils.get_temp_export_dir`: `<base>/temp-<unix seconds>`, renamed when done."""
    return _export_utils.get_temp_export_dir(timestamped_export_dir)


def add_train_op(builder: Any, train_op: Any) -> None:
    """`SavedModelBuilder._add_train_op`: records the train op, so a re-exported train graph
    can be trained again (the builder has no public way to).
    """
    builder._add_train_op(train_op)


# --- Small helpers of tf.estimator's. -----------------------------------------------------------


def fn_args(fn: Any) -> tuple[str, ...]:
    """`function_utils.fn_args`: the argument names of `fn`, partials and callables included.

    How Estimator decided which of `mode`, `params` and `config` an input_fn takes.
    """
    return tuple(_function_utils.fn_args(fn))


def create_meta_graph_def(*, graph_def: Any, saver_def: Any, graph: tf.Graph) -> Any:
    """`meta_graph.create_meta_graph_def`: the MetaGraphDef CheckpointSaverHook writes, from a
    GraphDef made once (`graph.as_graph_def` is the expensive part).
    """
    return _meta_graph.create_meta_graph_def(graph_def=graph_def, saver_def=saver_def, graph=graph)


# --- CheckpointSaverHook's state, for a hook that re-does its `after_create_session`. ----------


def saver_hook_listeners(hook: tf.compat.v1.train.CheckpointSaverHook) -> list[Any]:
    """`CheckpointSaverHook._listeners`: the list `saving_listeners` join, as Estimator did."""
    return hook._listeners


def saver_hook_checkpoint_dir(hook: tf.compat.v1.train.CheckpointSaverHook) -> str:
    """`CheckpointSaverHook._checkpoint_dir`: where it writes checkpoints and `graph.pbtxt`."""
    return hook._checkpoint_dir


def saver_hook_saves_graph_def(hook: tf.compat.v1.train.CheckpointSaverHook) -> bool:
    """`CheckpointSaverHook._save_graph_def`: whether it writes `graph.pbtxt` and `.meta` files."""
    return bool(hook._save_graph_def)


def saver_hook_global_step_tensor(hook: tf.compat.v1.train.CheckpointSaverHook) -> tf.Tensor:
    """`CheckpointSaverHook._global_step_tensor`: the step it reads, set by `begin()`."""
    return hook._global_step_tensor


def saver_hook_saver(hook: tf.compat.v1.train.CheckpointSaverHook) -> Any:
    """`CheckpointSaverHook._get_saver()`: its saver (given, the scaffold's, or the graph's)."""
    return hook._get_saver()


def saver_hook_summary_writer(hook: tf.compat.v1.train.CheckpointSaverHook) -> Any:
    """`CheckpointSaverHook._summary_writer`: the FileWriter of its directory, set by `begin()`."""
    return hook._summary_writer


def saver_hook_save(
    hook: tf.compat.v1.train.CheckpointSaverHook, session: tf.compat.v1.Session, step: int
) -> None:
    """`CheckpointSaverHook._save` then `_timer.update_last_triggered_step`: the starting
    checkpoint, with the listeners called, as the stock `after_create_session` ends.
    """
    hook._save(session, step)
    hook._timer.update_last_triggered_step(step)


def write_graph_event(writer: Any, graph: tf.Graph, graph_def: Any) -> None:
    """`FileWriter._write_plugin_assets` and `FileWriter._add_graph_def`: what
    `FileWriter.add_graph(graph)` does, but with a GraphDef already made.
    """
    writer._write_plugin_assets(graph)
    writer._add_graph_def(graph_def)
