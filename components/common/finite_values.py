"""Refusing NaN and infinite feature values before a model trains or is evaluated on them.

One NaN in one record makes a training step's loss NaN; the optimizer then writes NaN into the
variables it updates, and from that step on the model predicts a constant. In evaluation data, a
NaN makes the metrics NaN. Neither fails by itself, so the records are scanned first: every
float feature the signature reads, in every record of every file (batched in a TensorFlow graph,
about a microsecond a record), and the first non-finite value is reported with its file, record
and feature.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import tensorflow as tf

from savedmodel_estimator import tf_errors
from savedmodel_estimator.serving.tf_example_inputs import ExampleFormatError, InputColumn

# Records parsed per graph step while scanning.
SCAN_BATCH = 4096
FLOAT_KIND = 'float_list'
CONSEQUENCE = (
    'One NaN or infinity either stops training with a NaN loss or quietly turns the model into '
    'a constant predictor, and makes evaluation metrics NaN.'
)


class NonFiniteValueError(ExampleFormatError):
    """A feature holds NaN or an infinity where the data must be finite."""


@dataclasses.dataclass(frozen=True)
class NonFiniteValue:
    """Where the first non-finite value is: file, record (counted from 0) and feature."""

    path: str
    record: int
    feature: str
    value: float

    def describe(self) -> str:
        return (
            f'Feature {self.feature!r} in examples {self.path!r} record {self.record} is '
            f'{_spell(self.value)}'
        )


def _spell(value: float) -> str:
    if math.isnan(value):
        return 'nan'
    return 'inf' if value > 0 else '-inf'


def float_features(columns: Sequence[InputColumn]) -> list[str]:
    """The names of the columns the records store as float lists (the only kind NaN fits)."""
    return [column.name for column in columns if column.kind == FLOAT_KIND]


def find_non_finite(files: Sequence[str], features: Sequence[str]) -> NonFiniteValue | None:
    """The first NaN or infinity among `features`, in file order then record order, or None.

    A file whose records cannot be parsed as floats for these features is passed over: the
    record checks and the run itself report those with their own messages.
    """
    if not features:
        return None
    for path in files:
        found = _scan_file(path, features)
        if found is not None:
            return found
    return None


def _scan_file(path: str, features: Sequence[str]) -> NonFiniteValue | None:
    compression = 'GZIP' if path.endswith('.gz') else ''
    spec = {name: tf.io.VarLenFeature(tf.float32) for name in features}

    def first_bad(serialized: tf.Tensor) -> dict[str, tuple[tf.Tensor, tf.Tensor]]:
        parsed = tf.io.parse_example(serialized, spec)
        out = {}
        for name, sparse in parsed.items():
            bad = tf.logical_not(tf.math.is_finite(sparse.values))
            rows = tf.boolean_mask(sparse.indices[:, 0], bad)
            values = tf.boolean_mask(sparse.values, bad)
            out[name] = (rows[:1], values[:1])
        return out

    # A graph of its own: the scan works whether or not the caller runs eagerly.
    with tf.Graph().as_default():
        dataset = tf.data.TFRecordDataset(path, compression_type=compression)
        batches = dataset.batch(SCAN_BATCH).map(first_bad)
        next_batch = tf.compat.v1.data.make_one_shot_iterator(batches).get_next()
        with tf.compat.v1.Session() as session:
            offset = 0
            while True:
                try:
                    found = session.run(next_batch)
                except tf.errors.OutOfRangeError:
                    return None
                except tf.errors.InvalidArgumentError:
                    return None  # a feature stored as another kind: not this check's to report
                except tf.errors.DataLossError as err:
                    raise ExampleFormatError(
                        f'Reading the examples {[path]} failed: a file is corrupt or truncated '
                        f'({tf_errors.last_line(err.message)}). Regenerate the examples.'
                    ) from err
                hits = [
                    (int(rows[0]), name, float(values[0]))
                    for name, (rows, values) in found.items()
                    if len(rows)
                ]
                if hits:
                    row, name, value = min(hits, key=lambda hit: (hit[0], features.index(hit[1])))
                    return NonFiniteValue(path, offset + row, name, value)
                offset += SCAN_BATCH


def check_finite(
    files_by_split: Mapping[str, Sequence[str]],
    columns: Sequence[InputColumn],
    signature_name: str,
    how_to_allow: str,
) -> None:
    """Scans every record of every split for NaN or infinity in the float columns.

    Args:
        files_by_split: The files to scan, by split.
        columns: The columns the signature reads (as `check_examples` returns them).
        signature_name: The signature, for the message ('train', 'eval').
        how_to_allow: How the caller lets non-finite values through, for the message.

    Raises:
        NonFiniteValueError: (a ValueError) naming the file, record and feature.
    """
    features = float_features(columns)
    for files in files_by_split.values():
        found = find_non_finite(files, features)
        if found is not None:
            raise NonFiniteValueError(
                f'{found.describe()}: the {signature_name!r} data must be finite. {CONSEQUENCE} '
                f'Fix or drop the record, or {how_to_allow}.'
            )
