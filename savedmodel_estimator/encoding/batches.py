"""The elements batch prediction moves: batches of records in, batches of predictions out.

One Beam element per batch, not per record: per-record elements cost Beam's runner tens of
microseconds each, more than the model itself (see STACK.md, "Batch inference").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

SparseValue = tf.compat.v1.SparseTensorValue


@dataclasses.dataclass
class ExampleBatch:
    """Serialized tf.Examples, and where they come from (named in error messages).

    Attributes:
        records: The serialized tf.Examples.
        source: The file they were read from, or a description of the input.
        first_index: The index of `records[0]` in `source`.
    """

    records: list[bytes]
    source: str = 'the input'
    first_index: int = 0

    def __len__(self) -> int:
        return len(self.records)

    def chunks(self, size: int) -> list[ExampleBatch]:
        """This batch cut into batches of at most `size` records."""
        if len(self.records) <= size:
            return [self]
        return [
            ExampleBatch(self.records[i : i + size], self.source, self.first_index + i)
            for i in range(0, len(self.records), size)
        ]


@dataclasses.dataclass
class PredictionBatch:
    """A batch's records and what the signature returned for them.

    Attributes:
        records: The serialized tf.Examples, in order.
        outputs: Signature output key -> numpy array with the batch as its first dimension, or
            a `SparseTensorValue` whose first dimension is the batch.
        passthrough: Feature name -> `SparseTensorValue` of the feature's values per record.
        source: Where the records come from.
        first_index: The index of `records[0]` in `source`.
    """

    records: list[bytes]
    outputs: dict[str, Any]
    passthrough: dict[str, Any] = dataclasses.field(default_factory=dict)
    source: str = 'the input'
    first_index: int = 0

    def __len__(self) -> int:
        return len(self.records)


def split_sparse(value: Any, size: int) -> list[Any]:
    """One SparseTensorValue per row of a batch-major SparseTensorValue (row index set to 0)."""
    indices = np.asarray(value.indices)
    rows = indices[:, 0] if len(indices) else np.zeros([0], np.int64)
    bounds = np.searchsorted(rows, np.arange(size + 1))
    row_shape = [1, *(int(d) for d in value.dense_shape[1:])]
    parts = []
    for i in range(size):
        part = indices[bounds[i] : bounds[i + 1]].copy()
        part[:, 0] = 0
        parts.append(SparseValue(part, value.values[bounds[i] : bounds[i + 1]], row_shape))
    return parts


def row_values(value: Any, size: int) -> list[Any]:
    """The per-record values of a batch output: array rows, or each row's sparse values."""
    if isinstance(value, SparseValue):
        return [part.values for part in split_sparse(value, size)]
    return list(value)


def passthrough_column(name: str, value: Any, batch: PredictionBatch | ExampleBatch) -> list[Any]:
    """One value or None per record of a variable-length feature that holds at most one.

    Raises:
        ValueError: a record holds more than one value, naming the feature and the record.
    """
    size = len(batch.records)
    rows = np.asarray(value.indices)[:, 0] if len(value.indices) else np.zeros([0], np.int64)
    counts = np.bincount(rows, minlength=size)
    if len(counts) and counts.max() > 1:
        record = int(np.argmax(counts > 1))
        raise ValueError(
            f'Pass-through feature {name!r} holds {counts[record]} values in record '
            f'{batch.first_index + record} of {batch.source!r}; a pass-through feature must '
            'hold at most one value per record (an id). Leave it out of passthrough_features.'
        )
    column: list[Any] = [None] * size
    for row, item in zip(rows.tolist(), value.values.tolist(), strict=True):
        column[row] = item
    return column


def as_records(batch: Sequence[bytes] | ExampleBatch) -> ExampleBatch:
    """An ExampleBatch from a list of records (what `BatchElements` emits) or an ExampleBatch."""
    if isinstance(batch, ExampleBatch):
        return batch
    return ExampleBatch(list(batch))
