"""Writing an evaluation in the files TFMA's loaders read, plus a plain JSON summary.

Layout of a ModelEvaluation written here (`tfma.load_metrics(uri)`,
`tfma.load_validation_result(uri)` and `tfma.load_eval_result(uri)` read it):

* `metrics-00000-of-00001.tfrecord`: one `MetricsForSlice` for the overall slice; metric names
  as the eval graph exports them (`metrics/accuracy`, `loss`, `global_step`). With a baseline,
  the model's metrics are under model name `candidate`, the baseline's under `baseline`, and
  the differences under `candidate` with `is_diff`, as TFMA names them.
* `validations.tfrecord`: one `ValidationResult` (`validation_ok` is the blessing).
* `eval_config.json`: the `EvalRun` (thresholds as TFMA thresholds, model locations, data).
* `metrics.json`: current and baseline metrics, each check's outcome, the blessing and why.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow_model_analysis import version as tfma_version
from tensorflow_model_analysis.proto import config_pb2, metrics_for_slice_pb2, validation_result_pb2
from tensorflow_model_analysis.writers import metrics_plots_and_validations_writer as tfma_writer

from savedmodel_estimator_tfx.components.common import artifacts
from savedmodel_estimator_tfx.components.estimator_evaluator.thresholds import (
    HIGHER_IS_BETTER,
    Check,
    MetricThreshold,
)

CANDIDATE = 'candidate'
BASELINE = 'baseline'
METRICS_FILE = 'metrics-00000-of-00001.tfrecord'
VALIDATIONS_FILE = 'validations.tfrecord'
EVAL_CONFIG_FILE = 'eval_config.json'


def _key(name: str, model_name: str, is_diff: bool = False) -> metrics_for_slice_pb2.MetricKey:
    return metrics_for_slice_pb2.MetricKey(name=name, model_name=model_name, is_diff=is_diff)


def metrics_for_slice(
    current: Mapping[str, Any], baseline: Mapping[str, Any] | None
) -> metrics_for_slice_pb2.MetricsForSlice:
    """The overall slice's metrics, the baseline's and their differences."""
    result = metrics_for_slice_pb2.MetricsForSlice(slice_key=metrics_for_slice_pb2.SliceKey())
    model_name = '' if baseline is None else CANDIDATE

    def add(key: metrics_for_slice_pb2.MetricKey, value: Any) -> None:
        proto = tfma_writer.convert_metric_value_to_proto(value)
        result.metric_keys_and_values.add(key=key, value=proto)

    for name in sorted(current):
        add(_key(name, model_name), current[name])
    for name in sorted(baseline or {}):
        assert baseline is not None
        add(_key(name, BASELINE), baseline[name])
        if name in current and np.ndim(current[name]) == 0 and np.ndim(baseline[name]) == 0:
            add(_key(name, CANDIDATE, is_diff=True), float(current[name]) - float(baseline[name]))
    return result


def _tfma_threshold(threshold: MetricThreshold) -> config_pb2.MetricThreshold:
    proto = config_pb2.MetricThreshold()
    if threshold.lower_bound is not None:
        proto.value_threshold.lower_bound.value = threshold.lower_bound
    if threshold.upper_bound is not None:
        proto.value_threshold.upper_bound.value = threshold.upper_bound
    if threshold.change is not None:
        change = threshold.change
        proto.change_threshold.direction = (
            config_pb2.MetricDirection.HIGHER_IS_BETTER
            if change.direction == HIGHER_IS_BETTER
            else config_pb2.MetricDirection.LOWER_IS_BETTER
        )
        if change.absolute is not None:
            proto.change_threshold.absolute.value = change.absolute
        if change.relative is not None:
            proto.change_threshold.relative.value = change.relative
    return proto


def validation_result(
    checks: Sequence[Check], thresholds: Sequence[MetricThreshold], blessed: bool, baseline: bool
) -> validation_result_pb2.ValidationResult:
    """The ValidationResult TFMA would write: failures on the overall slice."""
    result = validation_result_pb2.ValidationResult(validation_ok=blessed)
    result.rubber_stamp = not baseline and any(t.change for t in thresholds)
    by_metric = {t.metric: _tfma_threshold(t) for t in thresholds}
    failures = [c for c in checks if c.passed is False]
    if failures:
        per_slice = result.metric_validations_per_slice.add(
            slice_key=metrics_for_slice_pb2.SliceKey()
        )
        for check in failures:
            is_change = check.kind.startswith('change')
            model_name = CANDIDATE if baseline else ''
            full = by_metric[check.metric]
            threshold = config_pb2.MetricThreshold()
            if is_change:
                threshold.change_threshold.CopyFrom(full.change_threshold)
            else:
                threshold.value_threshold.CopyFrom(full.value_threshold)
            failure = per_slice.failures.add(
                metric_key=_key(check.metric, model_name, is_diff=is_change),
                metric_threshold=threshold,
                message=check.message,
            )
            failure.metric_value.double_value.value = float(check.value or 0.0)
    if thresholds:
        details = result.validation_details.slicing_details.add(num_matching_slices=1)
        details.slicing_spec.SetInParent()
    return result


def eval_run(
    thresholds: Sequence[MetricThreshold],
    model_locations: Mapping[str, str],
    data_location: str,
) -> config_pb2.EvalRun:
    baseline = BASELINE in model_locations
    config = config_pb2.EvalConfig(slicing_specs=[config_pb2.SlicingSpec()])
    for name in model_locations:
        config.model_specs.add(name=name, is_baseline=(name == BASELINE))
    if thresholds:
        spec = config.metrics_specs.add()
        if baseline:
            spec.model_names.extend([CANDIDATE, BASELINE])
        for threshold in thresholds:
            spec.thresholds[threshold.metric].CopyFrom(_tfma_threshold(threshold))
    return config_pb2.EvalRun(
        eval_config=config,
        version=tfma_version.VERSION,
        data_location=data_location,
        file_format='tfrecord',
        model_locations=dict(model_locations),
    )


def _json_value(value: Any) -> Any:
    """A metric as strict JSON: numbers and lists; NaN and infinities as null."""
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if value is None or isinstance(value, bool | str):
        return value
    array = np.asarray(value)
    if array.dtype.kind in 'SUO':
        return [v.decode() if isinstance(v, bytes) else str(v) for v in array.ravel()]
    if array.ndim:
        return [_json_value(v) for v in array.tolist()]
    number = array.item()
    return number if np.isfinite(number) else None


def write_evaluation(
    uri: str,
    *,
    current: Mapping[str, Any],
    baseline: Mapping[str, Any] | None,
    thresholds: Sequence[MetricThreshold],
    checks: Sequence[Check],
    blessed: bool,
    reason: str,
    model_locations: Mapping[str, str],
    data_files: Sequence[str],
) -> None:
    """Writes the evaluation files into the ModelEvaluation directory `uri`."""
    has_baseline = baseline is not None
    records = {
        METRICS_FILE: metrics_for_slice(current, baseline),
        VALIDATIONS_FILE: validation_result(checks, thresholds, blessed, has_baseline),
    }
    for name, proto in records.items():
        with tf.io.TFRecordWriter(os.path.join(uri, name)) as writer:
            writer.write(proto.SerializeToString())
    run = eval_run(thresholds, model_locations, ','.join(data_files))
    with tf.io.gfile.GFile(os.path.join(uri, EVAL_CONFIG_FILE), 'w') as f:
        f.write(json_format.MessageToJson(run))
    summary = {
        'blessed': blessed,
        'reason': reason,
        'model': model_locations.get(CANDIDATE) or model_locations.get(''),
        'baseline_model': model_locations.get(BASELINE),
        'data': list(data_files),
        'metrics': _json_value(dict(current)),
        'baseline_metrics': _json_value(dict(baseline)) if baseline is not None else None,
        'checks': _json_value([c.to_json() for c in checks]),
    }
    summary_path = os.path.join(uri, artifacts.EVALUATION_SUMMARY_FILE)
    with tf.io.gfile.GFile(summary_path, 'w') as f:
        f.write(json.dumps(summary, indent=2, sort_keys=True, allow_nan=False))
