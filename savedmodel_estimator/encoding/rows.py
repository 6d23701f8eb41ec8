"""Predictions as rows: chosen pass-through features (an id) beside each output, per record.

Columns are the pass-through features (a scalar or null each: one value per record at most),
then the signature's outputs by key: a scalar for an output of shape [batch], a list (nested for
higher ranks) otherwise, the values of the record's row for a SparseTensor output. Strings are
decoded as UTF-8. The column types come from the signature, so every file of a run has the same
schema.
"""

from __future__ import annotations

import dataclasses
import json
import operator
from json.encoder import encode_basestring_ascii
from typing import Any

import numpy as np
import pyarrow as pa
import tensorflow as tf

from savedmodel_estimator.encoding.batches import PredictionBatch, SparseValue, passthrough_column
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator.serving.signature_runner import SignatureSpec, find_signature


@dataclasses.dataclass(frozen=True)
class OutputColumn:
    """A signature output as a row column."""

    name: str
    dtype: tf.dtypes.DType
    rank: int | None  # with the batch dimension; None when the signature does not say
    sparse: bool

    def arrow_type(self) -> pa.DataType:
        base = _arrow_type(self.dtype)
        if self.sparse:
            return pa.list_(base)
        if self.rank is None:
            raise ValueError(
                f'Output {self.name!r} has an unknown rank, so its Parquet column type is '
                'unknown; write JSON lines, or leave the output out with output_keys.'
            )
        for _ in range(self.rank - 1):
            base = pa.list_(base)
        return base


def _arrow_type(dtype: tf.dtypes.DType) -> pa.DataType:
    return pa.string() if dtype == tf.string else pa.from_numpy_dtype(dtype.as_numpy_dtype)


_UTF8_DECODE = operator.methodcaller('decode', 'utf-8', 'backslashreplace')


def _decoded(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode('utf-8', 'backslashreplace')
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    return value


_JSON_FLOATS = {'nan': 'NaN', 'inf': 'Infinity', '-inf': '-Infinity'}
_JSON_BOOLS = {True: 'true', False: 'false'}


def _json_scalar(value: Any) -> str:
    """`json.dumps(value)` for None, bool, int, float and str."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return _JSON_BOOLS[value]
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    text = repr(value)
    return _JSON_FLOATS.get(text, text) if isinstance(value, float) else text


def _json_texts(value: Any) -> list[str] | None:
    """Each row of a dense output of rank 1 or 2 as `json.dumps` writes it; else None."""
    if isinstance(value, SparseValue):
        return None
    array = np.asarray(value)
    if array.ndim not in (1, 2) or array.dtype.kind not in 'biufO':
        return None
    flat = array.ravel().tolist()
    if array.dtype.kind == 'f':
        if not np.isfinite(array).all():
            return None
        texts = list(map(float.__repr__, flat))
    elif array.dtype.kind in 'iu':
        texts = list(map(int.__repr__, flat))
    elif array.dtype.kind == 'b':
        texts = list(map(_JSON_BOOLS.__getitem__, flat))
    elif all(isinstance(v, bytes) for v in flat):
        texts = list(map(encode_basestring_ascii, map(_UTF8_DECODE, flat)))
    else:
        return None
    if array.ndim == 1:
        return texts
    width = array.shape[1]
    if width == 0:
        return ['[]'] * len(array)
    row = '[' + ', '.join(['{}'] * width) + ']'
    return list(map(row.format, *(texts[k::width] for k in range(width))))


def _sparse_offsets(value: Any, size: int) -> np.ndarray:
    rows = np.asarray(value.indices)[:, 0] if len(value.indices) else np.zeros([0], np.int64)
    counts = np.bincount(rows, minlength=size)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)


def _dense_arrow(array: np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    if array.ndim <= 1:
        values = array.tolist() if array.dtype == object else array
        return pa.array(values, type=arrow_type)
    size, width = array.shape[0], array.shape[1]
    inner = _dense_arrow(array.reshape(size * width, *array.shape[2:]), arrow_type.value_type)
    offsets = pa.array(np.arange(0, size * width + 1, width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, inner)


@dataclasses.dataclass(frozen=True)
class RowColumns:
    """The columns of a signature's prediction rows, and their conversion from batches."""

    passthrough: tuple[tuple[str, tf.dtypes.DType], ...]
    outputs: tuple[OutputColumn, ...]

    @classmethod
    def for_spec(cls, spec: SignatureSpec) -> RowColumns:
        """Columns for the spec's pass-through features and the outputs it runs.

        Raises:
            ValueError: a pass-through feature has the name of an output.
        """
        _, signature_def = find_signature(
            SavedModelReader(spec.export_dir), spec.signature_name, spec.tags
        )
        keys = spec.output_keys or sorted(signature_def.outputs)
        outputs = []
        for key in keys:
            info = signature_def.outputs[key]
            shape = tf.TensorShape(info.tensor_shape)
            sparse = info.WhichOneof('encoding') == 'coo_sparse'
            outputs.append(OutputColumn(key, tf.as_dtype(info.dtype), shape.rank, sparse))
        clash = sorted({name for name, _ in spec.passthrough_features} & set(keys))
        if clash:
            raise ValueError(
                f'Pass-through feature {clash[0]!r} has the name of an output of the '
                f'{spec.signature_name!r} signature; rows cannot hold both.'
            )
        return cls(spec.passthrough_features, tuple(outputs))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.passthrough] + [c.name for c in self.outputs]

    def arrow_schema(self) -> pa.Schema:
        fields = [pa.field(name, _arrow_type(dtype)) for name, dtype in self.passthrough]
        fields += [pa.field(c.name, c.arrow_type()) for c in self.outputs]
        return pa.schema(fields)

    def table(self, batch: PredictionBatch, schema: pa.Schema) -> pa.Table:
        """The batch as an Arrow table with `schema` (from `arrow_schema`)."""
        size = len(batch.records)
        arrays = []
        for name, _ in self.passthrough:
            column = passthrough_column(name, batch.passthrough[name], batch)
            arrays.append(pa.array(column, type=schema.field(name).type))
        for output in self.outputs:
            value, arrow_type = batch.outputs[output.name], schema.field(output.name).type
            if isinstance(value, SparseValue):
                inner = _dense_arrow(np.asarray(value.values), arrow_type.value_type)
                arrays.append(pa.ListArray.from_arrays(_sparse_offsets(value, size), inner))
            else:
                arrays.append(_dense_arrow(np.asarray(value), arrow_type))
        return pa.Table.from_arrays(arrays, schema=schema)

    def json_lines(self, batch: PredictionBatch) -> bytes:
        """The batch as JSON lines, one object per record, as `json.dumps` writes each.

        Built a column at a time (each value formatted in a C loop, each line by one
        `str.format`), unless an output is sparse, of rank above 2, or not finite: then one
        `json.dumps` per record.
        """
        passthrough = [
            _decoded(passthrough_column(name, batch.passthrough[name], batch))
            for name, _ in self.passthrough
        ]
        texts = [list(map(_json_scalar, column)) for column in passthrough]
        for column in self.outputs:
            text = _json_texts(batch.outputs[column.name])
            if text is None:
                return self._json_lines_per_record(batch, passthrough)
            texts.append(text)
        if not batch.records:
            return b''
        keys = [
            encode_basestring_ascii(name).replace('{', '{{').replace('}', '}}')
            for name in self.names
        ]
        # A format string: the object's own braces are doubled.
        line = '{{' + ', '.join(f'{key}: {{}}' for key in keys) + '}}\n'
        return ''.join(map(line.format, *texts)).encode()

    def _json_lines_per_record(self, batch: PredictionBatch, columns: list[list[Any]]) -> bytes:
        size = len(batch.records)
        columns = list(columns)
        for column in self.outputs:
            value = batch.outputs[column.name]
            if isinstance(value, SparseValue):
                bounds = _sparse_offsets(value, size).tolist()
                values = np.asarray(value.values).tolist()
                rows = [values[bounds[i] : bounds[i + 1]] for i in range(size)]
            else:
                rows = np.asarray(value).tolist()
            columns.append(_decoded(rows) if column.dtype == tf.string else rows)
        names = self.names
        lines = [
            json.dumps(dict(zip(names, row, strict=True))) for row in zip(*columns, strict=True)
        ]
        return ('\n'.join(lines) + '\n').encode() if lines else b''
