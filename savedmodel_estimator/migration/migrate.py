"""`migrate`: an Estimator export in, a TF2-native, trainable SavedModel out."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from savedmodel_estimator.migration import checks, functions, writer
from savedmodel_estimator.migration.errors import MigrationError
from savedmodel_estimator.migration.inventory import Inventory, read_inventory, tensor_names
from savedmodel_estimator.migration.load_time import load_time_table
from savedmodel_estimator.migration.resources import Resources, create_resources
from savedmodel_estimator.migration.wrapped import WrappedMetaGraph
from savedmodel_estimator.mode_keys import SIGNATURE_KEYS, ModeKeys
from savedmodel_estimator.saved_model_reader import SavedModelReader

DEFAULT_LABEL_KEY = 'label'
_HINT = (
    'migrate() writes nothing for a model it cannot carry over faithfully; the export itself '
    'still works with savedmodel_estimator.SavedModelEstimator.'
)


@dataclasses.dataclass(frozen=True)
class MigrationResult:
    """What `migrate` wrote.

    Attributes:
        output_dir: The TF2 SavedModel.
        signatures: Its serving signatures, key -> method name (as in the export).
        endpoints: Its functions: `serve*` (serving), `train_step`, `update_metrics`,
            `metrics`, `reset_metrics`, as the export allowed.
        variables: The names of its model variables (`loaded.variables`).
        metric_variables: The names of its metric variables (`loaded.metric_variables`).
        label_keys: The train/eval signature inputs `train_step` takes as labels.
        load_time_ops: How many init-op writes run at every load (usually 0).
    """

    output_dir: str
    signatures: dict[str, str]
    endpoints: tuple[str, ...]
    variables: tuple[str, ...]
    metric_variables: tuple[str, ...]
    label_keys: tuple[str, ...]
    load_time_ops: int


def _label_keys(inventory: Inventory, label_keys: Sequence[str] | None) -> tuple[list[str], str]:
    """(the label keys, a problem or '')."""
    if label_keys is not None:
        return list(label_keys), ''
    for mode in (ModeKeys.TRAIN, ModeKeys.EVAL):
        info = inventory.meta_graphs.get(mode)
        if info is None or SIGNATURE_KEYS[mode] not in info.signatures:
            continue
        inputs = sorted(info.signatures[SIGNATURE_KEYS[mode]].inputs)
        if DEFAULT_LABEL_KEY in inputs:
            return [DEFAULT_LABEL_KEY], ''
        return [], (
            f'the {SIGNATURE_KEYS[mode]!r} signature has no input named '
            f'{DEFAULT_LABEL_KEY!r} (inputs: {inputs}), so which inputs are labels is unknown; '
            'pass label_keys=[...].'
        )
    return [], ''


def _run_once(wrapped: WrappedMetaGraph, feeds: list[str], fetches: list[str], *args: Any) -> None:
    if fetches:
        wrapped.prune(feeds, fetches)(*args)


class _Builder:
    """Builds the migrated model's object from the wrapped MetaGraphs."""

    def __init__(self, inventory: Inventory, resources: Resources) -> None:
        self.inventory = inventory
        self.resources = resources
        self.wrapped = {
            mode: WrappedMetaGraph(info, resources) for mode, info in inventory.meta_graphs.items()
        }
        self.attributes: dict[str, Any] = {}
        self.method_names: dict[str, str] = {}
        self.signatures: dict[str, Any] = {}
        self.loss_mean: list[tf.Variable] = []

    def restore(self) -> None:
        """The export's checkpoint into the shared variables and tables; metrics to initial."""
        for wrapped in self.wrapped.values():
            saver = wrapped.info.meta_graph.saver_def
            if saver.restore_op_name and self.inventory.variables_path:
                path = tf.constant(self.inventory.variables_path)
                _run_once(wrapped, [saver.filename_tensor_name], [saver.restore_op_name], path)
            initializers = [v.initializer_name for v in wrapped.info.local_variables.values()]
            _run_once(wrapped, [], initializers)

    def serving(self) -> None:
        wrapped = self.wrapped.get(ModeKeys.PREDICT)
        if wrapped is None:
            return
        groups: dict[tuple[str, ...], list[str]] = {}
        for key, signature_def in sorted(wrapped.info.signatures.items()):
            if not key.startswith('__'):
                tensors = sorted(n for i in signature_def.inputs.values() for n in tensor_names(i))
                groups.setdefault(tuple(tensors), []).append(key)
        signatures = {}
        for keys in groups.values():
            for key, serving in functions.serving(wrapped, keys).items():
                signatures[key] = serving.signature
                self.method_names[key] = serving.method_name
                name = 'serve' if key == SIGNATURE_KEYS[ModeKeys.PREDICT] else f'serve_{key}'
                self.attributes[name] = serving.endpoint
        self.signatures = signatures

    def training(self, label_keys: list[str]) -> None:
        wrapped = self.wrapped.get(ModeKeys.TRAIN)
        if (
            wrapped is None
            or wrapped.info.train_op is None
            or 'train' not in wrapped.info.signatures
        ):
            return
        inputs = functions.supervised(wrapped, 'train', label_keys)
        self.attributes['train_step'] = functions.train_step(wrapped, inputs, wrapped.info.train_op)

    def evaluation(self, label_keys: list[str]) -> None:
        wrapped = self.wrapped.get(ModeKeys.EVAL)
        if wrapped is None or 'eval' not in wrapped.info.signatures:
            return
        inputs = functions.supervised(wrapped, 'eval', label_keys)
        initializers = [v.initializer_name for v in wrapped.info.local_variables.values()]
        global_step = self.inventory.global_step
        metrics = functions.metrics(
            wrapped,
            inputs,
            initializers,
            self.resources.variables[global_step] if global_step else None,
        )
        self.attributes.update(
            update_metrics=metrics.update_metrics,
            metrics=metrics.metrics,
            reset_metrics=metrics.reset_metrics,
        )
        self.loss_mean = metrics.loss_mean

    def load_time(self, effects: checks.LoadTimeEffects) -> int:
        by_tag = {w.info.tag: w for w in self.wrapped.values()}
        pruned = [by_tag[tag].prune([], ops) for tag, ops in effects.ops.items()]
        if pruned:
            self.attributes['load_time_ops'] = load_time_table(pruned)
        return sum(len(ops) for ops in effects.ops.values())

    @property
    def metric_variables(self) -> list[tf.Variable]:
        return [*self.resources.metric_variables, *self.loss_mean]

    def root(self) -> tf.train.Checkpoint:
        resources = self.resources
        return tf.train.Checkpoint(
            variables=resources.model_variables,
            trainable_variables=[v for v in resources.model_variables if v.trainable],
            metric_variables=self.metric_variables,
            tables=list(resources.tables.values()),
            assets=list(resources.assets.values()),
            **self.attributes,
        )


def migrate(
    export_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    label_keys: Sequence[str] | None = None,
) -> MigrationResult:
    """Writes a TF2 SavedModel at `output_dir` that does what the Estimator export did.

    The result loads with `tf.saved_model.load` alone (no `tf.compat.v1`, no session, no
    package of ours) and holds ONE set of `tf.Variable`s, named as in the export, that every
    function uses: after `train_step`, the serving signatures answer with the new weights.

    * `loaded.signatures[k]`: every serving signature of the export, same keys, dtypes and
      method names (a SparseTensor input `x` as `x_indices`, `x_values`, `x_dense_shape`);
      `loaded.serve(inputs)` (serving_default) and `loaded.serve_<k>(inputs)`: the same with one
      argument, the input or a dict of inputs (what `keras.layers.TFSMLayer` calls).
    * `loaded.train_step(features, labels) -> loss` (with a train MetaGraph): one step of the
      export's own loss and optimizer; labels a tensor (one label key) or a dict.
    * `loaded.update_metrics(features, labels)`, `loaded.metrics()`, `loaded.reset_metrics()`
      (with an eval MetaGraph): the eval graph's metrics, plus `loss` and `global_step`, keyed
      as `SavedModelEstimator.evaluate` returns them.
    * `loaded.variables`, `loaded.trainable_variables`, `loaded.metric_variables`: lists.

    Vocabulary tables become `tf.lookup` tables and their files travel as assets.

    Args:
        export_dir: The Estimator export (a SavedModel with train, eval and/or serve MetaGraphs).
        output_dir: Where to write; must not exist or be empty. The model is written beside it
            and renamed into place when complete, so a failure leaves nothing there.
        label_keys: The train/eval signature inputs that are labels (default: `label`).

    Returns:
        What was written.

    Raises:
        MigrationError (a ValueError): the export cannot be migrated faithfully; says why.
        FileExistsError: `output_dir` exists and is not empty.
        SavedModelFormatError (a ValueError): `export_dir` is not a readable SavedModel.
        RuntimeError: called with eager execution disabled.
    """
    export_dir, output_dir = os.fsdecode(export_dir), os.fsdecode(output_dir)
    if not tf.executing_eagerly():
        raise RuntimeError(
            'migrate() makes TF2 objects and needs eager execution; call it outside '
            'tf.Graph().as_default() and without tf.compat.v1.disable_eager_execution().'
        )
    writer.check_output_dir(output_dir)
    inventory, problems = read_inventory(SavedModelReader(export_dir))
    problems += checks.refused_ops(inventory)
    effects = checks.load_time_effects(inventory)
    problems += effects.problems
    labels, label_problem = _label_keys(inventory, label_keys)
    problems += [label_problem] if label_problem else []
    if problems:
        raise MigrationError(export_dir, problems, _HINT)
    resources, problems = create_resources(inventory)
    if problems:
        raise MigrationError(export_dir, problems, _HINT)
    builder = _build(export_dir, inventory, resources, labels)
    load_time_ops = builder.load_time(effects)
    root = builder.root()
    signatures = builder.signatures

    def write(staging: str) -> None:
        tf.saved_model.save(root, staging, signatures=signatures or None)
        writer.restore_method_names(staging, builder.method_names)

    writer.write_atomically(output_dir, write)
    return MigrationResult(
        output_dir=output_dir,
        signatures=dict(builder.method_names),
        endpoints=tuple(sorted(k for k in builder.attributes if k != 'load_time_ops')),
        variables=tuple(v.name.split(':')[0] for v in resources.model_variables),
        metric_variables=tuple(v.name.split(':')[0] for v in builder.metric_variables),
        label_keys=tuple(labels),
        load_time_ops=load_time_ops,
    )


def _build(
    export_dir: str, inventory: Inventory, resources: Resources, labels: list[str]
) -> _Builder:
    """The builder with every function made; errors become a MigrationError naming the step."""
    step = 'importing the MetaGraphs'
    try:
        builder = _Builder(inventory, resources)
        step = "restoring the export's variables"
        builder.restore()
        step = 'building the serving signatures'
        builder.serving()
        step = 'building train_step from the train MetaGraph'
        builder.training(labels)
        step = 'building the metrics from the eval MetaGraph'
        builder.evaluation(labels)
    except (ValueError, TypeError, KeyError, tf.errors.OpError) as err:
        raise MigrationError(export_dir, [f'{step} failed: {err}'], _HINT) from err
    return builder
