"""PredictionLog files: the same records, byte for byte, as the writer they replaced.

`_Oracle` below is the PredictionLog encoder as it was before the batch-at-a-time encoding
(commit 1846043, `savedmodel_estimator/beam/prediction_logs.py`), one log per record in Python,
kept here verbatim in substance: every log the new encoder makes must equal its bytes. Framing
is checked against TensorFlow's own `tf.io.TFRecordWriter`, and the files against stock
readers (tf.data, Python's gzip, Beam's ReadFromTFRecord).
"""

from __future__ import annotations

import gzip
import pathlib
from typing import Any

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.apis import classification_pb2, prediction_log_pb2, regression_pb2

from savedmodel_estimator.beam import LogFormat, PredictionBatch, SignatureSpec, WritePredictionLogs
from savedmodel_estimator.encoding.batches import SparseValue, split_sparse
from tests.support.paths import SEED_SAVED_MODEL
from tests.support.tiny_models import example, sparse_input_and_output

SEED = str(SEED_SAVED_MODEL)


# ---- the oracle: the encoder before this change, one log per record ----------------------------
def _varint(value: int) -> bytes:
    """`value` (below 2**64) as protobuf's own encoder writes it: an int64 field, after its key."""
    signed = value - (1 << 64) if value >= 1 << 63 else value
    encoded = tensor_shape_pb2.TensorShapeProto.Dim(size=signed).SerializeToString()
    return encoded[1:] if encoded else b'\x00'  # proto3 leaves a zero out


def _tag(number: int, wire: int = 2) -> bytes:
    return _varint(number << 3 | wire)


def _field(tag: bytes, payload: bytes) -> bytes:
    return tag + _varint(len(payload)) + payload


def _path(message: Any, dotted: str) -> list[bytes]:
    tags = []
    for name in dotted.split('.'):
        field = message.fields_by_name[name]
        tags.append(_tag(field.number))
        message = field.message_type
    return tags


def _nest(path: list[bytes], payload: bytes) -> bytes:
    for tag in reversed(path):
        payload = _field(tag, payload)
    return payload


_LOG = prediction_log_pb2.PredictionLog.DESCRIPTOR
_TENSOR = tensor_pb2.TensorProto.DESCRIPTOR
_CONTENT = {np.dtype(t) for t in ('float16', 'float32', 'float64', 'int8', 'int16', 'int32')}
_CONTENT |= {np.dtype(t) for t in ('int64', 'uint8', 'uint32', 'uint64')}
_FIXED = {np.dtype('float32'): 'float_val', np.dtype('float64'): 'double_val'}
_VARINT = {np.dtype('int32'): 'int_val', np.dtype('int64'): 'int64_val'}


def _head(dtype: int, shape: tuple[int, ...]) -> bytes:
    head = tensor_pb2.TensorProto(dtype=dtype)
    for size in shape:
        head.tensor_shape.dim.add().size = size
    return head.SerializeToString()


def _row_tensors(value: Any, size: int) -> list[tuple[str, list[bytes]]]:
    if isinstance(value, SparseValue):
        parts = split_sparse(value, size)
        return [
            (
                f'/{s}',
                [
                    tf.make_tensor_proto(np.asarray(getattr(p, s))).SerializeToString()
                    for p in parts
                ],
            )
            for s in ('indices', 'values', 'dense_shape')
        ]
    array = np.asarray(value)
    head = _head(tf.as_dtype(array.dtype).as_datatype_enum, (1, *array.shape[1:]))
    row_size = int(np.prod(array.shape[1:], dtype=np.int64))
    string_val = _tag(_TENSOR.fields_by_name['string_val'].number)
    if array.dtype == object:
        return [('', [head + b''.join(_field(string_val, s) for s in r.ravel()) for r in array])]
    if row_size > 1 and array.dtype in _CONTENT:
        content = np.ascontiguousarray(array).tobytes()
        step = len(content) // size
        tag = _tag(_TENSOR.fields_by_name['tensor_content'].number)
        return [('', [head + _field(tag, content[i * step : (i + 1) * step]) for i in range(size)])]
    if row_size == 1 and array.dtype in _FIXED:
        tag = _tag(_TENSOR.fields_by_name[_FIXED[array.dtype]].number)
        content, step = np.ascontiguousarray(array).tobytes(), array.dtype.itemsize
        return [
            ('', [head + _field(tag, content[i : i + step]) for i in range(0, len(content), step)])
        ]
    if row_size == 1 and array.dtype in _VARINT:
        tag = _tag(_TENSOR.fields_by_name[_VARINT[array.dtype]].number)
        values = array.reshape(-1).tolist()
        return [('', [head + _field(tag, _varint(v & 0xFFFFFFFFFFFFFFFF)) for v in values])]
    rows = [tf.make_tensor_proto(row, shape=(1, *row.shape)) for row in array]
    return [('', [proto.SerializeToString() for proto in rows])]


def oracle_encode(log_format: LogFormat, batch: PredictionBatch) -> list[bytes]:
    """The logs the encoder before this change made for `batch`."""
    records, outputs, size = batch.records, batch.outputs, len(batch.records)
    if log_format.kind == 'classify':
        classes, scores = outputs.get('classes'), outputs.get('scores')
        width = classes.shape[1] if classes is not None else scores.shape[1]
        label_tag = _tag(classification_pb2.Class.DESCRIPTOR.fields_by_name['label'].number)
        score_key = _tag(classification_pb2.Class.DESCRIPTOR.fields_by_name['score'].number, 5)
        class_tag = _path(classification_pb2.Classifications.DESCRIPTOR, 'classes')[0]
        logs = []
        for i, record in enumerate(records):
            fields = []
            for k in range(width):
                label = classes[i, k] if classes is not None else b''
                encoded = _field(label_tag, label) if label else b''
                if scores is not None:
                    encoded += score_key + scores[i, k : k + 1].astype('<f4').tobytes()
                fields.append(_field(class_tag, encoded))
            logs.append(
                _nest(_path(_LOG, 'classify_log.request.input.example_list.examples'), record)
                + _nest(
                    _path(_LOG, 'classify_log.response.result.classifications'), b''.join(fields)
                )
            )
        return logs
    if log_format.kind == 'regress':
        packed = np.asarray(outputs['outputs']).astype('<f4').tobytes()
        value_key = _tag(regression_pb2.Regression.DESCRIPTOR.fields_by_name['value'].number, 5)
        return [
            _nest(_path(_LOG, 'regress_log.request.input.example_list.examples'), record)
            + _nest(
                _path(_LOG, 'regress_log.response.result.regressions'),
                value_key + packed[i * 4 : i * 4 + 4],
            )
            for i, record in enumerate(records)
        ]
    head = prediction_log_pb2.PredictionLog()
    head.predict_log.request.model_spec.signature_name = log_format.signature_name
    head.predict_log.response.model_spec.signature_name = log_format.signature_name
    outputs_tag = _path(prediction_log_pb2.PredictLog.DESCRIPTOR, 'response.outputs')[-1]
    string_val = _tag(_TENSOR.fields_by_name['string_val'].number)
    columns = [
        [
            _field(outputs_tag, _field(_tag(1), (key + suffix).encode()) + _field(_tag(2), t))
            for t in tensors
        ]
        for key, value in outputs.items()
        for suffix, tensors in _row_tensors(value, size)
    ]
    logs = []
    for i, record in enumerate(records):
        entry = _field(_tag(1), log_format.input_key.encode()) + _field(
            _tag(2), _head(types_pb2.DT_STRING, (1,)) + _field(string_val, record)
        )
        logs.append(
            head.SerializeToString()
            + _nest(_path(_LOG, 'predict_log.request.inputs'), entry)
            + _nest(_path(_LOG, 'predict_log.response'), b''.join(c[i] for c in columns))
        )
    return logs


# ---- the cases ------------------------------------------------------------------------------------
def records_of_many_lengths(count: int, seed: int = 0) -> list[bytes]:
    """Byte strings whose lengths cross the varint boundaries (127/128, 16383/16384), and empty."""
    rng = np.random.default_rng(seed)
    lengths = [0, 1, 127, 128, 300, 16383, 16384, 20000]
    lengths += rng.integers(0, 600, max(0, count - len(lengths))).tolist()
    return [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in lengths[:count]]


def classify_batches() -> list[tuple[str, PredictionBatch]]:
    size = 12
    records = records_of_many_lengths(size)
    rng = np.random.default_rng(1)
    scores = rng.random((size, 3), dtype=np.float32)
    same = np.array([[b'0', b'1', b'']] * size, dtype=object)
    varied = np.array([[b'a', b'b' * i, b'c'] for i in range(size)], dtype=object)
    return [
        ('classes and scores', PredictionBatch(records, {'classes': same, 'scores': scores})),
        ('labels vary', PredictionBatch(records, {'classes': varied, 'scores': scores})),
        ('scores only', PredictionBatch(records, {'scores': scores})),
        ('classes only', PredictionBatch(records, {'classes': varied})),
        ('one record', PredictionBatch(records[4:5], {'classes': same[:1], 'scores': scores[:1]})),
    ]


def predict_outputs(size: int) -> dict[str, Any]:
    rng = np.random.default_rng(2)
    strings = [[b'x' * i, b''] for i in range(size)]
    return {
        'f32': rng.random((size, 3), dtype=np.float32),
        'f32_one': rng.random((size, 1), dtype=np.float32),
        'f64': rng.random(size),
        'i64': np.arange(-size, size, 2, dtype=np.int64),
        'i32': np.arange(size, dtype=np.int32).reshape(size, 1) - 3,
        'u16': np.arange(size * 4, dtype=np.uint16).reshape(size, 2, 2),
        'flag': np.arange(size) % 2 == 0,
        'str': np.array(strings, dtype=object),
        'none': np.zeros([size, 0], np.float32),
        'sparse': SparseValue(
            np.array([[0, 0], [0, 2], [3, 1]]), np.array([1.5, 2.5, 3.5]), [size, 4]
        ),
    }


@pytest.mark.parametrize(
    ('name', 'batch'), classify_batches(), ids=lambda x: x if isinstance(x, str) else ''
)
def test_classify_logs_are_the_bytes_of_before(name: str, batch: PredictionBatch) -> None:
    log_format = LogFormat('classify', 'serving_default', 'inputs')
    assert log_format.encode(batch) == oracle_encode(log_format, batch)


def test_regress_logs_are_the_bytes_of_before() -> None:
    records = records_of_many_lengths(10)
    values = np.linspace(-1, 1, 10, dtype=np.float32).reshape(10, 1)
    log_format = LogFormat('regress', 'regression', 'inputs')
    batch = PredictionBatch(records, {'outputs': values})
    assert log_format.encode(batch) == oracle_encode(log_format, batch)


@pytest.mark.parametrize('keys', [None, ['f32', 'i64'], ['str'], ['sparse', 'none'], []])
def test_predict_logs_are_the_bytes_of_before(keys: list[str] | None) -> None:
    records = records_of_many_lengths(9)
    outputs = predict_outputs(len(records))
    if keys is not None:
        outputs = {key: outputs[key] for key in keys}
    for log_format in (
        LogFormat('predict', 'serving_default', 'examples'),
        LogFormat('predict', 'eval', 'serialized_examples'),
    ):
        batch = PredictionBatch(records, outputs)
        assert log_format.encode(batch) == oracle_encode(log_format, batch)


def _tf_framed(tmp_path: pathlib.Path, logs: list[bytes]) -> bytes:
    """The logs as TensorFlow's own TFRecordWriter frames them, uncompressed."""
    path = str(tmp_path / 'tf.tfrecord')
    with tf.io.TFRecordWriter(path) as writer:
        for log in logs:
            writer.write(log)
    return pathlib.Path(path).read_bytes()


def test_log_files_hold_the_records_of_before_in_a_gzip_every_reader_reads(
    tmp_path: pathlib.Path,
) -> None:
    rng = np.random.default_rng(3)
    size = 700  # several batches, crossing GzipStream's chunks
    records = records_of_many_lengths(size)
    batches = []
    for start in range(0, size, 100):
        scores = rng.random((100, 2), dtype=np.float32)
        classes = np.array([[b'0', b'1']] * 100, dtype=object)
        outputs = {
            'classes': classes[: len(records[start : start + 100])],
            'scores': scores[: len(records[start : start + 100])],
        }
        batches.append(PredictionBatch(records[start : start + 100], outputs))
    log_format = LogFormat.for_spec(SignatureSpec(SEED))
    expected = [log for batch in batches for log in oracle_encode(log_format, batch)]
    prefix = str(tmp_path / 'out' / 'prediction_logs')
    with test_pipeline.TestPipeline() as pipeline:
        names = (
            pipeline
            | beam.Create(batches, reshuffle=False)
            | WritePredictionLogs(prefix, SignatureSpec(SEED))
        )
        assert_that(names, equal_to([f'{prefix}-00000-of-00001.gz']))
    path = tmp_path / 'out' / 'prediction_logs-00000-of-00001.gz'
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == [path.name]
    assert gzip.decompress(path.read_bytes()) == _tf_framed(tmp_path, expected)
    dataset = tf.data.TFRecordDataset(str(path), compression_type='GZIP')
    assert [bytes(r) for r in dataset.as_numpy_iterator()] == expected
    with test_pipeline.TestPipeline() as pipeline:
        read = pipeline | beam.io.ReadFromTFRecord(str(path), coder=beam.coders.BytesCoder())
        assert_that(read, equal_to(expected))


def test_sparse_outputs_of_a_real_model_log_as_before(tmp_path: pathlib.Path) -> None:
    from savedmodel_estimator.beam import load_runner

    model = sparse_input_and_output(tmp_path / 'sparse')
    records = [example(tokens=[1, 2], scale=1.0), example(tokens=[], scale=2.0)]
    result = load_runner(SignatureSpec(model)).run(records)
    log_format = LogFormat.for_spec(SignatureSpec(model))
    batch = PredictionBatch(records, result.outputs)
    assert log_format.encode(batch) == oracle_encode(log_format, batch)


def test_compression_level_outside_0_to_9_is_refused() -> None:
    with pytest.raises(ValueError, match=r'compression_level must be 0 to 9, given: 10\.'):
        WritePredictionLogs('/tmp/x', SignatureSpec(SEED), compression_level=10)
