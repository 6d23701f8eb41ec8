"""Each pipeline stage alone, on plain directories: what `sme import|train|evaluate|predict` run.

A stage calls its component's typed entry point, `run(options, inputs)` (what the executor's
`Do` adapts TFX's dicts to), with input artifacts made from the paths given, so a stage here does
exactly what it does in a pipeline, without ML Metadata or an orchestrator (as a Kubeflow
container component or a shell script would call it). Each returns its outputs' custom
properties, as the executor records them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import tensorflow as tf
from tfx.types import standard_artifacts

from savedmodel_estimator.mode_keys import ModeKeys
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator.serving.tf_example_inputs import signature_columns
from savedmodel_estimator_tfx.components.batch_predictor import executor as predictor_executor
from savedmodel_estimator_tfx.components.batch_predictor import options as predictor_options
from savedmodel_estimator_tfx.components.batch_predictor import spec as predictor_spec
from savedmodel_estimator_tfx.components.common import artifacts, example_inputs, finite_values
from savedmodel_estimator_tfx.components.common import properties as properties_lib
from savedmodel_estimator_tfx.components.continue_trainer import executor as trainer_executor
from savedmodel_estimator_tfx.components.continue_trainer import options as trainer_options
from savedmodel_estimator_tfx.components.continue_trainer import spec as trainer_spec
from savedmodel_estimator_tfx.components.estimator_evaluator import executor as evaluator_executor
from savedmodel_estimator_tfx.components.estimator_evaluator import options as evaluator_options
from savedmodel_estimator_tfx.components.estimator_evaluator import spec as evaluator_spec
from savedmodel_estimator_tfx.components.saved_model_importer import executor as importer_executor
from savedmodel_estimator_tfx.components.saved_model_importer import options as importer_options
from savedmodel_estimator_tfx.components.saved_model_importer import spec as importer_spec


def _artifact(artifact_type: Any, uri: str) -> Any:
    artifact = artifact_type()
    artifact.uri = uri if '://' in uri else os.path.abspath(uri)
    return artifact


def _output_uri(uri: str) -> str:
    """An output directory, created, as an artifact's uri would hold it."""
    tf.io.gfile.makedirs(uri)
    return uri if '://' in uri else os.path.abspath(uri)


def _outputs(keys: Sequence[str], recorded: properties_lib.Properties) -> dict:
    """Each output's custom properties, as the executor would record them on its artifacts."""
    return {key: dict(recorded.get(key, {})) for key in keys}


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


def run_import(
    options: importer_options.ImportOptions, out: str, *, schema_out: str | None = None
) -> dict:
    """Imports as SavedModelImporter does into the Model directory `out` (and a Schema)."""
    inputs = importer_executor.ImportInputs(
        _output_uri(out), _output_uri(schema_out) if schema_out else None
    )
    result = importer_executor.run(options, inputs)
    outputs = [importer_spec.MODEL_KEY] + ([importer_spec.SCHEMA_KEY] if schema_out else [])
    return _outputs(outputs, result.properties())


def run_train(
    options: trainer_options.TrainOptions, model: str, examples: str, out: str, run_dir: str
) -> dict:
    """Trains as ContinueTrainer does: the Model `model` on `examples`, into `out` and `run_dir`."""
    inputs = trainer_executor.TrainInputs(
        base_model=_artifact(standard_artifacts.Model, model),
        examples=examples_artifact(examples),
        model_uri=_output_uri(out),
        model_run_uri=_output_uri(run_dir),
    )
    result = trainer_executor.run(options, inputs)
    return _outputs([trainer_spec.MODEL_KEY, trainer_spec.MODEL_RUN_KEY], result.properties())


def run_evaluate(
    options: evaluator_options.EvalOptions,
    model: str,
    examples: str,
    out: str,
    blessing: str,
    *,
    baseline: str | None = None,
    allow_non_finite: bool = False,
) -> dict:
    """Evaluates; unless `allow_non_finite`, first refuses NaN or infinite values in the data.

    Raises:
        NonFiniteValueError: (a ValueError) naming the file, record and feature.
    """
    model_artifact = _artifact(standard_artifacts.Model, model)
    examples_in = examples_artifact(examples)
    if not allow_non_finite:
        _check_finite_eval_data(model_artifact, examples_in, options.eval_splits)
    inputs = evaluator_executor.EvalInputs(
        model=model_artifact,
        examples=examples_in,
        evaluation_uri=_output_uri(out),
        blessing_uri=_output_uri(blessing),
        baseline_model=_artifact(standard_artifacts.Model, baseline) if baseline else None,
    )
    result = evaluator_executor.run(options, inputs)
    keys = [evaluator_spec.EVALUATION_KEY, evaluator_spec.BLESSING_KEY]
    return _outputs(keys, result.properties())


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
    options: predictor_options.PredictOptions,
    model: str,
    examples: str,
    out: str,
    *,
    blessing: str | None = None,
    beam_pipeline_args: Sequence[str] = (),
) -> dict:
    """Predicts as BatchPredictor does: `model` over `examples`, into the directory `out`."""
    inputs = predictor_executor.PredictInputs(
        model=_artifact(standard_artifacts.Model, model),
        examples=examples_artifact(examples),
        inference_result_uri=_output_uri(out),
        # The predictor reads the BLESSED / NOT_BLESSED file, as for blessings without properties.
        model_blessing=(
            _artifact(standard_artifacts.ModelBlessing, blessing) if blessing else None
        ),
    )
    result = predictor_executor.run(options, inputs, beam_pipeline_args=beam_pipeline_args)
    return _outputs([predictor_spec.INFERENCE_RESULT_KEY], result.properties())
