"""PredictionLogs compared by content, not by the bytes a process happened to write.

Protobuf writes a tf.Example's feature map in the order of its hash table, not by key (protobuf
6's upb implementation orders it differently from 3.20's), so equal examples written by
different processes or libraries, by ExampleGen workers or re-serialized by stock BulkInferrer,
may differ in their bytes. A predict
log carries its input examples as serialized bytes inside a string tensor, which deterministic
serialization of the log does not reach: `canonical` re-serializes those too.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from google.protobuf.message import DecodeError
from tensorflow_serving.apis.prediction_log_pb2 import PredictionLog


def _canonical_example(data: bytes) -> bytes:
    try:
        example = tf.train.Example.FromString(data)
    except DecodeError:  # not an Example: a raw string input, compared as it is
        return data
    return example.SerializeToString(deterministic=True)


def canonical(log: PredictionLog) -> PredictionLog:
    """A copy of `log` whose serialized input examples are in deterministic byte order."""
    log = PredictionLog.FromString(log.SerializeToString())
    if log.WhichOneof('log_type') == 'predict_log':
        for tensor in log.predict_log.request.inputs.values():
            if tensor.dtype == tf.string.as_datatype_enum:
                values = [_canonical_example(value) for value in tensor.string_val]
                del tensor.string_val[:]
                tensor.string_val.extend(values)
    return log


def _numbers(log: PredictionLog) -> tuple[PredictionLog, list[np.ndarray]]:
    """The log with its float values taken out (zeroed), and those values."""
    log = canonical(log)
    kind = log.WhichOneof('log_type')
    values = []
    if kind == 'predict_log':
        for key in sorted(log.predict_log.response.outputs):
            tensor = log.predict_log.response.outputs[key]
            array = tf.make_ndarray(tensor)
            if array.dtype.kind == 'f':
                values.append(array)
                tensor.CopyFrom(tf.make_tensor_proto(np.zeros_like(array)))
    elif kind == 'classify_log':
        for classes in log.classify_log.response.result.classifications:
            values.append(np.array([c.score for c in classes.classes]))
            for c in classes.classes:
                c.ClearField('score')
    else:
        for regression in log.regress_log.response.result.regressions:
            values.append(np.array([regression.value]))
            regression.ClearField('value')
    return log, values


def assert_same_logs(ours: list[PredictionLog], theirs: list[PredictionLog]) -> None:
    """Equal messages in any order, floats equal to float32 rounding.

    Batch sizes differ between runs (and runners), and so may the last ulp of a score.
    """

    def split(logs: list[PredictionLog]) -> list[tuple[PredictionLog, list[np.ndarray]]]:
        pairs = [_numbers(log) for log in logs]
        return sorted(pairs, key=lambda pair: pair[0].SerializeToString(deterministic=True))

    ours_split, theirs_split = split(ours), split(theirs)
    assert len(ours_split) == len(theirs_split)
    for (log, values), (their_log, their_values) in zip(ours_split, theirs_split, strict=True):
        assert log == their_log
        for value, their_value in zip(values, their_values, strict=True):
            # atol: a probability near 0 computed as 1 - p carries p's float32 rounding (6e-8).
            np.testing.assert_allclose(value, their_value, rtol=1e-6, atol=1e-7)
