"""EstimatorEvaluator on bad input: refused, naming what is wrong, with nothing written."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import tensorflow as tf

from tests.integration.golden_artifacts import (
    EXPORTS,
    fixture_records,
    listing,
    make_examples,
    make_model,
)
from tests.integration.test_estimator_evaluator import MODEL, run

pytestmark = pytest.mark.slow


# -- bad inputs -------------------------------------------------------------------------------


def _without_feature2(record: bytes, replacement: tf.train.Feature | None = None) -> bytes:
    example = tf.train.Example.FromString(record)
    del example.features.feature['feature2']
    if replacement is not None:
        example.features.feature['feature2'].CopyFrom(replacement)
    return example.SerializeToString()


@pytest.mark.parametrize(
    ('case', 'match'),
    [
        (
            'unknown_metric',
            r"metric_thresholds names 'metrics/f1', which the model at '.*' does "
            r"not export\. Its metrics: \['global_step', 'loss', 'metrics/accuracy'",
        ),
        (
            'baseline_lacks_metric',
            r"names 'metrics/accuracy', which the baseline model at "
            r"'.*' does not export\. Its metrics: \['global_step', 'loss', "
            r"'metrics/average_loss'",
        ),
        (
            'schema_invalid',
            r"metric_thresholds is invalid at loss/change/direction: 'up' is not "
            r"one of \['higher_is_better', 'lower_is_better'\]",
        ),
        ('bounds_crossed', r"metric_thresholds for 'loss' has lower_bound 3 above upper_bound 2"),
        ('predict_only', r"Model SavedModel at '.*' has no 'eval' MetaGraph \(found: infer\)"),
        ('missing_feature', r"Feature 'feature2' in examples '.*Split-eval.*' record 0 is missing"),
        (
            'wrong_kind',
            r"Feature 'feature2' .* is a bytes_list, but the 'eval' signature expects "
            r'float32',
        ),
        ('corrupt_tfrecord', r"TFRecord file '.*Split-eval.*' is corrupt or truncated"),
        ('empty_split', r"Split 'eval' holds no records"),
    ],
)
def test_bad_input_fails_and_writes_nothing(tmp_path: pathlib.Path, case: str, match: str) -> None:
    records = fixture_records(MODEL, 'eval')
    splits: dict[str, list[bytes]] = {'train': records[:3], 'eval': records}
    if case == 'missing_feature':
        splits['eval'] = [_without_feature2(r) for r in records]
    if case == 'wrong_kind':
        wrong = tf.train.Feature(bytes_list=tf.train.BytesList(value=[b'x']))
        splits['eval'] = [_without_feature2(r, wrong) for r in records]
    if case == 'empty_split':
        splits['eval'] = []
    examples = make_examples(tmp_path / 'examples', MODEL, splits)
    if case == 'corrupt_tfrecord':
        path = tmp_path / 'examples' / 'Split-eval' / 'data_tfrecord-00000-of-00001.gz'
        path.write_bytes(b'\x00garbage' * 64)
    saved_model = (
        EXPORTS / 'dnn_classifier_predict_only' / 'saved_model' if case == 'predict_only' else None
    )
    model = make_model(tmp_path / 'model', MODEL, saved_model)
    baseline = (
        make_model(tmp_path / 'baseline', 'linear_regressor')
        if case == 'baseline_lacks_metric'
        else None
    )
    thresholds: Any = {'loss': {'upper_bound': 2.0}}
    if case == 'unknown_metric':
        thresholds = {'metrics/f1': {'lower_bound': 0.5}}
    if case == 'baseline_lacks_metric':
        thresholds = {
            'metrics/accuracy': {'change': {'direction': 'higher_is_better', 'absolute': 0}}
        }
    if case == 'schema_invalid':
        thresholds = {'loss': {'change': {'direction': 'up', 'absolute': 0}}}
    if case == 'bounds_crossed':
        thresholds = {'loss': {'lower_bound': 3, 'upper_bound': 2}}

    with pytest.raises(ValueError, match=match):
        run(tmp_path, model, examples, baseline, metric_thresholds=thresholds)
    assert listing(tmp_path / 'evaluation') == []
    assert listing(tmp_path / 'blessing') == []
