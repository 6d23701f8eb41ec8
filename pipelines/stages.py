"""Each pipeline stage alone, on plain directories: what `sme import|train|evaluate|predict` run.

A stage runs its component's executor directly, with artifacts made from the paths given, so a
stage here does exactly what it does in a pipeline, without ML Metadata or an orchestrator (as a
Kubeflow container component or a shell script would call it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import tensorflow as tf
from tfx.dsl.components.base import base_beam_executor
from tfx.types import standard_artifacts

from savedmodel_estimator.mode_keys import ModeKeys
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator.serving.tf_example_inputs import signature_columns
from savedmodel_estimator_tfx.components.batch_predictor import executor as predictor_executor
from savedmodel_estimator_tfx.components.batch_predictor import spec as predictor_spec
from savedmodel_estimator_tfx.components.common import artifacts, example_inputs, finite_values
from savedmodel_estimator_tfx.components.continue_trainer import executor as trainer_executor
from savedmodel_estimator_tfx.components.continue_trainer import spec as trainer_spec
from savedmodel_estimator_tfx.components.estimator_evaluator import executor as evaluator_executor
from savedmodel_estimator_tfx.components.estimator_evaluator import spec as evaluator_spec
from savedmodel_estimator_tfx.components.saved_model_importer import executor as importer_executor
from savedmodel_estimator_tfx.components.saved_model_importer import spec as importer_spec


def _artifact(artifact_type: Any, uri: str) -> Any:
    artifact = artifact_type()
    artifact.uri = uri if '://' in uri else os.path.abspath(uri)
    return artifact


def _output(artifact_type: Any, uri: str) -> Any:
    tf.io.gfile.makedirs(uri)
    return _artifact(artifact_type, uri)


def examples_artifact(path: str) -> Any:
    """An Examples artifact over a directory of `Split-<name>/` folders of TFRecord files.

    Raises:
        ValueError: the directory has no `Split-*` folder.
    """
    splits = (
        sorted(
            name[len('Split-') :].rstrip('/')
            for name in tf.io.gfile.listdir(path)
            if name.startswith('Split-')
        )
        if tf.io.gfile.isdir(path)
        else []
    )
    if not splits:
        raise ValueError(
            f'Examples directory {path!r} has no Split-<name>/ folders. Arrange TFRecord files of '
            'tf.Example as <dir>/Split-train/*.gz, <dir>/Split-eval/*.gz, as ExampleGen writes.'
        )
    examples = _artifact(standard_artifacts.Examples, path)
    examples.split_names = json.dumps(splits)
    return examples


def properties(artifact: Any) -> dict[str, Any]:
    """An artifact's custom properties as plain values."""
    return {
        name: artifact.get_custom_property(name)
        for name in artifact.mlmd_artifact.custom_properties
    }


def run_import(
    source: str,
    out: str,
    *,
    required_modes: Sequence[str] = (),
    allow_unsafe_ops: Sequence[str] = (),
    emit_schema: str | None = None,
) -> dict:
    outputs = {importer_spec.MODEL_KEY: [_output(standard_artifacts.Model, out)]}
    if emit_schema:
        outputs[importer_spec.SCHEMA_KEY] = [_output(standard_artifacts.Schema, emit_schema)]
    importer_executor.Executor().Do(
        {},
        outputs,
        {
            importer_spec.SOURCE_URI_KEY: source,
            importer_spec.REQUIRED_MODES_KEY: json.dumps(list(required_modes)),
            importer_spec.ALLOW_UNSAFE_OPS_KEY: json.dumps(list(allow_unsafe_ops)),
            importer_spec.EMIT_SCHEMA_KEY: int(bool(emit_schema)),
        },
    )
    return {key: properties(artifacts[0]) for key, artifacts in outputs.items()}


def run_train(model: str, examples: str, out: str, run_dir: str, **options: Any) -> dict:
    """`options`: the ContinueTrainer parameters (train_steps, max_steps, batch_size, ...)."""
    outputs = {
        trainer_spec.MODEL_KEY: [_output(standard_artifacts.Model, out)],
        trainer_spec.MODEL_RUN_KEY: [_output(standard_artifacts.ModelRun, run_dir)],
    }
    inputs = {
        trainer_spec.BASE_MODEL_KEY: [_artifact(standard_artifacts.Model, model)],
        trainer_spec.EXAMPLES_KEY: [examples_artifact(examples)],
    }
    props = {
        k: (json.dumps(list(v)) if isinstance(v, (list, tuple)) else v)
        for k, v in options.items()
        if v is not None
    }
    trainer_executor.Executor().Do(inputs, outputs, props)
    return {key: properties(artifacts[0]) for key, artifacts in outputs.items()}


def run_evaluate(
    model: str,
    examples: str,
    out: str,
    blessing: str,
    *,
    baseline: str | None = None,
    metric_thresholds: str | None = None,
    eval_splits: Sequence[str] = ('eval',),
    batch_size: int | None = None,
    allow_non_finite: bool = False,
) -> dict:
    """Evaluates; unless `allow_non_finite`, first refuses NaN or infinite values in the data.

    Raises:
        NonFiniteValueError: (a ValueError) naming the file, record and feature.
    """
    model_artifact = _artifact(standard_artifacts.Model, model)
    examples_in = examples_artifact(examples)
    if not allow_non_finite:
        _check_finite_eval_data(model_artifact, examples_in, eval_splits)
    inputs = {
        evaluator_spec.MODEL_KEY: [model_artifact],
        evaluator_spec.EXAMPLES_KEY: [examples_in],
    }
    if baseline:
        inputs[evaluator_spec.BASELINE_MODEL_KEY] = [_artifact(standard_artifacts.Model, baseline)]
    outputs = {
        evaluator_spec.EVALUATION_KEY: [_output(standard_artifacts.ModelEvaluation, out)],
        evaluator_spec.BLESSING_KEY: [_output(standard_artifacts.ModelBlessing, blessing)],
    }
    props: dict[str, Any] = {evaluator_spec.EVAL_SPLITS_KEY: json.dumps(list(eval_splits))}
    if metric_thresholds:
        props[evaluator_spec.METRIC_THRESHOLDS_KEY] = metric_thresholds
    if batch_size:
        props[evaluator_spec.BATCH_SIZE_KEY] = batch_size
    evaluator_executor.Executor().Do(inputs, outputs, props)
    return {key: properties(artifacts[0]) for key, artifacts in outputs.items()}


def _check_finite_eval_data(model: Any, examples: Any, splits: Sequence[str]) -> None:
    """Scans every record of the splits for NaN or infinity in what the eval graph reads.

    EstimatorEvaluator itself checks the records' kinds, not their values; a NaN would make
    every metric NaN.
    """
    signature = SavedModelReader(artifacts.model_path(model)).signature(ModeKeys.EVAL)
    if signature is None:
        return  # the evaluator reports the missing eval graph
    files = example_inputs.split_files(examples, splits)
    columns = example_inputs.check_examples(files, signature_columns(signature, 'eval'), 'eval')
    finite_values.check_finite(files, columns, 'eval', 'pass --allow-non-finite')


def run_predict(
    model: str,
    examples: str,
    out: str,
    *,
    blessing: str | None = None,
    beam_pipeline_args: Sequence[str] = (),
    **options: Any,
) -> dict:
    """`options`: the BatchPredictor parameters (signature_name, splits, output_formats, ...)."""
    inputs = {
        predictor_spec.MODEL_KEY: [_artifact(standard_artifacts.Model, model)],
        predictor_spec.EXAMPLES_KEY: [examples_artifact(examples)],
    }
    if blessing:
        # The predictor reads the BLESSED / NOT_BLESSED file, as for blessings without properties.
        inputs[predictor_spec.MODEL_BLESSING_KEY] = [
            _artifact(standard_artifacts.ModelBlessing, blessing)
        ]
    outputs = {
        predictor_spec.INFERENCE_RESULT_KEY: [_output(standard_artifacts.InferenceResult, out)]
    }
    props = {
        k: (json.dumps(list(v)) if isinstance(v, (list, tuple)) else v)
        for k, v in options.items()
        if v is not None
    }
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=list(beam_pipeline_args)
    )
    predictor_executor.Executor(context).Do(inputs, outputs, props)
    return {key: properties(artifacts[0]) for key, artifacts in outputs.items()}
