"""Signature inputs and outputs as TF2 specs, and their flattening to graph feeds and fetches.

A TF1 SignatureDef entry is one graph tensor, or three for a SparseTensor (`coo_sparse`). TF2
functions take and return `tf.Tensor` and `tf.SparseTensor` values; serving signatures take
dense tensors only, so a sparse input `k` is passed as `k_indices`, `k_values` and
`k_dense_shape`, the names `tf.saved_model.load` gives the export's own signatures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2

from savedmodel_estimator.migration.inventory import tensor_names

SPARSE_PARTS = ('indices', 'values', 'dense_shape')


@dataclasses.dataclass(frozen=True)
class Entry:
    """One signature input or output.

    Attributes:
        key: Its key in the signature.
        spec: A `tf.TensorSpec` or `tf.SparseTensorSpec`.
        tensors: The graph tensors behind it: one, or indices, values and dense_shape.
    """

    key: str
    spec: Any
    tensors: tuple[str, ...]

    @property
    def sparse(self) -> bool:
        return len(self.tensors) == 3

    def dense_specs(self) -> list[tf.TensorSpec]:
        """What a serving signature takes for it: itself, or its three parts, named."""
        if not self.sparse:
            return [tf.TensorSpec(self.spec.shape, self.spec.dtype, name=self.key)]
        rank = self.spec.shape.rank
        return [
            tf.TensorSpec([None, rank], tf.int64, name=f'{self.key}_indices'),
            tf.TensorSpec([None], self.spec.dtype, name=f'{self.key}_values'),
            tf.TensorSpec([rank], tf.int64, name=f'{self.key}_dense_shape'),
        ]


def entry(key: str, tensor_info: meta_graph_pb2.TensorInfo) -> Entry:
    """The entry for `tensor_info`.

    Raises:
        ValueError: an encoding other than a tensor name or coo_sparse.
    """
    names = tensor_names(tensor_info)
    if not names:
        raise ValueError(
            f'signature entry {key!r} is encoded as {tensor_info.WhichOneof("encoding")!r}; '
            'Estimator exports use tensor names and SparseTensors only.'
        )
    dtype = tf.as_dtype(tensor_info.dtype)
    shape = tf.TensorShape(tensor_info.tensor_shape)
    if len(names) == 3:
        return Entry(key, tf.SparseTensorSpec(shape, dtype), tuple(names))
    return Entry(key, tf.TensorSpec(shape, dtype, name=key), tuple(names))


def entries(tensor_infos: Mapping[str, meta_graph_pb2.TensorInfo]) -> list[Entry]:
    """The entries of a signature's inputs or outputs, sorted by key."""
    return [entry(key, tensor_infos[key]) for key in sorted(tensor_infos)]


def graph_tensors(items: Sequence[Entry]) -> list[str]:
    """The graph tensors behind `items`, in order (three for each sparse one)."""
    return [name for item in items for name in item.tensors]


def flatten(items: Sequence[Entry], values: Mapping[str, Any]) -> list[Any]:
    """The values of `items` from `values` (by key), as feeds: SparseTensors in three parts."""
    flat: list[Any] = []
    for item in items:
        value = values[item.key]
        if item.sparse:
            flat.extend([value.indices, value.values, value.dense_shape])
        else:
            flat.append(value)
    return flat


def pack(items: Sequence[Entry], flat: Sequence[Any]) -> dict[str, Any]:
    """The inverse of `flatten`: a dict of tensors and SparseTensors from fetched parts."""
    values, position = {}, 0
    for item in items:
        if item.sparse:
            values[item.key] = tf.SparseTensor(*flat[position : position + 3])
            position += 3
        else:
            values[item.key] = flat[position]
            position += 1
    return values


def from_dense_parts(items: Sequence[Entry], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Signature keyword arguments (sparse ones in parts) -> values by key."""
    values: dict[str, Any] = {}
    for item in items:
        if item.sparse:
            parts = [kwargs[f'{item.key}_{part}'] for part in SPARSE_PARTS]
            values[item.key] = tf.SparseTensor(*parts)
        else:
            values[item.key] = kwargs[item.key]
    return values
