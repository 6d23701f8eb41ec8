"""The TF2 objects that replace an export's graph resources: variables, tables and assets.

One `tf.Variable` per variable name across the MetaGraphs (model variables restored from the
export's checkpoint; metric variables apart), one `tf.lookup` table per table, and one
`tf.saved_model.Asset` per asset file. Each MetaGraph's resource nodes are then rewired to these
(`handle`), so serving, training and evaluation read and write the same state.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import graph_pb2

from savedmodel_estimator.migration.graph_index import tensor_name
from savedmodel_estimator.migration.inventory import (
    Inventory,
    MetaGraphInventory,
    TableSpec,
    VariableSpec,
    attr,
)


@dataclasses.dataclass
class Resources:
    """The migrated model's state, by the names the inventory gives it."""

    variables: dict[str, tf.Variable]
    metric: dict[str, bool]  # variable name -> a metric variable
    tables: dict[str, Any] = dataclasses.field(default_factory=dict)
    # File path in the export -> its Asset, for asset paths that functions read (tables track
    # their own).
    assets: dict[str, tf.saved_model.Asset] = dataclasses.field(default_factory=dict)

    @property
    def model_variables(self) -> list[tf.Variable]:
        return [v for name, v in self.variables.items() if not self.metric[name]]

    @property
    def metric_variables(self) -> list[tf.Variable]:
        return [v for name, v in self.variables.items() if self.metric[name]]

    def handles(self, info: MetaGraphInventory) -> dict[str, tf.Tensor]:
        """MetaGraph resource node -> the resource handle of the TF2 object standing for it."""
        handles = {node: self.variables[name].handle for node, name in info.variables.items()}
        handles.update(
            (node, self.tables[key].resource_handle)
            for node, key in info.tables.items()
            if key in self.tables
        )
        return handles

    def asset(self, path: str) -> tf.saved_model.Asset:
        if path not in self.assets:
            self.assets[path] = tf.saved_model.Asset(path)
        return self.assets[path]


def _variable(spec: VariableSpec) -> tf.Variable:
    """Zeros of its shape (unknown dimensions: 0) until restored or initialized."""
    dims = [d or 0 for d in spec.shape.as_list()] if spec.shape.rank is not None else []
    initial = tf.zeros(dims, spec.dtype)
    return tf.Variable(
        initial, name=spec.name, trainable=spec.trainable, shape=spec.shape, dtype=spec.dtype
    )


def _safe_name(text: str) -> str:
    return re.sub(r'[^A-Za-z0-9_.\-/]', '_', text).lstrip('_/') or 'table'


# Ops whose value depends on more than the graph's constants.
_NOT_CONSTANT = frozenset(
    {'Placeholder', 'PlaceholderWithDefault', 'VarHandleOp', 'ReadVariableOp'}
)


def _const_values(info: MetaGraphInventory, tensors: list[str]) -> list[np.ndarray] | None:
    """The values of `tensors` if they are computed from constants alone, else None.

    Initializers of TF 2 tables compute their values (a Cast of a Const, a range), so the
    subgraph behind them is run once, here, rather than read from a Const node.
    """
    ops = info.index.ancestors(tensors)
    if any(info.index.nodes[name].op in _NOT_CONSTANT for name in ops):
        return None
    graph_def = graph_pb2.GraphDef()
    graph_def.node.extend(info.index.nodes[name] for name in sorted(ops))
    graph_def.library.CopyFrom(info.meta_graph.graph_def.library)
    for node in graph_def.node:
        node.device = ''
    wrapped = tf.compat.v1.wrap_function(
        lambda: tf.graph_util.import_graph_def(graph_def, name=''), signature=[]
    )
    function = wrapped.prune([], [wrapped.graph.as_graph_element(tensor_name(t)) for t in tensors])
    return [value.numpy() for value in function()]


def _static_table(spec: TableSpec, info: MetaGraphInventory) -> tuple[Any, str | None]:
    """A `tf.lookup.StaticHashTable` initialized as the MetaGraph's table, or a problem."""
    node = info.index.nodes[spec.init_op]
    if node.op != 'InitializeTableFromTextFileV2':
        found = _const_values(info, [node.input[1], node.input[2]])
        if found is None:
            return None, (
                f'the keys or values of table initializer {node.name!r} in the {info.tag!r} '
                'MetaGraph depend on inputs or variables, not on constants alone'
            )
        keys, values = found
        initializer: Any = tf.lookup.KeyValueTensorInitializer(
            tf.constant(keys, spec.key_dtype), tf.constant(values, spec.value_dtype)
        )
    else:
        filename = node.input[1]
        path = info.assets.get(filename if ':' in filename else filename + ':0')
        if path is None:
            value = _const_values(info, [filename])
            if value is None:
                return None, (
                    f'the file name of table initializer {node.name!r} in the {info.tag!r} '
                    'MetaGraph depends on inputs or variables'
                )
            path = value[0].item().decode()
        if not tf.io.gfile.exists(path):
            return None, (
                f'table initializer {node.name!r} in the {info.tag!r} MetaGraph reads {path!r}, '
                'which does not exist'
            )
        vocab_size = attr(node, 'vocab_size', -1)
        initializer = tf.lookup.TextFileInitializer(
            path,
            key_dtype=spec.key_dtype,
            key_index=attr(node, 'key_index'),
            value_dtype=spec.value_dtype,
            value_index=attr(node, 'value_index'),
            vocab_size=None if vocab_size < 0 else vocab_size,
            delimiter=attr(node, 'delimiter', b'\t').decode(),
            value_index_offset=attr(node, 'offset', 0),
        )
    table = tf.lookup.StaticHashTable(
        initializer, default_value=tf.zeros([], spec.value_dtype), name=_safe_name(spec.key)
    )
    return table, None


def _mutable_table(spec: TableSpec) -> Any:
    return tf.lookup.experimental.MutableHashTable(
        spec.key_dtype,
        spec.value_dtype,
        default_value=tf.zeros(spec.value_shape or [], spec.value_dtype),
        name=_safe_name(spec.key),
    )


def create_resources(inventory: Inventory) -> tuple[Resources, list[str]]:
    """Makes every variable and table (uninitialized variables are zeros until restored).

    Returns:
        (the resources, problems): tables that cannot be rebuilt.
    """
    variables = {name: _variable(spec) for name, spec in inventory.variables.items()}
    resources = Resources(variables, {n: s.metric for n, s in inventory.variables.items()})
    problems = []
    by_tag = {info.tag: info for info in inventory.meta_graphs.values()}
    for key, spec in inventory.tables.items():
        if spec.mutable:
            resources.tables[key] = _mutable_table(spec)
            continue
        table, problem = _static_table(spec, by_tag[spec.tag])
        if problem:
            problems.append(problem + '; migration rebuilds tables from constants or files.')
        else:
            resources.tables[key] = table
    return resources, problems
