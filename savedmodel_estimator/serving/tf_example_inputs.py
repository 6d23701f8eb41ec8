"""Feeding TFRecords of tf.Example to a signature's inputs, by name, dtype and shape.

An Estimator export's `train` and `eval` signatures take raw tensors (features and the label);
its serving signature often takes serialized tf.Examples. These helpers parse TFRecord files of
tf.Examples into whichever a signature wants, and check the records first so a missing feature or
a wrong kind is reported with the file, record, feature and what was expected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2

# tf.Example stores three kinds of lists; every dtype is parsed as one of them, then cast.
_KIND_OF_DTYPE = {
    tf.string: 'bytes_list',
    tf.float32: 'float_list',
    tf.float64: 'float_list',
    tf.float16: 'float_list',
    tf.bfloat16: 'float_list',
    tf.int64: 'int64_list',
    tf.int32: 'int64_list',
    tf.int16: 'int64_list',
    tf.int8: 'int64_list',
    tf.uint8: 'int64_list',
    tf.uint16: 'int64_list',
    tf.uint32: 'int64_list',
    tf.bool: 'int64_list',
}
_PARSE_DTYPE = {'bytes_list': tf.string, 'float_list': tf.float32, 'int64_list': tf.int64}

SERIALIZED_EXAMPLES = 'serialized_examples'


class ExampleFormatError(ValueError):
    """tf.Example records do not hold what a signature needs."""


@dataclasses.dataclass(frozen=True)
class InputColumn:
    """How one signature input is read from tf.Examples."""

    name: str
    dtype: tf.dtypes.DType
    shape: tuple[int, ...]  # per example, without the batch dimension
    sparse: bool
    # The list kind the records store, when it differs from the dtype's own but converts
    # without loss: integers (as CsvExampleGen infers `0`/`1` labels) read into a float input.
    stored_kind: str | None = None

    @property
    def kind(self) -> str:
        return self.stored_kind or _KIND_OF_DTYPE[self.dtype]

    @property
    def size(self) -> int:
        size = 1
        for dim in self.shape:
            size *= dim
        return size

    def describe(self) -> str:
        shape = 'variable length' if self.sparse else f'shape {list(self.shape)}'
        return f'{self.dtype.name} with {shape}'

    def parse_feature(self) -> Any:
        parse_dtype = _PARSE_DTYPE[self.kind]
        if self.sparse:
            return tf.io.VarLenFeature(parse_dtype)
        return tf.io.FixedLenFeature(self.shape, parse_dtype)


_SERIALIZED_INPUT_KEYS = ('examples', 'inputs', 'input', 'input_example_tensor', 'serialized')
_EXAMPLE_METHODS = ('tensorflow/serving/classify', 'tensorflow/serving/regress')


def takes_serialized_examples(signature_def: meta_graph_pb2.SignatureDef) -> bool:
    """Whether a signature's one input is a batch of serialized tf.Examples.

    True for classify and regress signatures, and for a predict signature whose only input is a
    string vector under a name Estimator receivers use (`examples`, `inputs`, ...).
    """
    if len(signature_def.inputs) != 1:
        return False
    ((key, info),) = signature_def.inputs.items()
    if info.dtype != tf.string.as_datatype_enum or info.WhichOneof('encoding') != 'name':
        return False
    shape = tf.TensorShape(info.tensor_shape)
    if shape.rank is not None and shape.rank > 1:
        return False
    return signature_def.method_name in _EXAMPLE_METHODS or key in _SERIALIZED_INPUT_KEYS


def signature_columns(
    signature_def: meta_graph_pb2.SignatureDef, signature_name: str = 'signature'
) -> list[InputColumn]:
    """The columns to parse from tf.Examples to feed each of a signature's inputs.

    Raises:
        ExampleFormatError: an input cannot come from a tf.Example (an unsupported dtype, or an
            unknown dimension other than the batch dimension).
    """
    inputs = signature_def.inputs
    columns = []
    for key in sorted(inputs):
        info = inputs[key]
        dtype = tf.dtypes.as_dtype(info.dtype)
        if dtype not in _KIND_OF_DTYPE:
            raise ExampleFormatError(
                f'Input {key!r} of the {signature_name} signature is {dtype.name}, which a '
                'tf.Example cannot hold (expected a string, integer, float or bool input).'
            )
        sparse = info.WhichOneof('encoding') == 'coo_sparse'
        shape = tf.TensorShape(info.tensor_shape)
        dims: tuple[int, ...] = ()
        if not sparse:
            if shape.rank is None or shape.rank == 0:
                dims = ()
            else:
                inner = shape.as_list()[1:]
                if any(d is None for d in inner):
                    raise ExampleFormatError(
                        f'Input {key!r} of the {signature_name} signature has shape '
                        f'{shape.as_list()}: only the batch dimension may be unknown to read '
                        'it from tf.Examples.'
                    )
                dims = tuple(int(d) for d in inner)
        columns.append(InputColumn(key, dtype, dims, sparse))
    return columns


def parse_batch(serialized: tf.Tensor, columns: Sequence[InputColumn]) -> dict[str, Any]:
    """Parses a batch of serialized tf.Examples into the columns' tensors (graph or eager)."""
    parsed = tf.io.parse_example(serialized, {c.name: c.parse_feature() for c in columns})
    out: dict[str, Any] = {}
    for column in columns:
        value = parsed[column.name]
        if value.dtype != column.dtype:
            if isinstance(value, tf.SparseTensor):
                value = tf.SparseTensor(
                    value.indices, tf.cast(value.values, column.dtype), value.dense_shape
                )
            else:
                value = tf.cast(value, column.dtype)
        out[column.name] = value
    return out


def adapt_to_records(columns: Sequence[InputColumn], records: Sequence[bytes]) -> list[InputColumn]:
    """Columns that read integer lists into float inputs when the first record stores them so.

    Other kinds are left as the signature wants them; `check_records` reports mismatches.
    """
    if not records:
        return list(columns)
    features = tf.train.Example.FromString(records[0]).features.feature
    adapted = []
    for column in columns:
        found = features[column.name].WhichOneof('kind') if column.name in features else None
        if found == 'int64_list' and column.kind == 'float_list':
            column = dataclasses.replace(column, stored_kind='int64_list')
        adapted.append(column)
    return adapted


def check_records(
    records: Sequence[bytes],
    columns: Sequence[InputColumn],
    source: str,
    signature_name: str,
    first_index: int = 0,
) -> None:
    """Checks that each record holds every column with the right kind and length.

    Raises:
        ExampleFormatError: naming the file, the record, the feature, what was found and what the
            signature expects.
    """
    for offset, record in enumerate(records):
        index = first_index + offset
        try:
            example = tf.train.Example.FromString(record)
        except Exception as err:  # protobuf raises DecodeError or RuntimeError
            raise ExampleFormatError(
                f'Record {index} of {source!r} is not a serialized tf.Example ({err}).'
            ) from err
        features = example.features.feature
        for column in columns:
            where = f'Feature {column.name!r} in examples {source!r} record {index}'
            if column.name not in features:
                raise ExampleFormatError(
                    f'{where} is missing, but the {signature_name!r} signature expects '
                    f'{column.describe()}. Features present: {sorted(features)}.'
                )
            kind = features[column.name].WhichOneof('kind')
            if kind != column.kind:
                raise ExampleFormatError(
                    f'{where} is a {kind}, but the {signature_name!r} signature expects '
                    f'{column.describe()} (a {column.kind}).'
                )
            length = len(getattr(features[column.name], kind).value)
            if not column.sparse and length != column.size:
                raise ExampleFormatError(
                    f'{where} has {length} values, but the {signature_name!r} signature '
                    f'expects {column.describe()} ({column.size} values).'
                )


def peek_records(file_patterns: Sequence[str], limit: int) -> list[tuple[str, list[bytes]]]:
    """The first `limit` records of each file matching the patterns (gzip or plain)."""
    peeked = []
    for pattern in file_patterns:
        for path in sorted(tf.io.gfile.glob(pattern)):
            compression = 'GZIP' if path.endswith('.gz') else ''
            dataset = tf.data.TFRecordDataset(path, compression_type=compression).take(limit)
            try:
                peeked.append((path, [bytes(r) for r in dataset.as_numpy_iterator()]))
            except tf.errors.DataLossError as err:
                raise ExampleFormatError(
                    f'TFRecord file {path!r} is corrupt or truncated ({err.message}).'
                ) from err
    return peeked


def make_input_fn(
    file_patterns: Sequence[str],
    columns: Sequence[InputColumn] | None,
    batch_size: int,
    *,
    serialized_key: str | None = None,
    num_epochs: int | None = 1,
    shuffle_buffer: int = 0,
    seed: int | None = None,
) -> Callable[[], tf.data.Dataset]:
    """An input_fn reading gzip or plain TFRecords of tf.Examples into batches.

    Each element is a dict: the parsed columns by name (features and label together: the core
    maps signature inputs from features and labels alike), or, when `columns` is None, the
    serialized records under `serialized_key`.
    """
    if batch_size <= 0:
        raise ValueError(f'batch_size must be > 0, given: {batch_size}')

    def input_fn() -> tf.data.Dataset:
        files = sorted(p for pattern in file_patterns for p in tf.io.gfile.glob(pattern))
        if not files:
            raise ExampleFormatError(f'No files match {list(file_patterns)}.')
        compression = 'GZIP' if all(f.endswith('.gz') for f in files) else ''
        dataset = tf.data.TFRecordDataset(files, compression_type=compression)
        if shuffle_buffer:
            dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.repeat(num_epochs).batch(batch_size)
        if columns is None:
            key = serialized_key or SERIALIZED_EXAMPLES
            return dataset.map(lambda records: {key: records})
        return dataset.map(lambda records: parse_batch(records, columns))

    return input_fn
