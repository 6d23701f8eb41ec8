"""Importing one mode's MetaGraph into the current graph, wired to the given inputs.

This is the model function of the SavedModelEstimator: where the original built an EstimatorSpec
from a model_fn, this imports the exported graph for the mode with its inputs replaced by the
features and labels the input_fn made, and collects what training, evaluation, prediction and
re-export need (`ModeGraph`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import tensorflow as tf
from tensorflow.core.framework import attr_value_pb2
from tensorflow.core.protobuf import meta_graph_pb2

from savedmodel_estimator import _tf_internal as internal
from savedmodel_estimator.errors import ModeNotAvailableError
from savedmodel_estimator.export import wrap_and_check_input_tensors
from savedmodel_estimator.mode_keys import SUPERVISED_METHOD_NAMES, ModeKeys
from savedmodel_estimator.saved_model_reader import SavedModelReader, tensor_names

_SEPARATOR = '/'
_METRICS, _PREDICTIONS, _LOSS = 'metrics', 'predictions', 'loss'
_VALUE, _UPDATE_OP = 'value', 'update_op'

Tensorish = Any  # tf.Tensor | tf.SparseTensor


@dataclasses.dataclass
class ModeGraph:
    """What one imported mode offers: the SavedModel counterpart of an EstimatorSpec."""

    mode: str
    loss: tf.Tensor | None
    train_op: Any
    predictions: dict[str, Tensorish]
    metrics: dict[str, tuple[tf.Tensor, tf.Tensor]]
    scaffold: tf.compat.v1.train.Scaffold
    asset_tensors: list[tf.Tensor]


def _tensor_names(tensor_info: meta_graph_pb2.TensorInfo) -> list[str]:
    """The graph tensor names a TensorInfo refers to (three for a SparseTensor)."""
    names = tensor_names(tensor_info)
    if names is None:
        raise NotImplementedError(
            f'Signature entries encoded as {tensor_info.WhichOneof("encoding")!r} (composite '
            'tensors) are not supported; an Estimator export uses dense and SparseTensor entries '
            'only.'
        )
    return names


def _op_name(tensor_name: str) -> str:
    return tensor_name.split(':', 1)[0]


def _check_same_dtype_and_shape(
    tensor: Tensorish, tensor_info: meta_graph_pb2.TensorInfo, name: str
) -> None:
    """Raises the original's ValueError if `tensor` does not match the signature entry."""
    expected_dtype = tf.dtypes.as_dtype(tensor_info.dtype)
    expected_shape = tf.TensorShape(tensor_info.tensor_shape)
    dtype_error = tensor.dtype != expected_dtype
    shape_error = not tensor.shape.is_compatible_with(expected_shape)
    if dtype_error or shape_error:
        msg = f'Tensor shape and/or dtype validation failed for input {name}:'
        if dtype_error:
            msg += f'\n\tExpected dtype: {expected_dtype}, Got: {tensor.dtype}'
        if shape_error:
            msg += f'\n\tExpected shape: {expected_shape}, Got: {tensor.shape}'
        raise ValueError(msg)


def generate_input_map(
    signature_def: meta_graph_pb2.SignatureDef, features: Any, labels: Any
) -> dict[str, Any]:
    """Maps each signature input's graph tensor to the feature or label of the same key.

    Control-dependency references (`^name`) are mapped too, so ops that depend on an input only
    for ordering follow the replacement. SparseTensor inputs map their three component tensors.

    Raises:
        ValueError: an input has no feature or label of its key, or a dtype/shape differs.
    """
    features = wrap_and_check_input_tensors(features, 'feature')
    if labels is not None:
        labels = wrap_and_check_input_tensors(labels, 'label')
    input_map: dict[str, Any] = {}
    # Features before labels, each by name: protobuf map order differs between versions, and a
    # mismatch report should not (the original, on protobuf 3/4, reported features first).
    order = sorted(signature_def.inputs, key=lambda k: (labels is not None and k in labels, k))
    for key in order:
        tensor_info = signature_def.inputs[key]
        if key in features:
            value = features[key]
        elif labels is not None and key in labels:
            value = labels[key]
        else:
            raise ValueError(
                f'Key "{key}" not found in features or labels passed in to the model function. '
                f'All required keys: {sorted(signature_def.inputs.keys())}'
            )
        _check_same_dtype_and_shape(value, tensor_info, key)
        names = _tensor_names(tensor_info)
        if len(names) == 3:
            if not isinstance(value, tf.SparseTensor):
                raise ValueError(
                    f'Input {key!r} is a SparseTensor in the signature, but a dense '
                    f'{type(value).__name__} was passed; pass a tf.SparseTensor.'
                )
            parts = [value.indices, value.values, value.dense_shape]
        else:
            if isinstance(value, tf.SparseTensor):
                raise ValueError(
                    f'Input {key!r} is a dense tensor in the signature, but a SparseTensor was '
                    'passed; convert it with tf.sparse.to_dense.'
                )
            parts = [value]
        for name, part in zip(names, parts, strict=True):
            input_map[_op_name(name)] = part
            input_map['^' + _op_name(name)] = part
    return input_map


def _extract_metrics(outputs: Mapping[str, Tensorish]) -> dict[str, tuple[Any, Any]]:
    """(value, update_op) pairs from `metrics/<name>/value` and `metrics/<name>/update_op`."""
    metrics = {}
    for key, tensor in outputs.items():
        parts = key.split(_SEPARATOR)
        if parts[0] != _METRICS or parts[-1] != _VALUE:
            continue
        metric_name = _SEPARATOR.join(parts[:-1])
        update_key = metric_name + _SEPARATOR + _UPDATE_OP
        if update_key in outputs:
            metrics[metric_name] = (tensor, outputs[update_key])
    return metrics


def _split_outputs(
    mode: str, outputs: dict[str, Tensorish], method_name: str
) -> tuple[Any, dict[str, Tensorish], dict[str, tuple[Any, Any]]]:
    if mode == ModeKeys.PREDICT:
        return None, outputs, {}
    expected = SUPERVISED_METHOD_NAMES[mode]
    if method_name != expected:
        raise RuntimeError(
            f'Invalid SignatureDef method name for mode {mode}.\n\tExpected: {expected}\n\t'
            f'Got: {method_name}\nPlease ensure that the SavedModel was exported with '
            '`tf.estimator.experimental_export_all_saved_models()`.'
        )
    if _LOSS not in outputs:
        raise RuntimeError(
            f'The {mode!r} signature has no {_LOSS!r} output (outputs: {sorted(outputs)}); '
            'an Estimator export always has one.'
        )
    predictions = {k: v for k, v in outputs.items() if k.split(_SEPARATOR)[0] == _PREDICTIONS}
    return outputs[_LOSS], predictions, _extract_metrics(outputs)


def _train_op(meta_graph: meta_graph_pb2.MetaGraphDef) -> Any:
    if internal.TRAIN_OP_SIGNATURE_KEY in meta_graph.signature_def:
        return internal.get_train_op(meta_graph)
    ops = tf.compat.v1.get_collection(internal.TRAIN_OP_KEY)
    if len(ops) > 1:
        raise RuntimeError('Multiple ops found in the train_op collection.')
    return ops[0] if ops else None


def _clear_saved_model_collections() -> None:
    """Empty the collections a SavedModel builder expects empty, so re-export works."""
    for key in (
        tf.compat.v1.saved_model.ASSETS_KEY,
        tf.compat.v1.saved_model.LEGACY_INIT_OP_KEY,
        tf.compat.v1.saved_model.MAIN_OP_KEY,
        internal.TRAIN_OP_KEY,
    ):
        del tf.compat.v1.get_collection_ref(key)[:]


def _point_assets_at(graph: tf.Graph, asset_paths: Mapping[str, str]) -> list[tf.Tensor]:
    """Set each asset path constant to the asset's path in the export being read.

    The exported constants hold the path the asset had when the model was first exported; the
    loader feeds the right path at run time, but a re-export copies assets from the constant's
    value. Rewriting the constant keeps both correct wherever the SavedModel has moved.
    """
    tensors = []
    for name, path in asset_paths.items():
        tensor = graph.get_tensor_by_name(name)
        if tensor.op.type == 'Const':
            value = attr_value_pb2.AttrValue(tensor=tf.make_tensor_proto(path))
            internal.set_op_attr(tensor.op, 'value', value)
        tensors.append(tensor)
    return tensors


def import_mode_graph(
    reader: SavedModelReader,
    mode: str,
    features: Any,
    labels: Any,
    restore_from: str | None,
    keep_checkpoint_max: int | None = None,
) -> ModeGraph:
    """Import the mode's MetaGraph into the default graph, with inputs replaced.

    Args:
        reader: The SavedModel.
        mode: A `ModeKeys` value.
        features: Features from the input_fn (tensor, SparseTensor or dict of them).
        labels: Labels from the input_fn, or None.
        restore_from: Checkpoint to restore variables from when the session is created without
            one (the SavedModel's own variables before `model_dir` has a checkpoint), or None.
        keep_checkpoint_max: Overrides how many checkpoints the exported saver keeps.

    Raises:
        ModeNotAvailableError: the SavedModel lacks the mode.
        RuntimeError: the input_fn created a global step, or the signature is malformed.
        ValueError: features or labels do not match the signature.
    """
    signature_def = reader.signature(mode)
    meta_graph = reader.meta_graph(mode)
    if signature_def is None or meta_graph is None:
        raise ModeNotAvailableError(mode, reader.available_modes)
    graph = tf.compat.v1.get_default_graph()
    if tf.compat.v1.train.get_global_step(graph) is not None:
        raise RuntimeError(
            'Graph must not contain a global step tensor before the SavedModel is loaded. Please '
            'make sure that the input function does not create a global step.'
        )
    input_map = generate_input_map(signature_def, features, labels)
    output_keys = list(signature_def.outputs.keys())
    output_names = [_tensor_names(signature_def.outputs[k]) for k in output_keys]
    flat_names = [name for names in output_names for name in names]

    _, flat_tensors = internal.import_meta_graph_with_return_elements(
        meta_graph, input_map=input_map, return_elements=flat_names
    )

    by_name = dict(zip(flat_names, flat_tensors, strict=True))
    outputs: dict[str, Tensorish] = {}
    for key, names in zip(output_keys, output_names, strict=True):
        if len(names) == 3:
            outputs[key] = tf.SparseTensor(*(by_name[n] for n in names))
        else:
            outputs[key] = by_name[names[0]]
    loss, predictions, metrics = _split_outputs(mode, outputs, signature_def.method_name)

    saver_def = meta_graph.saver_def
    if keep_checkpoint_max is not None and saver_def.max_to_keep != keep_checkpoint_max:
        saver_def = type(saver_def).FromString(saver_def.SerializeToString())
        saver_def.max_to_keep = keep_checkpoint_max
    saver = tf.compat.v1.train.Saver(saver_def=saver_def)
    asset_paths = reader.asset_paths(mode)
    asset_tensors = _point_assets_at(graph, asset_paths)
    init_fn = None
    if restore_from is not None:

        def init_fn(scaffold: Any, session: Any) -> None:
            scaffold.saver.restore(session, restore_from)

    scaffold = tf.compat.v1.train.Scaffold(
        local_init_op=internal.get_init_op(meta_graph),
        local_init_feed_dict=dict(zip(asset_tensors, asset_paths.values(), strict=True)),
        saver=saver,
        init_fn=init_fn,
    )
    tf.compat.v1.train.assert_global_step(tf.compat.v1.train.get_global_step(graph))
    train_op = _train_op(meta_graph)
    _clear_saved_model_collections()
    return ModeGraph(mode, loss, train_op, predictions, metrics, scaffold, asset_tensors)
