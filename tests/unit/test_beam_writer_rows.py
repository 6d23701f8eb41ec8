"""JSON lines built a column at a time: the text `json.dumps` writes per record, byte for byte."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from savedmodel_estimator.encoding.batches import PredictionBatch, SparseValue
from savedmodel_estimator.encoding.rows import OutputColumn, RowColumns


def json_dumps_per_record(columns: RowColumns, batch: PredictionBatch) -> bytes:
    """The lines as written before: one `json.dumps` of a dict per record."""
    size = len(batch.records)
    values: list[list[Any]] = []
    for name, _ in columns.passthrough:
        column: list[Any] = [None] * size
        sparse = batch.passthrough[name]
        for row, item in zip(
            np.asarray(sparse.indices)[:, 0].tolist(), sparse.values.tolist(), strict=True
        ):
            column[row] = (
                item.decode('utf-8', 'backslashreplace') if isinstance(item, bytes) else item
            )
        values.append(column)
    for output in columns.outputs:
        rows = np.asarray(batch.outputs[output.name]).tolist()
        if output.dtype == tf.string:
            rows = [
                [v.decode('utf-8', 'backslashreplace') for v in r]
                if isinstance(r, list)
                else r.decode('utf-8', 'backslashreplace')
                for r in rows
            ]
        values.append(rows)
    names = columns.names
    lines = [json.dumps(dict(zip(names, row, strict=True))) for row in zip(*values, strict=True)]
    return ('\n'.join(lines) + '\n').encode() if lines else b''


def columns_and_batch(**outputs: Any) -> tuple[RowColumns, PredictionBatch]:
    size = len(next(iter(outputs.values())))
    ids = SparseValue(np.array([[0, 0], [2, 0]]), np.array([b'a"{}', 'é'.encode()]), [size, 1])
    columns = RowColumns(
        (('id', tf.string),),
        tuple(
            OutputColumn(name, tf.as_dtype(np.asarray(value).dtype), np.ndim(value), False)
            for name, value in outputs.items()
        ),
    )
    return columns, PredictionBatch([b''] * size, outputs, {'id': ids})


CASES = {
    'floats': {'scores': np.random.default_rng(0).random((5, 2), dtype=np.float32)},
    'scalars': {
        'f64': np.array([1e300, -2.5, 0.0, 1 / 3, 7.0]),
        'i64': np.array([-(2**62), 0, 1, 2, 3]),
        'flag': np.array([True, False, True, True, False]),
        'u8': np.arange(10, dtype=np.uint8).reshape(5, 2),
    },
    'strings': {
        'classes': np.array(
            [[b'0', b'1'], [b'\xff', b'"q"'], [b'{x}', b''], [b'\n', b'\\'], ['é'.encode(), b'z']],
            dtype=object,
        ),
        'key {with} braces': np.zeros([5, 0], np.float32),
    },
    'not finite (per record)': {'x': np.array([1.0, np.nan, np.inf, -np.inf, 0.5], np.float32)},
}


@pytest.mark.parametrize('name', list(CASES))
def test_json_lines_are_what_json_dumps_writes(name: str) -> None:
    columns, batch = columns_and_batch(**CASES[name])
    assert columns.json_lines(batch) == json_dumps_per_record(columns, batch)


def test_no_records_no_lines() -> None:
    columns, _ = columns_and_batch(x=np.zeros([1], np.float32))
    empty = PredictionBatch(
        [],
        {'x': np.zeros([0], np.float32)},
        {'id': SparseValue(np.zeros([0, 2], np.int64), np.array([], object), [0, 1])},
    )
    assert columns.json_lines(empty) == b''
