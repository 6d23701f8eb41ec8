"""EstimatorEvaluator's executor: artifacts and parameters in, typed values to plain functions.

Everything that can be wrong with the inputs (thresholds, metric names, examples) is checked
before any output file is written; the outputs are written last, all together.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import tensorflow as tf
from tfx import types
from tfx.dsl.components.base import base_executor

from savedmodel_estimator import SavedModelEstimator
from savedmodel_estimator.mode_keys import ModeKeys
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator.serving.tf_example_inputs import (
    InputColumn,
    make_input_fn,
    signature_columns,
)
from savedmodel_estimator_tfx.components.common import artifacts, example_inputs
from savedmodel_estimator_tfx.components.common import properties as properties_lib
from savedmodel_estimator_tfx.components.common.stage_executor import StageExecutor
from savedmodel_estimator_tfx.components.estimator_evaluator import spec, tfma_output, thresholds
from savedmodel_estimator_tfx.components.estimator_evaluator.options import EvalOptions


def open_evaluable(saved_model_dir: str, role: str) -> tuple[SavedModelReader, list[str]]:
    """Reads a model and the metric names its eval graph exports.

    Raises:
        SavedModelFormatError: (a ValueError) not a readable SavedModel.
        ValueError: the SavedModel has no eval MetaGraph.
    """
    reader = SavedModelReader(saved_model_dir)
    signature = reader.signature(ModeKeys.EVAL)
    if signature is None:
        modes = ', '.join(reader.available_modes) or 'none'
        raise ValueError(
            f"{role.capitalize()} SavedModel at {saved_model_dir!r} has no 'eval' MetaGraph "
            f"(found: {modes}). EstimatorEvaluator runs the model's own eval graph; re-export "
            'it with experimental_export_all_saved_models().'
        )
    return reader, thresholds.exported_metric_names(signature.outputs)


def evaluate(
    reader: SavedModelReader,
    files: Sequence[str],
    options: EvalOptions,
    columns: Sequence[InputColumn],
) -> dict[str, Any]:
    """Runs the model's eval graph over the files (to their end, or `options.steps` batches)."""
    input_fn = make_input_fn(files, columns, options.batch_size, num_epochs=1)
    # Summaries the core writes beside its (absent) checkpoints are not an output here.
    with tempfile.TemporaryDirectory() as model_dir:
        estimator = SavedModelEstimator(reader.export_dir, model_dir)
        with example_inputs.readable_data_errors(files, 'eval'):
            return estimator.evaluate(input_fn, steps=options.steps)


def check_inputs(
    readers: Mapping[str, SavedModelReader], files_by_split: Mapping[str, Sequence[str]]
) -> dict[str, list[InputColumn]]:
    """Peeks at the examples for every model's eval signature before anything runs.

    Returns:
        The columns to read for each model, by the same names as `readers`.
    """
    columns = {}
    for name, reader in readers.items():
        signature = reader.signature(ModeKeys.EVAL)
        assert signature is not None
        columns[name] = example_inputs.check_examples(
            files_by_split, signature_columns(signature, 'eval'), 'eval'
        )
    return columns


@dataclasses.dataclass(frozen=True)
class EvalInputs:
    """The model, examples and optional baseline (read only); the evaluation and blessing dirs.

    Fields are named for the spec's channels, so `StageExecutor` reads them from TFX's dicts.
    """

    model: types.Artifact
    examples: types.Artifact
    evaluation_uri: str
    blessing_uri: str
    baseline_model: types.Artifact | None = None


@dataclasses.dataclass(frozen=True)
class EvalResult:
    """The verdict, and the facts the blessing records (see `properties`)."""

    blessed: bool
    reason: str
    current: dict[str, Any]  # the model's metrics
    baseline: dict[str, Any] | None
    model: types.Artifact
    baseline_model: types.Artifact | None = None

    def properties(self) -> properties_lib.Properties:
        """The blessing's custom properties, as the TFX Evaluator records them, plus why."""
        blessing: dict[str, Any] = {
            artifacts.BLESSED_PROPERTY: 1 if self.blessed else 0,
            artifacts.BLESSING_REASON_PROPERTY: self.reason,
            artifacts.CURRENT_MODEL_PROPERTY: self.model.uri,
            artifacts.CURRENT_MODEL_ID_PROPERTY: self.model.id,
        }
        if self.baseline_model is not None:
            blessing[artifacts.BASELINE_MODEL_PROPERTY] = self.baseline_model.uri
            blessing[artifacts.BASELINE_MODEL_ID_PROPERTY] = self.baseline_model.id
        return {spec.BLESSING_KEY: blessing}


def run(options: EvalOptions, inputs: EvalInputs) -> EvalResult:
    """Evaluates the model (and the baseline) with their eval graphs; blesses or not, and why.

    Raises:
        ValueError: a model has no eval graph or lacks a metric a threshold names, or the
            examples do not fit an eval signature; nothing is written then.
    """
    model, baseline = inputs.model, inputs.baseline_model
    locations = {tfma_output.CANDIDATE if baseline else '': artifacts.model_path(model)}
    if baseline is not None:
        locations[tfma_output.BASELINE] = artifacts.model_path(baseline)
    readers = {}
    for name, path in locations.items():
        role = 'baseline model' if name == tfma_output.BASELINE else 'model'
        reader, exported = open_evaluable(path, role)
        thresholds.check_metric_names(
            options.thresholds, exported, path, baseline=(name == tfma_output.BASELINE)
        )
        readers[name] = reader
    files_by_split = example_inputs.split_files(inputs.examples, options.eval_splits)
    columns = check_inputs(readers, files_by_split)

    files = [f for split_files in files_by_split.values() for f in split_files]
    results = {
        name: evaluate(reader, files, options, columns[name]) for name, reader in readers.items()
    }
    current = results[tfma_output.CANDIDATE if baseline else '']
    base_metrics = results.get(tfma_output.BASELINE)
    checks = thresholds.check_thresholds(options.thresholds, current, base_metrics)
    blessed, reason = thresholds.decide(checks, options.thresholds)

    tfma_output.write_evaluation(
        inputs.evaluation_uri,
        current=current,
        baseline=base_metrics,
        thresholds=options.thresholds,
        checks=checks,
        blessed=blessed,
        reason=reason,
        model_locations=locations,
        data_files=files,
    )
    # The TFX Evaluator's marker file, so stock Pusher honours the blessing.
    marker = artifacts.BLESSED_FILE if blessed else artifacts.NOT_BLESSED_FILE
    with tf.io.gfile.GFile(os.path.join(inputs.blessing_uri, marker), 'w') as f:
        f.write('')  # an empty write still creates the file, on GCS too
    return EvalResult(blessed, reason, current, base_metrics, model, baseline)


class Executor(StageExecutor, base_executor.BaseExecutor):
    """Evaluates the model (and the baseline) with their eval graphs; blesses or not, and why."""

    options_type = EvalOptions
    inputs_type = EvalInputs

    def run(self, options: EvalOptions, inputs: EvalInputs) -> EvalResult:
        return run(options, inputs)
