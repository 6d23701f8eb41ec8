"""One MetaGraph, node by node: op types, attributes, devices, assets and the saver.

Every node of the graph and of every function in its library (a function is reached through
`f`, `then_branch`, `body`... attributes, or by a node whose op is its name; all are scanned,
reachable or not) must be an op type the reviewed table allows (op_policy.py), registered by
this TensorFlow, with no attribute naming a file and no device of another process. Two
exceptions, in the graph only (inside a function, inputs are arguments: nothing tells what they
are): the checkpoint ops of the MetaGraph's own saver (saver_check.py), and file reads whose
path is one of the SavedModel's assets.
"""

from __future__ import annotations

from collections.abc import Iterator

import tensorflow as tf
from google.protobuf import message
from tensorflow.core.framework import attr_value_pb2, node_def_pb2
from tensorflow.core.protobuf import config_pb2, meta_graph_pb2

from savedmodel_estimator.model_safety import op_policy, registry
from savedmodel_estimator.model_safety.assets import asset_file_defs, normalized
from savedmodel_estimator.model_safety.findings import Finding, Kind
from savedmodel_estimator.model_safety.saver_check import SaverCheck, check_saver

# Ops that read the file named by one of their inputs: accepted when it is an asset path.
_ASSET_READERS = {
    'ReadFile': 0,
    'InitializeTableFromTextFile': 1,
    'InitializeTableFromTextFileV2': 1,
}
_PASS_THROUGH = frozenset({'Identity', 'Snapshot', 'StopGradient'})
_CALLS = frozenset({'PartitionedCall', 'StatefulPartitionedCall'})
_LOCAL_JOBS = (None, 'localhost')
_ACCEPTED = 'ops that touch nothing outside the process and the SavedModel'
_CLEAR_DEVICES = 'no device, or one of this process (/device:CPU:0); re-export with clear_devices'


def _name(tensor: str) -> str:
    return tensor.lstrip('^').split(':')[0]


def device_problem(device: str) -> str | None:
    """Why `device` is not a device of this process, or None if it is (or is empty)."""
    if not device:
        return None
    try:
        spec = tf.DeviceSpec.from_string(device)
    except (ValueError, TypeError):
        return f'names the device {device!r}, which does not parse as a device'
    if spec.job not in _LOCAL_JOBS or spec.replica not in (None, 0) or spec.task not in (None, 0):
        return f'is pinned to {device!r}, a device of another process'
    return None


class _MetaGraphScan:
    def __init__(self, meta_graph: meta_graph_pb2.MetaGraphDef) -> None:
        self.tags = tuple(meta_graph.meta_info_def.tags)
        graph_def = meta_graph.graph_def
        self.nodes = {node.name: node for node in graph_def.node}
        self.library = {function.signature.name for function in graph_def.library.function}
        self.saver: SaverCheck = check_saver(meta_graph, self.nodes)
        self.restore_op = meta_graph.saver_def.restore_op_name
        self.assets = {
            _name(asset.tensor_info.name)
            for asset in asset_file_defs(meta_graph)
            if normalized(asset.filename) is not None
        }

    def finding(self, node: node_def_pb2.NodeDef, function: str | None, **fields) -> Finding:
        fields.setdefault('expected', _ACCEPTED)
        return Finding(node.op, node.name, self.tags, function=function, **fields)

    def node(self, node: node_def_pb2.NodeDef, function: str | None) -> Iterator[Finding]:
        problem = device_problem(node.device)
        if problem:
            yield self.finding(
                node, function, reason=problem, expected=_CLEAR_DEVICES, kind=Kind.DEVICE
            )
        # A call of a library function is scanned in the function; a function named like an op
        # is scanned as that op too (which of the two TensorFlow runs is not ours to guess).
        if node.op not in self.library or node.op in registry.raw_op_types():
            yield from self.op(node, function)
        for key, value in sorted(node.attr.items()):
            yield from self.attribute(node, function, key, value)

    def op(self, node: node_def_pb2.NodeDef, function: str | None) -> Iterator[Finding]:
        if not registry.is_registered(node.op):
            yield self.finding(
                node,
                function,
                reason=f'no op of this type is registered in TensorFlow {tf.__version__}: the '
                'model needs a custom-op library, which can run anything',
                expected='only ops TensorFlow registers; load the library (tf.load_op_library) '
                'in every process that runs the model, or re-export it without the op',
                kind=Kind.UNREGISTERED,
            )
            return
        category = op_policy.classify(node.op)
        if category is None:
            reason = f'is registered by TensorFlow {tf.__version__}, but not reviewed in op_policy'
            yield self.finding(node, function, reason=reason, kind=Kind.UNREVIEWED)
        elif category.allowed:
            yield from self.attribute_rule(node, function)
        elif function is None and self.accepted_in_place(node, category):
            return
        elif category.name == 'checkpoints' and function is None:
            saver = f'saver_def restore op {self.restore_op!r}'
            reason = f'{category.reason}, and is not part of the MetaGraph saver ({saver})'
            yield self.finding(node, function, reason=reason, kind=Kind.SAVER)
        else:
            expected = _ACCEPTED
            if node.op in _ASSET_READERS:
                expected = "file reads of the SavedModel's own assets only"
            yield self.finding(node, function, reason=category.reason, expected=expected)

    def accepted_in_place(self, node: node_def_pb2.NodeDef, category: op_policy.Category) -> bool:
        """A checkpoint op the saver check trusted or reported, or a read of an asset."""
        if category.name == 'checkpoints':
            return node.name in self.saver.trusted or node.name in self.saver.findings
        index = _ASSET_READERS.get(node.op)
        return index is not None and len(node.input) > index and self.from_asset(node.input[index])

    def from_asset(self, tensor: str) -> bool:
        """Whether `tensor` is an asset path the loader feeds, through pass-through ops only."""
        name = _name(tensor)
        for _ in range(16):
            if name in self.assets:
                return True
            node = self.nodes.get(name)
            if node is None or node.op not in _PASS_THROUGH or not node.input:
                return False
            name = _name(node.input[0])
        return False

    def attribute_rule(self, node: node_def_pb2.NodeDef, function: str | None) -> Iterator[Finding]:
        rule = op_policy.ATTRIBUTE_RULES.get(node.op)
        if rule is not None and rule.attr in node.attr:
            value = node.attr[rule.attr].s.decode('utf-8', 'replace')
            if value not in rule.accepted:
                yield self.finding(
                    node,
                    function,
                    reason=f'sets {rule.attr}={value!r}, which {rule.reason}',
                    expected=f'{rule.attr} in {sorted(rule.accepted)}',
                    kind=Kind.ATTRIBUTE,
                )
        config_proto = node.attr.get('config_proto')
        if node.op in _CALLS and config_proto is not None and config_proto.s:
            try:
                config = config_pb2.ConfigProto.FromString(config_proto.s)
            except message.DecodeError:
                config = config_pb2.ConfigProto(cluster_def={'job': [{'name': '?'}]})
            if config.cluster_def.job:
                jobs = sorted(job.name for job in config.cluster_def.job)
                reason = f'carries a config_proto whose cluster names other processes ({jobs})'
                expected = 'a config_proto without cluster_def'
                yield self.finding(
                    node, function, reason=reason, expected=expected, kind=Kind.ATTRIBUTE
                )

    def attribute(
        self,
        node: node_def_pb2.NodeDef,
        function: str | None,
        key: str,
        value: attr_value_pb2.AttrValue,
    ) -> Iterator[Finding]:
        """Functions an attribute calls that are not in the library, and devices it names."""
        for called in _called_functions(value):
            if called in self.library:
                continue
            category = op_policy.classify(called) if registry.is_registered(called) else None
            if category is None or not category.allowed:
                reason = f'calls {called!r} through its attribute {key!r}: not a library function'
                reason += f' but an op that {category.reason}' if category else ' or a reviewed op'
                yield Finding(called, node.name, self.tags, reason, _ACCEPTED, function)
        if key == 'allowed_devices':
            for device in value.list.s:
                problem = device_problem(device.decode('utf-8', 'replace'))
                if problem:
                    yield self.finding(
                        node,
                        function,
                        reason=f'allowed_devices {problem}',
                        expected=_CLEAR_DEVICES,
                        kind=Kind.DEVICE,
                    )


def _called_functions(value: attr_value_pb2.AttrValue) -> Iterator[str]:
    """The function names an attribute value holds, nested ones (`func.attr`) included."""
    functions = [value.func] if value.HasField('func') else list(value.list.func)
    for function in functions:
        yield function.name
        for nested in function.attr.values():
            yield from _called_functions(nested)


def _all_nodes(
    graph_def: tf.compat.v1.GraphDef,
) -> Iterator[tuple[str | None, node_def_pb2.NodeDef]]:
    for node in graph_def.node:
        yield None, node
    for function in graph_def.library.function:
        for node in function.node_def:
            yield function.signature.name, node


def scan_meta_graph(
    meta_graph: meta_graph_pb2.MetaGraphDef, allowed: frozenset[str]
) -> list[Finding]:
    """What in one MetaGraph a model from outside may not hold, but for op types in `allowed`."""
    scan = _MetaGraphScan(meta_graph)
    findings = list(scan.saver.findings.values())
    for function, node in _all_nodes(meta_graph.graph_def):
        findings.extend(scan.node(node, function))
    for asset in asset_file_defs(meta_graph):
        if normalized(asset.filename) is None:
            name = _name(asset.tensor_info.name)
            findings.append(
                Finding(
                    scan.nodes[name].op if name in scan.nodes else '',
                    name,
                    scan.tags,
                    "is an asset whose file name resolves outside the SavedModel's assets/ "
                    'directory: the loader would feed a file of the host to the graph',
                    "a relative file name inside assets/, such as 'vocab.txt'",
                    kind=Kind.ASSET,
                    subject=f'asset {asset.filename!r}',
                )
            )
    return [f for f in findings if not (f.allowable and f.op_type in allowed)]
