"""What an Estimator export holds that a TF2 SavedModel must carry, read from its MetaGraphs.

Every MetaGraph of an export has its own copy of the model's resources: a `VarHandleOp` per
variable, a `HashTableV2` per vocabulary table. Migration gives each resource ONE TF2 object
(`VariableSpec`, `TableSpec`), found here by name across the MetaGraphs, and records per
MetaGraph (`MetaGraphInventory`) which graph node stands for which object, its signatures, its
train op, its init op and its assets.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import tensorflow as tf
from tensorflow.core.framework import tensor_shape_pb2, variable_pb2
from tensorflow.core.protobuf import meta_graph_pb2

from savedmodel_estimator.migration.graph_index import GraphIndex, op_name
from savedmodel_estimator.mode_keys import ModeKeys
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator.saved_model_reader import tensor_names as reader_tensor_names

VARIABLE_OP = 'VarHandleOp'
STATIC_TABLE_OPS = frozenset({'HashTableV2'})
MUTABLE_TABLE_OPS = frozenset({'MutableHashTableV2', 'MutableHashTableOfTensorsV2'})
# TF 1 initializers, and LookupTableImportV2, which TF 2's KeyValueTensorInitializer emits.
TABLE_INIT_OPS = frozenset(
    {'InitializeTableV2', 'InitializeTableFromTextFileV2', 'LookupTableImportV2'}
)
# The collections TF 1's SavedModel loader reads the init op from, newest first.
_INIT_OP_COLLECTIONS = ('saved_model_main_op', 'legacy_init_op')
_INIT_OP_SIGNATURE = '__saved_model_init_op'
_TRAIN_OP_COLLECTION = 'saved_model_train_op'
_ASSETS_COLLECTION = 'saved_model_assets'
GraphKeys = tf.compat.v1.GraphKeys


@dataclasses.dataclass(frozen=True)
class VariableSpec:
    """One variable of the migrated model, named as its graph node is in the export.

    Attributes:
        name: The `VarHandleOp`'s name (the checkpoint key, but for partitioned variables,
            whose parts are saved as slices of one key).
        dtype: Its dtype.
        shape: Its shape.
        trainable: In a `trainable_variables` collection of the export.
        metric: A local variable (metrics): not in the checkpoint, reset by `reset_metrics`.
    """

    name: str
    dtype: tf.DType
    shape: tf.TensorShape
    trainable: bool
    metric: bool


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """One lookup table: a `tf.lookup.StaticHashTable` or a mutable (checkpointed) one.

    Attributes:
        key: Unique name: '<tag>/<node>' for a static table (each MetaGraph initializes its own),
            the table's shared name for a mutable one (one state, as the checkpoint has it).
        mutable: A MutableHashTable whose contents the checkpoint holds.
        key_dtype, value_dtype: The table's dtypes.
        value_shape: The shape of one value (mutable tables of tensors).
        tag: The MetaGraph a static table belongs to.
        init_op: The static table's initializer in that MetaGraph.
    """

    key: str
    mutable: bool
    key_dtype: tf.DType
    value_dtype: tf.DType
    value_shape: tuple[int, ...] = ()
    tag: str = ''
    init_op: str = ''


@dataclasses.dataclass
class MetaGraphInventory:
    """One MetaGraph: its graph, which node is which shared resource, and what it runs."""

    mode: str
    tag: str
    meta_graph: meta_graph_pb2.MetaGraphDef
    index: GraphIndex
    variables: dict[str, str]  # VarHandleOp node -> VariableSpec.name
    tables: dict[str, str]  # table node -> TableSpec.key
    global_variables: set[str]
    local_variables: dict[str, Any]  # node -> VariableDef (its initializer resets a metric)
    trainable_variables: set[str]
    init_op: str | None
    train_op: str | None
    assets: dict[str, str]  # asset tensor name -> file path in the export
    unlisted_variables: set[str] = dataclasses.field(default_factory=set)

    @property
    def signatures(self) -> dict[str, meta_graph_pb2.SignatureDef]:
        return dict(self.meta_graph.signature_def)


@dataclasses.dataclass
class Inventory:
    """The export, its MetaGraphs by mode, and the resources they share."""

    export_dir: str
    meta_graphs: dict[str, MetaGraphInventory]
    variables: dict[str, VariableSpec]
    tables: dict[str, TableSpec]
    variables_path: str
    global_step: str | None


def tensor_names(tensor_info: meta_graph_pb2.TensorInfo) -> list[str]:
    """The graph tensors of a signature entry: one, or three for a SparseTensor, else []."""
    return reader_tensor_names(tensor_info) or []


def _variable_defs(meta_graph: meta_graph_pb2.MetaGraphDef, key: str) -> dict[str, Any]:
    """Variable node name -> its VariableDef, for the variables of collection `key`."""
    if key not in meta_graph.collection_def:
        return {}
    defs = {}
    for data in meta_graph.collection_def[key].bytes_list.value:
        variable_def = variable_pb2.VariableDef.FromString(data)
        defs[op_name(variable_def.variable_name)] = variable_def
    return defs


def _collection_op(meta_graph: meta_graph_pb2.MetaGraphDef, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if key in meta_graph.collection_def:
            values = meta_graph.collection_def[key].node_list.value
            if values:
                return op_name(values[0])
    return None


def _init_op(meta_graph: meta_graph_pb2.MetaGraphDef) -> str | None:
    if _INIT_OP_SIGNATURE in meta_graph.signature_def:
        outputs = meta_graph.signature_def[_INIT_OP_SIGNATURE].outputs
        return op_name(outputs[_INIT_OP_SIGNATURE].name)
    return _collection_op(meta_graph, _INIT_OP_COLLECTIONS)


def _assets(export_dir: str, meta_graph: meta_graph_pb2.MetaGraphDef) -> dict[str, str]:
    """Asset tensor name -> its file in the export (asset_file_def, or the TF 1 collection)."""
    assets = list(meta_graph.asset_file_def)
    if not assets and _ASSETS_COLLECTION in meta_graph.collection_def:
        for packed in meta_graph.collection_def[_ASSETS_COLLECTION].any_list.value:
            asset = meta_graph_pb2.AssetFileDef()
            packed.Unpack(asset)
            assets.append(asset)
    assets_dir = os.path.join(export_dir, 'assets')
    return {a.tensor_info.name: os.path.join(assets_dir, a.filename) for a in assets}


def _shape(proto: tensor_shape_pb2.TensorShapeProto) -> tf.TensorShape:
    return tf.TensorShape(proto)


def attr(node: Any, name: str, default: Any = None) -> Any:
    """A NodeDef attribute as a Python value (dtype, shape, int, bytes, bool), or `default`."""
    if name not in node.attr:
        return default
    value = node.attr[name]
    kind = value.WhichOneof('value')
    if kind == 'type':
        return tf.as_dtype(value.type)
    if kind == 'shape':
        return _shape(value.shape)
    return getattr(value, kind) if kind else default


def _meta_graph_inventory(
    reader: SavedModelReader, mode: str, tag: str, meta_graph: meta_graph_pb2.MetaGraphDef
) -> MetaGraphInventory:
    index = GraphIndex(meta_graph.graph_def)
    variables, tables = {}, {}
    for node in meta_graph.graph_def.node:
        if node.op == VARIABLE_OP:
            variables[node.name] = node.name
        elif node.op in STATIC_TABLE_OPS:
            tables[node.name] = f'{tag}/{node.name}'
        elif node.op in MUTABLE_TABLE_OPS:
            tables[node.name] = (attr(node, 'shared_name') or b'').decode() or node.name
    train_op = _collection_op(meta_graph, (_TRAIN_OP_COLLECTION,))
    return MetaGraphInventory(
        mode=mode,
        tag=tag,
        meta_graph=meta_graph,
        index=index,
        variables=variables,
        tables=tables,
        global_variables=set(_variable_defs(meta_graph, GraphKeys.GLOBAL_VARIABLES)),
        local_variables=_variable_defs(meta_graph, GraphKeys.LOCAL_VARIABLES),
        trainable_variables=set(_variable_defs(meta_graph, GraphKeys.TRAINABLE_VARIABLES)),
        init_op=_init_op(meta_graph),
        train_op=train_op if mode == ModeKeys.TRAIN else None,
        assets=_assets(reader.export_dir, meta_graph),
    )


def read_inventory(reader: SavedModelReader) -> tuple[Inventory, list[str]]:
    """The export's MetaGraphs and shared resources, and the problems that stop migration.

    Returns:
        (the inventory, problems): each problem a sentence naming the node and MetaGraph.
    """
    problems: list[str] = []
    meta_graphs: dict[str, MetaGraphInventory] = {}
    for mode in (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT):
        meta_graph = reader.meta_graph(mode)
        if meta_graph is not None:
            tag = meta_graph.meta_info_def.tags[0]
            meta_graphs[mode] = _meta_graph_inventory(reader, mode, tag, meta_graph)
    variables: dict[str, VariableSpec] = {}
    tables: dict[str, TableSpec] = {}
    trainable = set().union(*(m.trainable_variables for m in meta_graphs.values()))
    for info in meta_graphs.values():
        for name in list(info.variables):
            node = info.index.nodes[name]
            if name not in info.global_variables and name not in info.local_variables:
                # Neither saved nor initialized by TF 1's loader: nothing gives it a value.
                # Estimators leave such variables unused; checks.refused_ops refuses any use.
                del info.variables[name]
                info.unlisted_variables.add(name)
                continue
            metric = name not in info.global_variables
            spec = VariableSpec(
                name, attr(node, 'dtype'), attr(node, 'shape'), name in trainable, metric
            )
            known = variables.setdefault(name, spec)
            if known != spec:
                problems.append(
                    f'variable {name!r} differs between MetaGraphs: {_describe(known)} in one, '
                    f'{_describe(spec)} in the {info.tag!r} MetaGraph; one TF2 variable cannot '
                    'stand for both.'
                )
        for node_name, key in info.tables.items():
            node = info.index.nodes[node_name]
            spec_or_problem = _table_spec(info, node, key)
            if isinstance(spec_or_problem, str):
                problems.append(spec_or_problem)
                continue
            known_table = tables.setdefault(key, spec_or_problem)
            if known_table != spec_or_problem:
                problems.append(
                    f'table {key!r} has different dtypes in the {info.tag!r} MetaGraph than in '
                    'another one; one TF2 table cannot stand for both.'
                )
    # Metric variables and static tables start from their initializers, not from the checkpoint.
    needs_checkpoint = any(not v.metric for v in variables.values()) or any(
        t.mutable for t in tables.values()
    )
    global_steps = [
        name
        for info in meta_graphs.values()
        for name in _variable_defs(info.meta_graph, GraphKeys.GLOBAL_STEP)
    ]
    inventory = Inventory(
        export_dir=reader.export_dir,
        meta_graphs=meta_graphs,
        variables=dict(sorted(variables.items())),
        tables=tables,
        variables_path=reader.variables_path if needs_checkpoint else '',
        global_step=global_steps[0] if global_steps else None,
    )
    return inventory, problems


def _describe(spec: VariableSpec) -> str:
    kind = 'metric' if spec.metric else 'model'
    return f'{spec.dtype.name} {spec.shape} ({kind})'


def _table_spec(info: MetaGraphInventory, node: Any, key: str) -> TableSpec | str:
    key_dtype, value_dtype = attr(node, 'key_dtype'), attr(node, 'value_dtype')
    if node.op in MUTABLE_TABLE_OPS:
        value_shape = attr(node, 'value_shape', tf.TensorShape([]))
        return TableSpec(key, True, key_dtype, value_dtype, tuple(value_shape.as_list()))
    inits = [
        name
        for name in info.index.consumers(node.name + ':0')
        if info.index.nodes[name].op in TABLE_INIT_OPS
    ]
    if len(inits) != 1:
        return (
            f'table {node.name!r} in the {info.tag!r} MetaGraph has {len(inits)} initializers '
            f'({", ".join(inits) or "none"}); migration rebuilds a table from exactly one '
            '(InitializeTableV2, LookupTableImportV2 or InitializeTableFromTextFileV2).'
        )
    return TableSpec(key, False, key_dtype, value_dtype, tag=info.tag, init_op=inits[0])
