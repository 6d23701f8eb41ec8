"""ContinueTrainer on bad data: refused before anything is written, naming file, record and feature."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import tensorflow as tf
from tfx.types import standard_artifacts

from tests.integration.golden_artifacts import (
    EXPORTS,
    fixture_records,
    listing,
    make_examples,
    make_model,
    make_output,
    write_records,
)
from tests.integration.test_continue_trainer import LINEAR, SEED_MODEL, run

pytestmark = pytest.mark.slow


# -- bad inputs -------------------------------------------------------------------------------


def _without(record: bytes, feature: str, replacement: Any = None) -> bytes:
    example = tf.train.Example.FromString(record)
    del example.features.feature[feature]
    if replacement is not None:
        example.features.feature[feature].CopyFrom(replacement)
    return example.SerializeToString()


def _with_value(record: bytes, feature: str, value: float) -> bytes:
    example = tf.train.Example.FromString(record)
    example.features.feature[feature].float_list.value[:] = [value]
    return example.SerializeToString()


BYTES_FEATURE = tf.train.Feature(bytes_list=tf.train.BytesList(value=[b'x']))


@pytest.mark.parametrize(
    ('case', 'match'),
    [
        ('predict_only', r"has no 'train' MetaGraph \(found: infer\)\. Continue training needs"),
        (
            'missing_feature',
            r"Feature 'feature2' in examples '.*Split-train.*' record 0 is missing",
        ),
        (
            'wrong_kind',
            r"Feature 'feature2' .* record 0 is a bytes_list, but the 'train' "
            r'signature expects float32 with shape \[\]',
        ),
        ('not_a_tfrecord', r"TFRecord file '.*Split-train.*' is corrupt or truncated"),
        ('empty_split', r"Split 'train' holds no records"),
        ('no_split_files', r"Split 'train' of the Examples artifact at .* is empty"),
        ('unknown_split', r"has no split 'test' \(splits: \['train', 'eval'\]\)"),
        ('schema_type', r"Feature 'feature2' is BYTES in the schema at '.*schema.pbtxt', but"),
        ('both_step_kinds', r'needs exactly one of train_steps and max_steps'),
        (
            'nan_beyond_the_peek',
            r"Feature 'feature2' in examples '.*Split-train.*' record 150 is nan: the 'train' "
            r'data must be finite\. .* or allow them explicitly \(ContinueTrainer\('
            r'allow_non_finite=True\)',
        ),
        ('inf_label', r"Feature 'label' in examples '.*Split-train.*' record 3 is -inf"),
    ],
)
def test_bad_input_fails_before_writing(tmp_path: pathlib.Path, case: str, match: str) -> None:
    records = fixture_records(SEED_MODEL, 'train')
    base = make_model(
        tmp_path / 'base',
        SEED_MODEL,
        EXPORTS / 'dnn_classifier_predict_only' / 'saved_model' if case == 'predict_only' else None,
    )
    splits: dict[str, list[bytes]] = {'train': records, 'eval': records[:5]}
    if case == 'missing_feature':
        splits['train'] = [_without(r, 'feature2') for r in records]
    if case == 'wrong_kind':
        splits['train'] = [_without(r, 'feature2', BYTES_FEATURE) for r in records]
    if case == 'empty_split':
        splits['train'] = []
    if case == 'nan_beyond_the_peek':
        splits['train'][150] = _with_value(records[150], 'feature2', float('nan'))
    if case == 'inf_label':
        splits['train'][3] = _with_value(records[3], 'label', float('-inf'))
    examples = make_examples(tmp_path / 'examples', SEED_MODEL, splits)
    split_dir = tmp_path / 'examples' / 'Split-train'
    if case == 'not_a_tfrecord':
        (split_dir / 'data_tfrecord-00000-of-00001.gz').write_bytes(b'not a tfrecord' * 40)
    if case == 'no_split_files':
        (split_dir / 'data_tfrecord-00000-of-00001.gz').unlink()
    schema = None
    if case == 'schema_type':
        schema = make_output(standard_artifacts.Schema, tmp_path / 'schema')
        (tmp_path / 'schema' / 'schema.pbtxt').write_text(
            'feature { name: "feature1" type: BYTES }\n'
            'feature { name: "feature2" type: BYTES }\n'
            'feature { name: "label" type: FLOAT }\n'
        )
    params: dict[str, Any] = {'train_steps': 2}
    if case == 'unknown_split':
        params['train_splits'] = '["test"]'
    if case == 'both_step_kinds':
        params['max_steps'] = 100

    with pytest.raises(ValueError, match=match):
        run(tmp_path, base, examples, schema=schema, **params)
    assert listing(tmp_path / 'model') == []
    assert listing(tmp_path / 'model_run') == []


@pytest.mark.parametrize(
    ('case', 'match'),
    [
        ('corrupt', r"Reading the examples \['.*data.tfrecord'\] failed: a file is corrupt"),
        (
            'missing_feature',
            r"A record in the examples \['.*data.tfrecord'\] does not match the "
            r"'train' signature \(.*feature2.*\)\. The first 100 records",
        ),
    ],
)
def test_bad_record_beyond_the_peek_is_reported_with_the_files(
    tmp_path: pathlib.Path, case: str, match: str
) -> None:
    base = make_model(tmp_path / 'base', SEED_MODEL)
    examples = make_examples(tmp_path / 'examples', SEED_MODEL, {'train': []})
    plain = tmp_path / 'examples' / 'Split-train' / 'data.tfrecord'
    (tmp_path / 'examples' / 'Split-train' / 'data_tfrecord-00000-of-00001.gz').unlink()
    records = fixture_records(SEED_MODEL, 'train')
    if case == 'missing_feature':
        records = records[:150] + [_without(r, 'feature2') for r in records[150:]]
    write_records(plain, records, gzip=False)
    if case == 'corrupt':
        data = plain.read_bytes()
        cut = len(data) * 2 // 3
        plain.write_bytes(data[:cut] + b'\xff' * 64 + data[cut + 64 :])

    with pytest.raises(ValueError, match=match):
        run(tmp_path, base, examples, train_steps=20, batch_size=50)
    assert listing(tmp_path / 'model') == []


def test_non_finite_values_are_trained_on_only_when_allowed(tmp_path: pathlib.Path) -> None:
    """Allowed, the NaN reaches the model: the core's NaN-loss guard is what stops it here.

    A linear model, so the NaN reaches the loss (a DNN's ReLU can turn a NaN input into 0).
    """
    records = fixture_records(LINEAR, 'train')
    records[10] = _with_value(records[10], 'x2', float('nan'))
    base = make_model(tmp_path / 'base', LINEAR)
    examples = make_examples(tmp_path / 'examples', LINEAR, {'train': records})
    with pytest.raises(ValueError, match=r"Feature 'x2' in examples .* record 10 is nan"):
        run(tmp_path, base, examples, train_steps=5, batch_size=20)
    with pytest.raises(RuntimeError, match='NaN loss during training'):
        run(tmp_path, base, examples, train_steps=5, batch_size=20, allow_non_finite=1)
    assert listing(tmp_path / 'model') == []
