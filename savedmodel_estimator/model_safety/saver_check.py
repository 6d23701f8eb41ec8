"""The MetaGraph's own saver: trusted only when it is exactly what a saver builds.

Loading a SavedModel runs the restore op its `saver_def` names, and everything that op depends
on, at every load; saving runs the save tensor's dependencies. So a checkpoint op is trusted
neither for its name (`save/...`) nor for being reachable from the restore op, but when the
saver, read as a whole, is a V2 saver of this MetaGraph's variables:

* the filename tensor is a string constant, fed through `PlaceholderWithDefault`s;
* every `RestoreV2` reads exactly that filename tensor; every `SaveV2` and
  `MergeV2Checkpoints` writes a name made from it by the saver's own steps (`StringJoin` with
  `_temp/part` or `.part`, `ShardedFilename`, `Pack`), nothing else;
* their `tensor_names` and `shape_and_slices` are constant string lists; what is saved is what
  is restored, and each restored entry goes into the variable (or table) it belongs to: the
  variable's own name, or its partition's `save_slice_info`;
* the restore and save closures hold nothing else: no op beyond those, the assignments, the
  variable and table reads, and the variables and tables themselves.

Anything else in the closure is reported as run by the saver; checkpoint ops outside it are
the scan's to refuse (graph_scan.py).
"""

from __future__ import annotations

import collections
import dataclasses
import re

import tensorflow as tf
from google.protobuf import message
from tensorflow.core.framework import node_def_pb2, variable_pb2
from tensorflow.core.protobuf import meta_graph_pb2

from savedmodel_estimator.model_safety.assets import normalized
from savedmodel_estimator.model_safety.findings import Finding, Kind

_V2_OPS = frozenset({'SaveV2', 'RestoreV2', 'MergeV2Checkpoints'})
_V1_OPS = frozenset({'Save', 'SaveSlices', 'Restore', 'RestoreSlice'})
_PLUMBING = frozenset({'NoOp', 'Identity', 'Const', 'PlaceholderWithDefault', 'StringJoin'})
_PLUMBING |= {'ShardedFilename', 'Select', 'StaticRegexFullMatch', 'Pack'}
_WRITES = frozenset({'AssignVariableOp', 'Assign', 'LookupTableImportV2', 'LookupTableImport'})
_READS = frozenset({'ReadVariableOp', 'DisableCopyOnRead', 'LookupTableExportV2'})
_READS |= {'LookupTableExport'}
_STATE = frozenset({'VarHandleOp', 'VariableV2', 'Variable', 'HashTableV2', 'HashTable'})
_STATE |= {'MutableHashTableV2', 'MutableHashTable', 'MutableHashTableOfTensorsV2'}
_STATE |= {'MutableHashTableOfTensors', 'MutableDenseHashTableV2', 'MutableDenseHashTable'}
_RESTORE_MAY_RUN = _PLUMBING | _WRITES | _STATE | {'RestoreV2'}
_SAVE_MAY_RUN = _PLUMBING | _READS | _STATE | {'SaveV2', 'MergeV2Checkpoints'}
_SUFFIX = re.compile(r'(\.part|_temp(_[0-9a-f]{32})?/part)')
_EXPECTED = (
    "only what a saver builds: RestoreV2 reading the saver_def's filename tensor, SaveV2 and "
    'MergeV2Checkpoints writing names made from it, assignments to the MetaGraph variables'
)

NodeMap = dict[str, node_def_pb2.NodeDef]
Entry = tuple[str, str]  # (checkpoint key, shape_and_slices spec)


def _name(tensor: str) -> str:
    return tensor.lstrip('^').split(':')[0]


def _output(tensor: str) -> tuple[str, int]:
    name, _, index = tensor.partition(':')
    return name, int(index) if index.isdigit() else 0 if not index else -1


def _string_attr(node: node_def_pb2.NodeDef, key: str) -> bytes:
    value = node.attr.get(key)
    return value.s if value is not None else b''


def _data(node: node_def_pb2.NodeDef) -> list[str]:
    return [i for i in node.input if not i.startswith('^')]


def variable_entries(meta_graph: meta_graph_pb2.MetaGraphDef) -> dict[str, Entry]:
    """Each variable op of the `variables` collection and the checkpoint entry a saver gives it."""
    collection = meta_graph.collection_def.get(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
    entries: dict[str, Entry] = {}
    for raw in collection.bytes_list.value if collection is not None else ():
        try:
            variable = variable_pb2.VariableDef.FromString(raw)
        except message.DecodeError:
            continue  # not a variable: restoring into it is refused as not its entry
        op, info = _name(variable.variable_name), variable.save_slice_info_def
        if info.full_name:
            slices = ':'.join(
                f'{o},{s}' for o, s in zip(info.var_offset, info.var_shape, strict=False)
            )
            entries[op] = (info.full_name, ' '.join(map(str, info.full_shape)) + ' ' + slices)
        else:
            entries[op] = (op, '')
    return entries


@dataclasses.dataclass
class SaverCheck:
    """What `check_saver` found: the trusted checkpoint ops, and what is wrong, by node."""

    trusted: set[str] = dataclasses.field(default_factory=set)
    findings: dict[str, Finding] = dataclasses.field(default_factory=dict)


class _Saver:
    def __init__(self, meta_graph: meta_graph_pb2.MetaGraphDef, nodes: NodeMap) -> None:
        self.tags = tuple(meta_graph.meta_info_def.tags)
        self.nodes, self.saver_def = nodes, meta_graph.saver_def
        self.filename = _name(self.saver_def.filename_tensor_name)
        self.check = SaverCheck()
        self.restored: dict[tuple[str, int], Entry] = {}
        self.saved: list[Entry] = []

    def refuse(self, node: node_def_pb2.NodeDef, reason: str) -> None:
        finding = Finding(node.op, node.name, self.tags, reason, _EXPECTED, kind=Kind.SAVER)
        self.check.findings.setdefault(node.name, finding)
        self.check.trusted.discard(node.name)

    def strings(self, tensor: str) -> list[str] | None:
        """The values of a string constant, or None if `tensor` is not one."""
        node = self.nodes.get(_name(tensor))
        if node is None or node.op != 'Const' or 'value' not in node.attr:
            return None
        try:
            values = tf.make_ndarray(node.attr['value'].tensor)
        except (ValueError, TypeError):
            return None
        if values.dtype != object:
            return None
        return [v.decode('utf-8', 'replace') for v in values.flat]

    def derived(self, tensor: str, depth: int = 0) -> bool:
        """Whether `tensor` is the filename tensor, or a name the saver's own steps make of it."""
        node = self.nodes.get(_name(tensor))
        if node is None or depth > 32:
            return False
        data = _data(node)
        if node.name == self.filename:
            return True
        if node.op == 'Identity' and data:
            return self.derived(data[0], depth + 1)
        if node.op == 'StringJoin' and data and not _string_attr(node, 'separator'):
            return self.derived(data[0], depth + 1) and all(self.suffix(t) for t in data[1:])
        if node.op == 'ShardedFilename' and len(data) == 3:
            constants = [self.nodes.get(_name(t)) for t in data[1:]]
            return self.derived(data[0], depth + 1) and all(
                c is not None and c.op == 'Const' for c in constants
            )
        if node.op == 'Pack' and data:
            return all(self.derived(t, depth + 1) for t in data)
        return False

    def suffix(self, tensor: str) -> bool:
        """A `_temp/part` or `.part` constant, or the saver's Select between the two."""
        node = self.nodes.get(_name(tensor))
        if node is not None and node.op == 'Select' and len(_data(node)) == 3:
            condition, *choices = _data(node)
            match = self.nodes.get(_name(condition))
            return (
                match is not None
                and match.op == 'StaticRegexFullMatch'
                and self.derived(_data(match)[0] if _data(match) else '')
                and all(self.suffix(c) for c in choices)
            )
        values = self.strings(tensor)
        return values is not None and len(values) == 1 and bool(_SUFFIX.fullmatch(values[0]))

    def check_filename(self) -> bool:
        node = self.nodes.get(self.filename)
        while node is not None and node.op in ('PlaceholderWithDefault', 'Identity'):
            node = self.nodes.get(_name(_data(node)[0])) if _data(node) else None
        values = self.strings(node.name) if node is not None else None
        if values is not None and len(values) == 1 and normalized(values[0]) is not None:
            return True
        target = self.nodes.get(self.filename) or node_def_pb2.NodeDef(name=self.filename)
        self.refuse(target, "is the saver_def's filename tensor, but not a constant file name")
        return False

    def check_op(self, node: node_def_pb2.NodeDef) -> None:
        data = _data(node)
        if node.op in _V1_OPS:
            return self.refuse(node, 'is a V1 checkpoint op; only V2 savers can be checked')
        if node.op == 'MergeV2Checkpoints':
            if len(data) != 2 or not self.derived(data[0]) or not self.derived(data[1]):
                return self.refuse(node, "merges checkpoints not named from the saver's file")
            self.check.trusted.add(node.name)
            return None
        names, slices = (self.strings(t) for t in data[1:3]) if len(data) >= 3 else (None, None)
        if names is None or slices is None or len(names) != len(slices):
            return self.refuse(node, 'takes tensor_names/shape_and_slices that are not constants')
        # Entries are recorded whatever the prefix, so one bad prefix is one finding.
        if node.op == 'RestoreV2':
            entries = enumerate(zip(names, slices, strict=True))
            self.restored.update({(node.name, i): e for i, e in entries})
            if _name(self.resolve(data[0])) != self.filename:
                return self.refuse(node, f'reads {data[0]!r}, not the filename tensor')
        else:
            self.saved.extend(zip(names, slices, strict=True))
            if not self.derived(data[0]) or len(data) - 3 != len(names):
                return self.refuse(node, "writes a name not made from the saver's filename")
        self.check.trusted.add(node.name)
        return None

    def walk(self, root: str, runs: str, may_run: frozenset[str]) -> list[node_def_pb2.NodeDef]:
        """Every node `root` depends on; refuses those a saver does not run there."""
        pending, seen, reached = [root], set(), []
        while pending:
            name = pending.pop()
            node = self.nodes.get(name)
            if name in seen or node is None:
                continue
            seen.add(name)
            reached.append(node)
            pending.extend(_name(i) for i in node.input)
            if node.op not in may_run | _V1_OPS:
                self.refuse(node, f'is run by the saver {runs}')
        return reached

    def check_writes(
        self, reached: list[node_def_pb2.NodeDef], variables: dict[str, Entry]
    ) -> None:
        for node in reached:
            if node.op not in _WRITES:
                continue
            data = _data(node)
            sources = [_output(self.resolve(t)) for t in data[1:]]
            entries = [e for s in sources if (e := self.restored.get(s)) is not None]
            if len(data) < 2 or len(entries) != len(sources):
                self.refuse(node, f'writes {data[:1]} with a value the saver does not restore')
            elif node.op in ('AssignVariableOp', 'Assign'):
                expected = variables.get(_name(data[0]))
                if variables and expected != entries[0]:
                    self.refuse(node, f'restores {entries[0]} into {data[0]!r}, not its entry')
            elif not (entries[0][0].endswith('-keys') and entries[-1][0].endswith('-values')):
                self.refuse(node, f'restores {entries} into the table {data[0]!r}')

    def resolve(self, tensor: str) -> str:
        node = self.nodes.get(_name(tensor))
        while node is not None and node.op == 'Identity' and _data(node):
            tensor = _data(node)[0]
            node = self.nodes.get(_name(tensor))
        return tensor


def check_saver(meta_graph: meta_graph_pb2.MetaGraphDef, nodes: NodeMap) -> SaverCheck:
    """The MetaGraph's trusted checkpoint ops, and findings about its saver (see the module)."""
    saver = _Saver(meta_graph, nodes)
    if not saver.saver_def.restore_op_name or not saver.check_filename():
        return saver.check
    restore_op, save_op = saver.saver_def.restore_op_name, _name(saver.saver_def.save_tensor_name)
    restore = saver.walk(restore_op, 'restore op, at every load', _RESTORE_MAY_RUN)
    save = saver.walk(save_op, 'save op', _SAVE_MAY_RUN)
    for node in {n.name: n for n in restore + save}.values():
        if node.op in _V2_OPS | _V1_OPS and node.name not in saver.check.findings:
            saver.check_op(node)
    variables = variable_entries(meta_graph)
    saver.check_writes(restore, variables)
    missing = sorted(set(variables.values()) - set(saver.restored.values()))
    for node in restore if missing else ():
        if node.op == 'RestoreV2':
            saver.refuse(node, f'restores no entry {missing[0]} of the MetaGraph variables')
    restored = collections.Counter(saver.restored.values())
    if saver.saved and collections.Counter(saver.saved) != restored:
        for node in save:
            if node.op == 'SaveV2':
                saver.refuse(node, 'saves other entries than the saver restores')
    return saver.check
