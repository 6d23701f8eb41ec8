"""What would make a migrated model differ from the export: found before anything is written.

Each function migration builds runs some of a MetaGraph's ops (`work`). Ops with no TF2
SavedModel equivalent in those sets refuse the export (`refused_ops`). Init ops that change
saved state at every load are carried over as load-time ops (`load_time_effects`), unless two
MetaGraphs would each add to the same state: in one TF2 object it would be added twice.
"""

from __future__ import annotations

import dataclasses

from savedmodel_estimator.migration.graph_index import is_write, op_name
from savedmodel_estimator.migration.inventory import (
    MUTABLE_TABLE_OPS,
    STATIC_TABLE_OPS,
    TABLE_INIT_OPS,
    VARIABLE_OP,
    Inventory,
    MetaGraphInventory,
    tensor_names,
)

_REF_VARIABLE = (
    'a TF1 reference variable: its ops (Assign, ApplyAdagrad, ...) have no form that reads and '
    'writes a TF2 tf.Variable'
)
_REF_TABLE = 'a TF1 reference-typed lookup table, which no TF2 table object can stand for'
_PYTHON = 'calls a Python function, which a SavedModel does not contain'
_QUEUE = 'an input queue or reader inside the graph: TF2 SavedModels take tensors, not queues'
_ITERATOR = 'a tf.data iterator inside the graph: TF2 SavedModels take tensors, not iterators'
REFUSED_OPS: dict[str, str] = {
    **dict.fromkeys(('VariableV2', 'Variable', 'TemporaryVariable'), _REF_VARIABLE),
    **dict.fromkeys(
        ('HashTable', 'MutableHashTable', 'MutableHashTableOfTensors', 'MutableDenseHashTable'),
        _REF_TABLE,
    ),
    'MutableDenseHashTableV2': 'a dense hash table, which migration does not rebuild yet',
    **dict.fromkeys(('PyFunc', 'PyFuncStateless', 'EagerPyFunc'), _PYTHON),
    **dict.fromkeys(
        (
            'FIFOQueue',
            'FIFOQueueV2',
            'PaddingFIFOQueueV2',
            'RandomShuffleQueueV2',
            'PriorityQueueV2',
            'TFRecordReaderV2',
            'TextLineReaderV2',
            'WholeFileReaderV2',
            'FixedLengthRecordReaderV2',
            'IdentityReaderV2',
        ),
        _QUEUE,
    ),
    **dict.fromkeys(
        ('Iterator', 'IteratorV2', 'OneShotIterator', 'AnonymousIterator', 'AnonymousIteratorV2'),
        _ITERATOR,
    ),
}
# Writes whose repetition changes nothing (given the same inputs): running them once per
# MetaGraph at load is harmless. Any other write to saved state adds up.
_IDEMPOTENT_WRITES = frozenset(
    {'AssignVariableOp', 'LookupTableInsertV2', 'LookupTableImportV2', 'ResourceScatterUpdate'}
)


def signature_inputs(info: MetaGraphInventory, key: str) -> list[str]:
    """The graph tensors that feed signature `key` (sparse inputs give three)."""
    signature = info.meta_graph.signature_def[key]
    return [name for k in sorted(signature.inputs) for name in tensor_names(signature.inputs[k])]


def signature_outputs(info: MetaGraphInventory, key: str) -> list[str]:
    signature = info.meta_graph.signature_def[key]
    return [name for k in sorted(signature.outputs) for name in tensor_names(signature.outputs[k])]


def work(info: MetaGraphInventory) -> dict[str, set[str]]:
    """What each function migration builds from this MetaGraph runs: description -> ops."""
    sets: dict[str, set[str]] = {}
    index = info.index
    for key in info.signatures:
        if key.startswith('__'):
            continue
        fetches = signature_outputs(info, key)
        if info.train_op and key == 'train':
            fetches.append(info.train_op)
        sets[f'signature {key!r}'] = index.ancestors(fetches, signature_inputs(info, key))
    saver = info.meta_graph.saver_def
    if saver.restore_op_name:
        sets['restore op'] = index.ancestors([saver.restore_op_name], [saver.filename_tensor_name])
    if info.init_op:
        sets['init op'] = index.ancestors([info.init_op])
    return sets


def refused_ops(inventory: Inventory) -> list[str]:
    """One problem per refused op type per MetaGraph, naming the op and what runs it."""
    problems = []
    for info in inventory.meta_graphs.values():
        reported: set[str] = set()
        for description, ops in work(info).items():
            for name in sorted(ops & info.unlisted_variables - reported):
                reported.add(name)
                problems.append(
                    f'variable {name!r} ({description} of the {info.tag!r} MetaGraph) is in no '
                    'variables collection, so neither the checkpoint nor the init op gives it '
                    'a value.'
                )
            for op_type, where in sorted(info.index.op_types(sorted(ops)).items()):
                if op_type in REFUSED_OPS and op_type not in reported:
                    reported.add(op_type)
                    problems.append(
                        f'{op_type} op {where!r} ({description} of the {info.tag!r} MetaGraph) '
                        f'is {REFUSED_OPS[op_type]}.'
                    )
    return problems


@dataclasses.dataclass
class LoadTimeEffects:
    """Ops of each MetaGraph's init op that change saved state, run again at every load."""

    ops: dict[str, list[str]]  # tag -> write op names
    problems: list[str]


def _resource_node(info: MetaGraphInventory, tensor: str) -> str:
    """The op that made the resource `tensor` refers to, through Identity ops."""
    name = op_name(tensor)
    while info.index.nodes.get(name) is not None and info.index.nodes[name].op == 'Identity':
        name = op_name(info.index.nodes[name].input[0])
    return name


def load_time_effects(inventory: Inventory) -> LoadTimeEffects:
    """The writes to model variables and checkpointed tables that init ops make.

    Table initializers and metric-variable initializers are left out: the TF2 tables and
    variables migration makes do that themselves.
    """
    ops: dict[str, list[str]] = {}
    adders: dict[str, list[str]] = {}
    for info in inventory.meta_graphs.values():
        if not info.init_op:
            continue
        for name in sorted(info.index.ancestors([info.init_op])):
            node = info.index.nodes[name]
            if not is_write(node.op) or not node.input:
                continue
            resource = _resource_node(info, node.input[0])
            kind = info.index.nodes[resource].op if resource in info.index.nodes else ''
            if kind in STATIC_TABLE_OPS and node.op in TABLE_INIT_OPS:
                continue
            if kind == VARIABLE_OP and inventory.variables[resource].metric:
                if node.op == 'AssignVariableOp':
                    continue
            elif kind not in MUTABLE_TABLE_OPS and kind != VARIABLE_OP:
                continue
            ops.setdefault(info.tag, []).append(name)
            if node.op not in _IDEMPOTENT_WRITES:
                adders.setdefault(resource, []).append(info.tag)
    problems = [
        f'the init ops of the {" and ".join(map(repr, tags))} MetaGraphs each change {name!r} '
        'at every load (a Scaffold local_init_op); in one TF2 SavedModel they would change it '
        f'{len(tags)} times per load, where each TF1 MetaGraph changed it once.'
        for name, tags in sorted(adders.items())
        if len(set(tags)) > 1
    ]
    return LoadTimeEffects(ops, problems)
