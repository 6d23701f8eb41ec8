"""Whole optimizer slots of a partitioned variable, read from the slices a V1 optimizer saved.

Used by tools/export_golden.py (in .venv-reference) to record the values the original
SavedModelEstimator cannot read whole.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf


def _slice_spec(full_shape: list[int], offset: list[int], shape: list[int]) -> str:
    """The `shape_and_slices` text of one slice: full dims, then start,length per dim."""
    dims = ' '.join(str(d) for d in full_shape)
    return f'{dims} ' + ':'.join(f'{o},{n}' for o, n in zip(offset, shape, strict=True))


def slot_values_from_slices(checkpoint: str, names: set[str]) -> dict[str, np.ndarray]:
    """The whole slot tensors behind checkpoint names that cannot be read whole.

    A V1 optimizer saves the slot of each part of a partitioned variable under a name of its
    own (`<primary>/t_<i>/Adam`), with the slice that part covers in the whole primary. The slot
    part is found beside its primary part in the checkpoint's MetaGraph (graph name
    `<scope>/<primary part>/<slot>`, same offset); each slice is read with RestoreV2 and put at
    its offset in a tensor of the primary's full shape.

    Returns:
        name -> the whole slot tensor its family of slices makes.
    """
    from tensorflow.core.framework import variable_pb2
    from tensorflow.core.protobuf import meta_graph_pb2

    meta_graph = meta_graph_pb2.MetaGraphDef()
    with open(checkpoint + '.meta', 'rb') as f:
        meta_graph.ParseFromString(f.read())
    parts = []
    for raw in meta_graph.collection_def['variables'].bytes_list.value:
        variable = variable_pb2.VariableDef.FromString(raw)
        if variable.save_slice_info_def.full_name:
            parts.append((variable.variable_name.split(':')[0], variable.save_slice_info_def))
    primaries = [(graph_name, info) for graph_name, info in parts if info.full_name not in names]
    families: dict[tuple[str, str], list[Any]] = {}
    for graph_name, info in parts:
        if info.full_name not in names:
            continue
        primary_name, primary = max(
            (
                (n, p)
                for n, p in primaries
                if f'/{n}/' in f'/{graph_name}' and list(p.var_offset) == list(info.var_offset)
            ),
            key=lambda found: len(found[0]),
        )
        slot = graph_name.rsplit(primary_name + '/', 1)[1]
        families.setdefault((primary.full_name, slot), []).append(info)
    dtypes = tf.train.load_checkpoint(checkpoint).get_variable_to_dtype_map()
    values = {}
    for members in families.values():
        full = np.zeros(members[0].full_shape, dtypes[members[0].full_name].as_numpy_dtype)
        for info in members:
            spec = _slice_spec(info.full_shape, info.var_offset, info.var_shape)
            (part,) = tf.raw_ops.RestoreV2(
                prefix=checkpoint,
                tensor_names=[info.full_name],
                shape_and_slices=[spec],
                dtypes=[dtypes[info.full_name]],
            )
            where = tuple(
                slice(o, o + n) for o, n in zip(info.var_offset, info.var_shape, strict=True)
            )
            full[where] = part.numpy()
        values.update({info.full_name: full for info in members})
    assert set(values) == names, f'no slices found for {sorted(names - set(values))}'
    return values
