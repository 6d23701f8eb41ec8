"""Batches of predictions for the writers' golden files, built from arithmetic alone.

`tests/data/tools/make_beam_writer_goldens.py` ran the writers of commit 7343dee (one
PredictionLog per record in Python, Beam's FileBasedSink) on these batches once; the files it
wrote are in `tests/data/beam_writer_goldens/`, and `tests/integration/test_beam_writer_goldens.py`
checks that today's writers write the same records from them. No random generator: the batches
must be the same on every numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from savedmodel_estimator.encoding.batches import PredictionBatch, SparseValue
from savedmodel_estimator.serving.signature_runner import SignatureSpec
from tests.support.paths import DATA, SEED_SAVED_MODEL

SEED_MODEL = str(SEED_SAVED_MODEL)
GOLDENS = DATA / 'beam_writer_goldens'
# Lengths that cross the varint boundaries of protobuf (127/128, 16383/16384) and an empty record.
LENGTHS = (0, 1, 127, 128, 300, 16383, 16384, 16500)
BATCH_SIZES = (40, 1, 64, 27)  # a batch of one, and batches of different sizes


def records(count: int, start: int = 0) -> list[bytes]:
    """`count` byte strings of many lengths, each different."""
    out = []
    for i in range(start, start + count):
        length = LENGTHS[i] if i < len(LENGTHS) else (i * 37) % 700
        out.append(bytes((i * 13 + j * 7) % 256 for j in range(length)))
    return out


def _fractions(size: int, width: int, salt: int) -> np.ndarray:
    """float32 in [0, 1), different in every cell."""
    cells = np.arange(size * width, dtype=np.int64).reshape(size, width)
    return (((cells * 7919 + salt * 104729) % 10007) / 10007).astype(np.float32)


def _ids(size: int, start: int) -> SparseValue:
    """A string pass-through feature: every record but each fifth has one."""
    rows = [i for i in range(size) if (start + i) % 5 != 4]
    values = np.array([f'c{start + i}-"é{{}}"'.encode() for i in rows], dtype=object)
    indices = np.array([[i, 0] for i in rows], np.int64).reshape(-1, 2)
    return SparseValue(indices, values, [size, 1])


def _classify(size: int, start: int) -> dict[str, Any]:
    labels = [[b'green', b'yellow'] if (start + i) % 3 else [b'0', b''] for i in range(size)]
    return {'classes': np.array(labels, dtype=object), 'scores': _fractions(size, 2, start)}


def _regress(size: int, start: int) -> dict[str, Any]:
    return {'outputs': _fractions(size, 1, start) * 200 - 100}


def _predict(size: int, start: int) -> dict[str, Any]:
    """The outputs of the seed model's `predict` signature, plus sparse and unusual dtypes."""
    index = np.arange(start, start + size)
    logistic = _fractions(size, 1, start)
    sparse_rows = [i for i in range(size) if i % 4 == 1]
    return {
        'class_ids': (logistic > 0.5).astype(np.int64),
        'classes': np.array(
            [[b'yellow' if v else b'green'] for v in logistic[:, 0] > 0.5], dtype=object
        ),
        'probabilities': np.concatenate([1 - logistic, logistic], axis=1),
        'logistic': logistic,
        'all_class_ids': np.tile(np.array([0, 1], np.int32), (size, 1)),
        'all_classes': np.array([[b'green', b'yellow']] * size, dtype=object),
        'logits': (logistic - 0.5) * 8,
        'f64': index / 3.0,
        'i64': index * -(2**40),
        'i32_one': (index.reshape(size, 1) - 30).astype(np.int32),
        'u16': np.arange(size * 4, dtype=np.uint16).reshape(size, 2, 2),
        'flag': index % 2 == 0,
        'none': np.zeros([size, 0], np.float32),
        'sparse': SparseValue(
            np.array([[i, k] for i in sparse_rows for k in (0, 2)], np.int64).reshape(-1, 2),
            np.array([i + k / 4 for i in sparse_rows for k in (0, 2)], np.float32),
            [size, 3],
        ),
    }


def _rows(size: int, start: int) -> dict[str, Any]:
    """The seed model's `predict` outputs alone; a batch of one has a NaN (JSON's per-record path)."""
    outputs = _predict(size, start)
    rows = {key: outputs[key] for key in list(outputs)[:7]}
    if size == 1:
        rows['logits'] = np.full([1, 1], np.nan, np.float32)
    return rows


_OUTPUTS = {'classify': _classify, 'regress': _regress, 'predict': _predict, 'rows': _rows}
SIGNATURES = {
    'classify': 'serving_default',
    'regress': 'regression',
    'predict': 'predict',
    'rows': 'predict',
}
PASSTHROUGH = (('customer_id', tf.string),)


def spec(case: str) -> SignatureSpec:
    """The seed model's signature a case's batches come from (pass-through `customer_id`)."""
    return SignatureSpec(SEED_MODEL, SIGNATURES[case], passthrough_features=PASSTHROUGH)


def batches(case: str) -> list[PredictionBatch]:
    """The case's batches: `classify`, `regress`, `predict` (PredictionLogs) or `rows`."""
    out, start = [], 0
    for size in BATCH_SIZES:
        out.append(
            PredictionBatch(
                records(size, start),
                _OUTPUTS[case](size, start),
                {'customer_id': _ids(size, start)},
                'golden',
                start,
            )
        )
        start += size
    return out
