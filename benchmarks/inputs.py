"""The input functions both implementations get: the same tf.data graph, byte for byte.

Records come from the fixture's own TFRecord files and are parsed in the graph with the feature
types reference.json records, so the input pipeline is identical for ours (on either lane) and
the original (TF 2.15). Records are cached in memory after the first pass, so steady-state timings
measure the model and the estimator's loop, not file reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from benchmarks.common import EXPORTS, MODELS, fixture_data

_KINDS = {'bytes_list': tf.string, 'float_list': tf.float32, 'int64_list': tf.int64}


def _columns(model: str) -> tuple[dict[str, tuple[Any, Any, list[int]]], str]:
    data = fixture_data(model)
    columns = {
        column['name']: (_KINDS[column['tf_example_kind']], column['dtype'], column['row_shape'])
        for column in [*data['features'], data['label']]
    }
    return columns, data['label']['name']


def records_path(model: str, split: str) -> str:
    return str(EXPORTS / MODELS[model] / 'data' / f'{split}.tfrecord')


def count_records(model: str, split: str) -> int:
    return int(fixture_data(model)[f'n_{split}'])


def _parser(model: str, with_label: bool) -> Callable[[Any], Any]:
    columns, label = _columns(model)
    spec = {name: tf.io.FixedLenFeature(shape, kind) for name, (kind, _, shape) in columns.items()}

    def parse(serialized: Any) -> Any:
        parsed = tf.io.parse_example(serialized, spec)
        values = {name: tf.cast(parsed[name], dtype) for name, (_, dtype, _) in columns.items()}
        labels = values.pop(label)
        return (values, labels) if with_label else values

    return parse


def train_input_fn(model: str, batch_size: int) -> Callable[[], Any]:
    """Endless batches of the train rows (the label under its own name, as the export expects)."""

    def input_fn() -> Any:
        records = tf.data.TFRecordDataset(records_path(model, 'train')).cache().repeat()
        batches = records.batch(batch_size, drop_remainder=True)
        return batches.map(_parser(model, with_label=True)).prefetch(2)

    return input_fn


def eval_input_fn(model: str, batch_size: int, repeats: int) -> Callable[[], Any]:
    """The eval rows `repeats` times, in batches (the last one may be smaller)."""

    def input_fn() -> Any:
        records = tf.data.TFRecordDataset(records_path(model, 'eval')).cache().repeat(repeats)
        return records.batch(batch_size).map(_parser(model, with_label=True)).prefetch(2)

    return input_fn


def predict_input_fn(model: str, batch_size: int, repeats: int) -> Callable[[], Any]:
    """The eval records `repeats` times as serialized tf.Examples under the serving input key."""

    def input_fn() -> Any:
        records = tf.data.TFRecordDataset(records_path(model, 'eval')).cache().repeat(repeats)
        return records.batch(batch_size).map(lambda r: {'inputs': r}).prefetch(2)

    return input_fn
