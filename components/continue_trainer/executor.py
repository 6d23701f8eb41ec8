"""ContinueTrainer's executor: artifacts and parameters in, typed values to `training`, out."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import tensorflow as tf
from tfx import types, version
from tfx.dsl.components.base import base_executor

from savedmodel_estimator.mode_keys import ModeKeys
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator_tfx.components.common import artifacts, example_inputs
from savedmodel_estimator_tfx.components.common import properties as properties_lib
from savedmodel_estimator_tfx.components.common.stage_executor import StageExecutor
from savedmodel_estimator_tfx.components.continue_trainer import spec, training
from savedmodel_estimator_tfx.components.continue_trainer.options import TrainOptions


def checkpoint_location(
    options: TrainOptions,
    base_model: types.Artifact,
    examples: types.Artifact,
    start_step: int,
    model_run_uri: str,
) -> str:
    """Where the run's checkpoints go: stable under `checkpoint_dir`, else the ModelRun uri.

    The key under `checkpoint_dir` covers everything that makes two executions the same run:
    the base model (uri and content hash), the examples, and the parameters that shape the
    trajectory. Checkpoint cadence is left out, so a retry may change it and still resume.
    """
    if not options.checkpoint_dir:
        return model_run_uri
    content_hash = ''
    if base_model.has_custom_property(artifacts.CONTENT_HASH_PROPERTY):
        content_hash = str(base_model.get_custom_property(artifacts.CONTENT_HASH_PROPERTY))
    identity = {
        'base_model': base_model.uri,
        'content_hash': content_hash,
        'examples': examples.uri,
        'splits': list(options.train_splits),
        'target_step': options.target_step(start_step),
        'batch_size': options.batch_size,
        'shuffle_buffer': options.shuffle_buffer,
        'seed': options.seed,
    }
    return os.path.join(options.checkpoint_dir, training.run_key(identity))


@dataclasses.dataclass(frozen=True)
class TrainInputs:
    """The base model, examples and optional schema (read only); where model and run go.

    Fields are named for the spec's channels, so `StageExecutor` reads them from TFX's dicts.
    """

    base_model: types.Artifact
    examples: types.Artifact
    model_uri: str
    model_run_uri: str
    schema: types.Artifact | None = None


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What the run produced, and the facts its outputs record (see `properties`)."""

    exported: SavedModelReader
    global_step: int
    model_dir: str  # where the checkpoints were trained
    base_model_uri: str
    resumed_from: int | None = None

    def properties(self) -> properties_lib.Properties:
        """The custom properties downstream components and people read."""
        model: dict[str, Any] = {
            artifacts.TFX_VERSION_PROPERTY: version.__version__,
            artifacts.MODES_PROPERTY: json.dumps(self.exported.available_modes),
            artifacts.GLOBAL_STEP_PROPERTY: self.global_step,
        }
        serving = self.exported.signature(ModeKeys.PREDICT)
        if serving is not None:
            model[artifacts.SERVING_INPUTS_PROPERTY] = json.dumps(
                artifacts.signature_inputs(serving), sort_keys=True
            )
        model[artifacts.SOURCE_URI_PROPERTY] = self.base_model_uri
        model_run: dict[str, Any] = {
            artifacts.GLOBAL_STEP_PROPERTY: self.global_step,
            artifacts.CHECKPOINT_DIR_PROPERTY: self.model_dir,
        }
        if self.resumed_from is not None:
            model_run[spec.RESUMED_FROM_STEP_PROPERTY] = self.resumed_from
        return {spec.MODEL_KEY: model, spec.MODEL_RUN_KEY: model_run}


def run(options: TrainOptions, inputs: TrainInputs) -> TrainResult:
    """Trains the base model further on the examples and re-exports it with all its modes.

    Raises:
        ValueError: the base model cannot be trained, or the examples do not fit it.
        RuntimeError: training failed (a NaN loss), or the re-export differs from the base.
    """
    base_model, examples = inputs.base_model, inputs.examples
    reader = training.open_trainable(artifacts.model_path(base_model))
    files = example_inputs.split_files(examples, options.train_splits)
    schema = inputs.schema
    schema_path = example_inputs.schema_file(schema.uri) if schema is not None else None
    start_step = training.global_step_of(reader.variables_path)
    model_dir = checkpoint_location(options, base_model, examples, start_step, inputs.model_run_uri)
    tf.compat.v1.logging.info(f'ContinueTrainer checkpoints: {model_dir}')
    resumed_from = training.resume_step(model_dir)
    if resumed_from is not None:
        tf.compat.v1.logging.info(
            f'ContinueTrainer resumes from the checkpoint at global step {resumed_from} in '
            f'{model_dir} (the base model is at step {start_step}).'
        )

    estimator = training.train(reader, files, options, model_dir, schema_path)
    destination = os.path.join(inputs.model_uri, artifacts.SERVING_MODEL_DIR)
    exported = training.export_all_modes(estimator, reader, destination)
    if os.path.normpath(model_dir) != os.path.normpath(inputs.model_run_uri):
        training.copy_run(model_dir, inputs.model_run_uri)
    global_step = training.global_step_of(estimator.latest_checkpoint())
    return TrainResult(exported, global_step, model_dir, base_model.uri, resumed_from)


class Executor(StageExecutor, base_executor.BaseExecutor):
    """Trains the base model further on the examples and re-exports it with all its modes."""

    options_type = TrainOptions
    inputs_type = TrainInputs

    def run(self, options: TrainOptions, inputs: TrainInputs) -> TrainResult:
        return run(options, inputs)
