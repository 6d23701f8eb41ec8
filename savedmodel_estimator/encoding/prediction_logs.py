"""PredictionLog records as TFX's BulkInferrer writes them, built a batch at a time.

The format is tfx_bsl's RunInference's: a `classify_log` or `regress_log` (the tf.Example in the
request's example list, one classification or regression in the response) for classify and
regress signatures, a `predict_log` otherwise (the serialized tf.Example as a string tensor of
shape [1] in the request, each output's row as a tensor of shape [1, ...] in the response).
A signature of raw tensors gets a `predict_log` whose request holds the tf.Example it was parsed
from under `serialized_examples`, so BulkInferrer's consumers (`prediction_to_example_utils`)
still find the example.

Building one PredictionLog message per record costs more than running the model (a parse of the
tf.Example into the request, a TensorProto per output). Here the static part of each log is
serialized once per batch and the per-record parts are laid out as bytes for the whole batch at
once (`byte_rows`): protobuf parses the concatenation of two encodings of a message as their
merge, so the result parses to the same message the proto API would build. Each log is a prefix
that depends on the record's length only, the record, and a suffix (`LogParts`), so the writer
frames the logs without joining each one first.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
from google.protobuf import descriptor
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow_serving.apis import classification_pb2, prediction_log_pb2, regression_pb2

from savedmodel_estimator.encoding.batches import PredictionBatch, SparseValue, split_sparse
from savedmodel_estimator.encoding.byte_rows import (
    ByteRows,
    Part,
    concat,
    encode_varint,
    headers,
    nest,
    varint,
)
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator.serving import tf_example_inputs
from savedmodel_estimator.serving.signature_runner import SignatureSpec, find_signature

CLASSIFY, REGRESS, PREDICT = 'classify', 'regress', 'predict'
_KIND_OF_METHOD = {'tensorflow/serving/classify': CLASSIFY, 'tensorflow/serving/regress': REGRESS}
# Where a raw signature's request keeps the tf.Example its inputs were parsed from.
RAW_REQUEST_INPUT = tf_example_inputs.SERIALIZED_EXAMPLES

# numpy dtypes tf.make_tensor_proto stores as `tensor_content` (raw little-endian bytes) when a
# tensor has more than one element; a one-element tensor goes in the typed value field.
_CONTENT_DTYPES = frozenset(
    np.dtype(t) for t in ('float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64')
) | frozenset(np.dtype(t) for t in ('uint8', 'uint32', 'uint64'))
# One-element tensors of these dtypes are encoded here; others go through tf.make_tensor_proto.
_FIXED_VALUE_FIELDS = {np.dtype('float32'): 'float_val', np.dtype('float64'): 'double_val'}
_VARINT_VALUE_FIELDS = {np.dtype('int32'): 'int_val', np.dtype('int64'): 'int64_val'}


def _tag(number: int) -> bytes:
    """The key of a length-delimited field (a message, a string or bytes)."""
    return encode_varint(number << 3 | 2)


def _field(tag: bytes, payload: bytes) -> bytes:
    return tag + varint(len(payload)) + payload


def _path(message: descriptor.Descriptor, dotted: str) -> tuple[bytes, ...]:
    tags = []
    for name in dotted.split('.'):
        field = message.fields_by_name[name]
        tags.append(_tag(field.number))
        message = field.message_type
    return tuple(tags)


_LOG = prediction_log_pb2.PredictionLog.DESCRIPTOR
_CLASSIFY_EXAMPLE = _path(_LOG, 'classify_log.request.input.example_list.examples')
_CLASSIFICATIONS = _path(_LOG, 'classify_log.response.result.classifications')
_REGRESS_EXAMPLE = _path(_LOG, 'regress_log.request.input.example_list.examples')
_REGRESSIONS = _path(_LOG, 'regress_log.response.result.regressions')
_PREDICT_INPUTS = _path(_LOG, 'predict_log.request.inputs')
_PREDICT_RESPONSE = _path(_LOG, 'predict_log.response')
_OUTPUTS = _path(prediction_log_pb2.PredictLog.DESCRIPTOR, 'response.outputs')[-1:]
_CLASS = _path(classification_pb2.Classifications.DESCRIPTOR, 'classes')
_LABEL = _path(classification_pb2.Class.DESCRIPTOR, 'label')[0]
# float fields are fixed32 on the wire: the key, then 4 little-endian bytes.
_SCORE_KEY = encode_varint(
    classification_pb2.Class.DESCRIPTOR.fields_by_name['score'].number << 3 | 5
)
_VALUE_KEY = encode_varint(
    regression_pb2.Regression.DESCRIPTOR.fields_by_name['value'].number << 3 | 5
)
_TENSOR = tensor_pb2.TensorProto.DESCRIPTOR
_STRING_VAL = _tag(_TENSOR.fields_by_name['string_val'].number)
_TENSOR_CONTENT = _tag(_TENSOR.fields_by_name['tensor_content'].number)
_MAP_KEY, _MAP_VALUE = _tag(1), _tag(2)


def _tensor_head(dtype: int, shape: tuple[int, ...]) -> bytes:
    head = tensor_pb2.TensorProto(dtype=dtype)
    for size in shape:
        head.tensor_shape.dim.add().size = size
    return head.SerializeToString()


# A predict log's request holds the example as a string tensor of shape [1], as tfx_bsl's does.
_EXAMPLE_HEAD = _tensor_head(types_pb2.DT_STRING, (1,))


@dataclasses.dataclass(frozen=True)
class LogParts:
    """A batch's PredictionLogs, log i being `prefix(len(records[i])) + records[i] + suffixes[i]`.

    The prefix depends on the record's length only (cached per length), so TFRecord framing can
    compute each log's length and checksum without joining the log first.
    """

    prefix: Callable[[int], bytes]
    records: Sequence[bytes]
    suffixes: ByteRows

    def logs(self) -> list[bytes]:
        """The serialized PredictionLogs."""
        prefixes = map(self.prefix, map(len, self.records))
        return list(map(b''.join, zip(prefixes, self.records, self.suffixes.tolist(), strict=True)))


def _single_values(array: np.ndarray, head: bytes) -> ByteRows | None:
    """Rows of one element as TensorProtos with the value in its typed field, or None."""
    size = len(array)
    if array.dtype in _FIXED_VALUE_FIELDS:
        tag = _tag(_TENSOR.fields_by_name[_FIXED_VALUE_FIELDS[array.dtype]].number)
        values = ByteRows.of(array.reshape(size, 1))
        return concat(size, [head + tag + varint(array.dtype.itemsize), values])
    if array.dtype in _VARINT_VALUE_FIELDS:
        tag = _tag(_TENSOR.fields_by_name[_VARINT_VALUE_FIELDS[array.dtype]].number)
        values = array.reshape(-1).tolist()
        return ByteRows.of_list(
            [head + _field(tag, encode_varint(v & 0xFFFFFFFFFFFFFFFF)) for v in values]
        )
    return None


def _row_tensors(value: Any, size: int) -> Iterator[tuple[str, ByteRows]]:
    """(suffix, each record's serialized TensorProto) for a batch output, as tf would make them."""
    if isinstance(value, SparseValue):
        parts = split_sparse(value, size)
        for suffix in ('indices', 'values', 'dense_shape'):
            rows = [np.asarray(getattr(part, suffix)) for part in parts]
            protos = [tf.make_tensor_proto(r).SerializeToString() for r in rows]
            yield f'/{suffix}', ByteRows.of_list(protos)
        return
    array = np.asarray(value)
    head = _tensor_head(tf.as_dtype(array.dtype).as_datatype_enum, (1, *array.shape[1:]))
    row_size = int(np.prod(array.shape[1:], dtype=np.int64))
    if array.dtype == object:
        strings = [head + b''.join(_field(_STRING_VAL, s) for s in row.ravel()) for row in array]
        yield '', ByteRows.of_list(strings)
        return
    if row_size > 1 and array.dtype in _CONTENT_DTYPES:
        content = ByteRows.of(array.reshape(size, -1))
        yield '', concat(size, [head + _TENSOR_CONTENT + varint(content.width or 0), content])
        return
    singles = _single_values(array, head) if row_size == 1 else None
    if singles is not None:
        yield '', singles
        return
    protos = [tf.make_tensor_proto(row, shape=(1, *row.shape)) for row in array]
    yield '', ByteRows.of_list([proto.SerializeToString() for proto in protos])


@functools.lru_cache(maxsize=8192)
def _predict_prefix(head: bytes, input_key: bytes, length: int) -> bytes:
    """A predict log's bytes before a record of `length` bytes: the request up to the record."""
    string_val = _STRING_VAL + varint(length)
    value = _MAP_VALUE + varint(len(_EXAMPLE_HEAD) + len(string_val) + length)
    entry = len(input_key) + len(value) + len(_EXAMPLE_HEAD) + len(string_val) + length
    return b''.join(
        (head, headers(_PREDICT_INPUTS, entry), input_key, value, _EXAMPLE_HEAD, string_val)
    )


@dataclasses.dataclass(frozen=True)
class LogFormat:
    """How a signature's predictions are logged: which log, and the names it carries."""

    kind: str
    signature_name: str
    input_key: str

    @classmethod
    def for_spec(cls, spec: SignatureSpec) -> LogFormat:
        """The format stock BulkInferrer uses for the signature (`predict` for a raw one)."""
        _, signature_def = find_signature(
            SavedModelReader(spec.export_dir), spec.signature_name, spec.tags
        )
        if not tf_example_inputs.takes_serialized_examples(signature_def):
            return cls(PREDICT, spec.signature_name, RAW_REQUEST_INPUT)
        kind = _KIND_OF_METHOD.get(signature_def.method_name, PREDICT)
        (input_key,) = signature_def.inputs
        return cls(kind, spec.signature_name, input_key)

    def encode(self, batch: PredictionBatch) -> list[bytes]:
        """One serialized PredictionLog per record of the batch."""
        return self.parts(batch).logs()

    def parts(self, batch: PredictionBatch) -> LogParts:
        """The batch's PredictionLogs as a prefix per record length and a suffix per record."""
        if self.kind == CLASSIFY:
            suffixes = self._classify(batch)
            return LogParts(functools.partial(headers, _CLASSIFY_EXAMPLE), batch.records, suffixes)
        if self.kind == REGRESS:
            suffixes = self._regress(batch)
            return LogParts(functools.partial(headers, _REGRESS_EXAMPLE), batch.records, suffixes)
        head = prediction_log_pb2.PredictionLog()
        head.predict_log.request.model_spec.signature_name = self.signature_name
        head.predict_log.response.model_spec.signature_name = self.signature_name
        prefix = functools.partial(
            _predict_prefix,
            head.SerializeToString(),
            _field(_MAP_KEY, self.input_key.encode()),
        )
        return LogParts(prefix, batch.records, self._predict(batch))

    def _classify(self, batch: PredictionBatch) -> ByteRows:
        classes: Any = batch.outputs.get('classes')
        scores: Any = batch.outputs.get('scores')
        size = len(batch.records)
        _check_classify(classes, scores, size, self.signature_name)
        width = classes.shape[1] if classes is not None else scores.shape[1]
        fields = []
        for k in range(width):
            parts: list[Part] = [_labels(classes[:, k] if classes is not None else None, size)]
            if scores is not None:
                parts += [_SCORE_KEY, ByteRows.of(scores[:, k : k + 1].astype('<f4'))]
            fields.append(nest(_CLASS, concat(size, parts)))
        return nest(_CLASSIFICATIONS, concat(size, fields))

    def _regress(self, batch: PredictionBatch) -> ByteRows:
        values = np.asarray(batch.outputs['outputs'])
        size = len(batch.records)
        if values.size != size or values.dtype != np.float32:
            raise ValueError(
                f'The regress signature {self.signature_name!r} returned outputs of shape '
                f'{list(values.shape)} and dtype {values.dtype}; expected float32 with shape '
                f'[{size}] or [{size}, 1].'
            )
        packed = ByteRows.of(values.reshape(size, 1).astype('<f4'))
        return nest(_REGRESSIONS, concat(size, [_VALUE_KEY, packed]))

    def _predict(self, batch: PredictionBatch) -> ByteRows:
        size = len(batch.records)
        entries: list[Part] = []  # per output: each record's `outputs` map entry
        for key, value in batch.outputs.items():
            for suffix, tensors in _row_tensors(value, size):
                entry_key = _field(_MAP_KEY, (key + suffix).encode())
                entry = concat(size, [entry_key, nest((_MAP_VALUE,), tensors)])
                entries.append(nest(_OUTPUTS, entry))
        return nest(_PREDICT_RESPONSE, concat(size, entries))


def _labels(labels: np.ndarray | None, size: int) -> Part:
    """A class's `label` field per record: constant bytes when every record has the same label."""
    if labels is None:
        return b''
    first = labels[0] if size else b''
    if size and bool(np.all(labels == first)):
        return _field(_LABEL, first) if first else b''
    rows = labels.tolist()
    encoded = {label: _field(_LABEL, label) if label else b'' for label in set(rows)}
    return ByteRows.of_list(list(map(encoded.__getitem__, rows)))


def _check_classify(classes: Any, scores: Any, size: int, signature_name: str) -> None:
    """The checks tfx_bsl makes of a classify signature's outputs, with its expectations."""
    if classes is None and scores is None:
        raise ValueError(
            f'The classify signature {signature_name!r} returned neither classes nor scores.'
        )
    for name, value, dtype in (('classes', classes, object), ('scores', scores, np.float32)):
        if value is not None and (
            value.ndim != 2 or value.shape[0] != size or value.dtype != dtype
        ):
            raise ValueError(
                f'Output {name!r} of the classify signature {signature_name!r} has shape '
                f'{list(value.shape)} and dtype {value.dtype}; expected [{size}, num_classes] '
                f'of {np.dtype(dtype)}.'
            )
    if classes is not None and scores is not None and classes.shape[1] != scores.shape[1]:
        raise ValueError(
            f'Outputs classes and scores of the classify signature {signature_name!r} differ in '
            f'number of classes: {classes.shape[1]} vs {scores.shape[1]}.'
        )
