"""Reading a variable from a checkpoint whole, the slot variables of partitioned ones included.

A partitioned variable (`tf.compat.v1.fixed_size_partitioner`, the V1 canned estimators'
`partitioner` and `input_layer_partitioner`) is saved as slices under one name, and the checkpoint
reader joins them. Its optimizer slots are not always saved that way: a V1 optimizer that makes
its slots inside a name scope (the canned estimators' `dnn/`, `linear/`) derives the slot's saved
name from the wrong part of the graph name, so the slot of each part goes under a name of its own
(`<var>/t_0/Adam`, `<var>/part_0/Ftrl`) holding only that part's slice of the whole shape.
tf.estimator's `get_variable_value` raised `ValueError: Does not have sufficient slices for
partitioned tensor ...` for those names; `read_variable` returns the whole slot instead, joined
from the slices of its sibling parts.

Which slices make a slot comes from the SavedModel's MetaGraphs: every part of a partitioned
variable has a `save_slice_info_def` (saved name, full shape, offset and shape of its slice), the
same layout the checkpoints in model_dir are written with.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import variable_pb2
from tensorflow.core.protobuf import meta_graph_pb2

# tf.compat.v1.get_variable names the parts of a partitioned variable `<name>/part_<i>`; a slot
# of part i is `<scope>/<name>/part_<i>/<slot>` in the graph, whatever name it was saved under.
_PART = re.compile(r'/part_\d+/')


@dataclasses.dataclass(frozen=True)
class Slice:
    """One saved slice: the name it is saved under and where it sits in the whole tensor."""

    name: str
    full_shape: tuple[int, ...]
    offset: tuple[int, ...]
    shape: tuple[int, ...]

    @property
    def spec(self) -> str:
        """The slice as RestoreV2's `shape_and_slices` text: `10 3 4,3:0,3`."""
        extents = ':'.join(
            f'{start},{length}' for start, length in zip(self.offset, self.shape, strict=True)
        )
        return f'{" ".join(str(d) for d in self.full_shape)} {extents}'

    @property
    def region(self) -> tuple[slice, ...]:
        return tuple(
            slice(start, start + n) for start, n in zip(self.offset, self.shape, strict=True)
        )


def _variable_defs(meta_graph: meta_graph_pb2.MetaGraphDef) -> Iterator[Any]:
    """The VariableDefs of the MetaGraph's global variables (the saved ones, slots included)."""
    key = tf.compat.v1.GraphKeys.GLOBAL_VARIABLES
    if key in meta_graph.collection_def:
        for raw in meta_graph.collection_def[key].bytes_list.value:
            yield variable_pb2.VariableDef.FromString(raw)


def _overlap(a: Slice, b: Slice) -> bool:
    return all(
        sa < sb + nb and sb < sa + na
        for sa, na, sb, nb in zip(a.offset, a.shape, b.offset, b.shape, strict=True)
    )


def _tiles(slices: Iterable[Slice], full_shape: tuple[int, ...]) -> bool:
    """Whether the slices cover `full_shape` exactly once (inside it, none overlapping)."""
    slices = list(slices)
    inside = all(
        len(s.offset) == len(full_shape)
        and all(
            o >= 0 and o + n <= d for o, n, d in zip(s.offset, s.shape, full_shape, strict=True)
        )
        for s in slices
    )
    volume = sum(math.prod(s.shape) for s in slices)
    disjoint = not any(_overlap(a, b) for i, a in enumerate(slices) for b in slices[i + 1 :])
    return inside and disjoint and volume == math.prod(full_shape)


def _without_part(variable_name: str) -> str:
    """The graph name of a variable with its last `/part_<i>/` taken out: the same for the slot
    variables of all parts of one partitioned variable."""
    graph_name = variable_name.split(':', 1)[0]
    parts = list(_PART.finditer(graph_name))
    if not parts:
        return graph_name
    return f'{graph_name[: parts[-1].start()]}/{graph_name[parts[-1].end() :]}'


def split_slot_slices(
    meta_graphs: Iterable[meta_graph_pb2.MetaGraphDef],
) -> dict[str, tuple[Slice, ...]]:
    """Maps each saved name whose own slices do not make its full shape to the slices that do.

    The slices of a name are joined with those of its sibling parts: the variables whose graph
    names differ only in the partition (`.../part_<i>/<slot>`) and that have the same full shape.
    A name is mapped only if the siblings' slices cover the full shape exactly.

    Args:
        meta_graphs: The SavedModel's MetaGraphs (the variables of all of them count).

    Returns:
        saved name -> every slice of the whole tensor, in offset order. Names that read whole
        on their own are not in it.
    """
    own: dict[str, set[Slice]] = {}
    siblings: dict[tuple[str, tuple[int, ...]], set[Slice]] = {}
    for meta_graph in meta_graphs:
        for variable in _variable_defs(meta_graph):
            info = variable.save_slice_info_def
            if not info.full_name:
                continue
            part = Slice(
                info.full_name,
                tuple(info.full_shape),
                tuple(info.var_offset),
                tuple(info.var_shape),
            )
            own.setdefault(part.name, set()).add(part)
            siblings.setdefault(
                (_without_part(variable.variable_name), part.full_shape), set()
            ).add(part)
    split: dict[str, tuple[Slice, ...]] = {}
    for (_, full_shape), parts in siblings.items():
        names = {p.name for p in parts}
        if any(_tiles(own[name], full_shape) for name in names) or not _tiles(parts, full_shape):
            continue
        ordered = tuple(sorted(parts, key=lambda p: p.offset))
        split.update(dict.fromkeys(names, ordered))
    return split


def _join(checkpoint: str, slices: tuple[Slice, ...], dtype: tf.DType) -> np.ndarray:
    """Reads each slice with RestoreV2 and puts it at its offset in the whole tensor."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        parts = session.run(
            tf.raw_ops.RestoreV2(
                prefix=checkpoint,
                tensor_names=[s.name for s in slices],
                shape_and_slices=[s.spec for s in slices],
                dtypes=[dtype] * len(slices),
            )
        )
    whole = np.empty(slices[0].full_shape, dtype.as_numpy_dtype)
    for part, value in zip(slices, parts, strict=True):
        whole[part.region] = value
    return whole


def read_variable(
    checkpoint: str, name: str, meta_graphs: Iterable[meta_graph_pb2.MetaGraphDef]
) -> Any:
    """The value of variable `name` in `checkpoint` (a numpy array), partitioned or not.

    What the checkpoint reader reads is returned as it reads it; a slot saved in slices under
    one name per part (see the module docstring) is joined from its siblings' slices.

    Args:
        checkpoint: A checkpoint prefix, or a directory (its latest checkpoint).
        name: A name `tf.train.list_variables` lists.
        meta_graphs: The MetaGraphs whose variables were saved in `checkpoint`.

    Raises:
        ValueError: the checkpoint reader's error, where the slices of `name` cannot be joined
            either (as the original raised it).
    """
    try:
        return tf.train.load_variable(checkpoint, name)
    except ValueError:
        saved_name = name.removesuffix(':0')
        slices = split_slot_slices(meta_graphs).get(saved_name)
        if slices is None:
            raise
    prefix = tf.train.latest_checkpoint(checkpoint) if tf.io.gfile.isdir(checkpoint) else checkpoint
    reader = tf.train.load_checkpoint(prefix)
    return _join(prefix, slices, reader.get_variable_to_dtype_map()[saved_name])
