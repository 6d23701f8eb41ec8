"""The evaluation loop: the eval graph's own metrics, plus `loss` and `global_step`."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from savedmodel_estimator import _tf_internal as internal
from savedmodel_estimator.graph_import import ModeGraph
from savedmodel_estimator.run_config import RunConfig

LOSS_METRIC_KEY = 'loss'
GLOBAL_STEP_KEY = tf.compat.v1.GraphKeys.GLOBAL_STEP


def steps_to_hooks(steps: int | None) -> list[tf.compat.v1.train.SessionRunHook]:
    """The hook that stops evaluation after `steps` batches (none: run to end of input)."""
    if steps is None:
        return []
    if steps <= 0:
        raise ValueError(f'Must specify steps > 0, given: {steps}')
    return [internal.stop_after_n_evals_hook(steps)]


def build_eval_ops(spec: ModeGraph) -> tuple[Any, dict[str, Any], tf.compat.v1.train.Scaffold]:
    """The grouped update op, the value tensors by name, and the scaffold to evaluate with."""
    metrics = dict(spec.metrics)
    if LOSS_METRIC_KEY in metrics:
        raise ValueError(
            f'Metric with name "{LOSS_METRIC_KEY}" is not allowed, because Estimator already '
            'defines a default metric with the same name.'
        )
    metrics[LOSS_METRIC_KEY] = tf.compat.v1.metrics.mean(spec.loss)
    update_ops, values = [], {}
    for name, (value, update_op) in sorted(metrics.items()):  # sorted: same graph every time
        values[name] = value
        update_ops.append(update_op)
    if GLOBAL_STEP_KEY in values:
        raise ValueError(
            'Metric with name `global_step` is not allowed, because Estimator already defines a '
            'default metric with the same name.'
        )
    values[GLOBAL_STEP_KEY] = tf.compat.v1.train.get_global_step()
    scaffold = spec.scaffold
    if scaffold.local_init_op is not None:
        # Metrics added local variables: initialize them along with the export's own init op.
        internal.get_or_create_eval_step()
        scaffold = tf.compat.v1.train.Scaffold(
            local_init_op=tf.group(
                scaffold.local_init_op, tf.compat.v1.train.Scaffold.default_local_init_op()
            ),
            copy_from_scaffold=scaffold,
        )
    return tf.group(*update_ops), values, scaffold


def evaluate_once(
    checkpoint_path: str | None,
    scaffold: tf.compat.v1.train.Scaffold,
    update_op: Any,
    values: dict[str, Any],
    hooks: list[tf.compat.v1.train.SessionRunHook],
    config: RunConfig,
) -> dict[str, Any]:
    """Runs `update_op` until the hooks stop or the input ends; returns the metric values."""
    return internal.evaluate_once(
        checkpoint_path=checkpoint_path,
        scaffold=scaffold,
        eval_ops=update_op,
        final_ops=values,
        hooks=hooks,
        config=config.effective_session_config,
    )


def write_eval_summaries(
    output_dir: str, results: dict[str, Any], checkpoint_path: str | None
) -> None:
    """Writes the results as TensorBoard scalars under `output_dir`, at their global step."""
    step = int(results[GLOBAL_STEP_KEY])
    summary = summary_pb2.Summary()
    for key, value in results.items():
        if value is None or key == GLOBAL_STEP_KEY:
            continue
        if isinstance(value, (np.floating, float, np.integer, int)):
            summary.value.add(tag=key, simple_value=float(value))
        elif isinstance(value, bytes):
            try:
                parsed = summary_pb2.Summary.FromString(value)
            except Exception:
                tf.compat.v1.logging.warn(
                    f'Skipping summary for {key}, cannot parse string to Summary.'
                )
                continue
            for i, entry in enumerate(parsed.value):
                entry.tag = f'{key}/{i}'
            summary.value.extend(parsed.value)
        elif isinstance(value, np.ndarray):
            entry = summary.value.add(tag=key, node_name=key)
            entry.tensor.CopyFrom(tf.make_tensor_proto(value))
    if checkpoint_path:
        summary.value.add(
            tag='checkpoint_path', tensor=tf.make_tensor_proto(checkpoint_path, dtype=tf.string)
        )
    tf.io.gfile.makedirs(output_dir)
    with tf.Graph().as_default():  # v1 FileWriters refuse eager mode
        writer = tf.compat.v1.summary.FileWriterCache.get(output_dir)
        writer.add_summary(summary, step)
        writer.flush()


def eval_dir(model_dir: str, name: str | None) -> str:
    return os.path.join(model_dir, 'eval' if not name else 'eval_' + name)
