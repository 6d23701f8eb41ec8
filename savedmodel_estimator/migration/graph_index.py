"""Walking a MetaGraph's GraphDef: which ops a fetch needs, and which ops read a tensor.

Migration checks what each function it builds would run (refused op types, asset paths it
needs, what an init op writes) before importing anything, so a refusal names the op and the
MetaGraph it came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from tensorflow.core.framework import attr_value_pb2, graph_pb2, node_def_pb2


def op_name(name: str) -> str:
    """'scope/op:1' or '^scope/op' -> 'scope/op'."""
    return name.lstrip('^').split(':', 1)[0]


_WRITE_PREFIXES = ('Assign', 'ResourceApply', 'ResourceSparseApply', 'ResourceScatter')
_WRITE_OPS = frozenset(
    {
        'LookupTableInsertV2',
        'LookupTableImportV2',
        'LookupTableRemoveV2',
        'InitializeTableV2',
        'InitializeTableFromTextFileV2',
    }
)
# Ops that may write state in the functions they call.
_CALLS_WITH_EFFECTS = frozenset({'If', 'While', 'StatefulPartitionedCall'})


def is_write(op: str) -> bool:
    """Whether ops of type `op` write a variable or a table."""
    return op in _WRITE_OPS or (op.startswith(_WRITE_PREFIXES) and op != 'Assert')


def has_effects(op: str) -> bool:
    """Whether ops of type `op` write state, themselves or in a function they call."""
    return is_write(op) or op in _CALLS_WITH_EFFECTS


def tensor_name(name: str) -> str:
    """'scope/op' (as node inputs write output 0) -> 'scope/op:0'; 'op:1' unchanged."""
    return name if ':' in name else name + ':0'


def _function_names(attrs: Iterable[attr_value_pb2.AttrValue]) -> Iterator[str]:
    for value in attrs:
        if value.HasField('func'):
            yield value.func.name
        elif value.HasField('list'):
            yield from (f.name for f in value.list.func)


class GraphIndex:
    """Nodes by name, their consumers, and the library functions they call."""

    def __init__(self, graph_def: graph_pb2.GraphDef) -> None:
        self.nodes: dict[str, node_def_pb2.NodeDef] = {n.name: n for n in graph_def.node}
        self._functions = {f.signature.name: f for f in graph_def.library.function}
        self._consumers: dict[str, list[str]] = defaultdict(list)
        for node in graph_def.node:
            for name in node.input:
                if not name.startswith('^'):
                    self._consumers[name if ':' in name else name + ':0'].append(node.name)

    def consumers(self, tensor_name: str) -> list[str]:
        """The ops that take `tensor_name` ('op:0') as a data input."""
        return list(self._consumers.get(tensor_name, ()))

    def ancestors(self, fetches: Iterable[str], stop_at: Iterable[str] = ()) -> set[str]:
        """The op names that running `fetches` (tensor or op names) runs, data and control
        inputs alike; ops in `stop_at` (fed tensors' ops) are included but not walked through.
        """
        stop = {op_name(name) for name in stop_at}
        seen: set[str] = set()
        pending = [op_name(name) for name in fetches]
        while pending:
            name = pending.pop()
            if name in seen or name not in self.nodes:
                continue
            seen.add(name)
            if name not in stop:
                pending.extend(op_name(i) for i in self.nodes[name].input)
        return seen

    def effects(self, fetches: Iterable[str], stop_at: Iterable[str] = ()) -> list[str]:
        """The ops with effects that running `fetches` runs, sorted.

        A function graph runs only what its outputs need by data and what it lists as control
        outputs; a TF 1 fetch also ran what it needed by control edges alone (a metric's
        `update_op` is a Const that depends on the variable updates), so these are made
        control outputs of a pruned function.
        """
        return sorted(n for n in self.ancestors(fetches, stop_at) if has_effects(self.nodes[n].op))

    def op_types(self, op_names: Iterable[str]) -> dict[str, str]:
        """Op type -> the first op (or 'function:op') that has it, library functions included."""
        found: dict[str, str] = {}
        functions: list[str] = []
        for name in op_names:
            node = self.nodes[name]
            found.setdefault(node.op, name)
            functions.extend(_function_names(node.attr.values()))
            functions.append(node.op)  # an op may be a call of a library function by name
        called: set[str] = set()
        while functions:
            function_name = functions.pop()
            if function_name in called or function_name not in self._functions:
                continue
            called.add(function_name)
            for node in self._functions[function_name].node_def:
                found.setdefault(node.op, f'{function_name}:{node.name}')
                functions.extend(_function_names(node.attr.values()))
                functions.append(node.op)
        return found
