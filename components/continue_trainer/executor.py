"""ContinueTrainer's executor: artifacts and parameters in, typed values to `training`, out."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import tensorflow as tf
from tfx import types, version
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from savedmodel_estimator.mode_keys import ModeKeys
from savedmodel_estimator_tfx.components.common import _tfx_internal, artifacts, example_inputs
from savedmodel_estimator_tfx.components.continue_trainer import spec, training
from savedmodel_estimator_tfx.components.continue_trainer.training import TrainOptions


def _optional_int(props: Mapping[str, Any], key: str) -> int | None:
    value = props.get(key)
    return None if value is None else int(value)


def options_from_exec_properties(props: Mapping[str, Any]) -> TrainOptions:
    """The typed options from the execution properties (ints may arrive as floats from kfp).

    Raises:
        ValueError: a parameter is malformed or they contradict each other.
    """
    splits_json = props.get(spec.TRAIN_SPLITS_KEY) or json.dumps(list(spec.DEFAULT_TRAIN_SPLITS))
    try:
        splits = json.loads(splits_json)
    except json.JSONDecodeError as err:
        raise ValueError(
            f'ContinueTrainer() train_splits must be a JSON list of split names, like '
            f'\'["train"]\'; given: {splits_json!r}.'
        ) from err
    if not isinstance(splits, list) or not all(isinstance(s, str) for s in splits):
        raise ValueError(
            f'ContinueTrainer() train_splits must be a JSON list of split names; given: '
            f'{splits_json!r}.'
        )
    return TrainOptions(
        train_steps=_optional_int(props, spec.TRAIN_STEPS_KEY),
        max_steps=_optional_int(props, spec.MAX_STEPS_KEY),
        batch_size=_optional_int(props, spec.BATCH_SIZE_KEY) or spec.DEFAULT_BATCH_SIZE,
        shuffle_buffer=_optional_int(props, spec.SHUFFLE_BUFFER_KEY) or 0,
        seed=_optional_int(props, spec.SEED_KEY) or 0,
        train_splits=tuple(splits),
        save_checkpoints_steps=_optional_int(props, spec.SAVE_CHECKPOINTS_STEPS_KEY),
        save_checkpoints_secs=_optional_int(props, spec.SAVE_CHECKPOINTS_SECS_KEY),
        keep_checkpoint_max=_optional_int(props, spec.KEEP_CHECKPOINT_MAX_KEY),
        checkpoint_dir=props.get(spec.CHECKPOINT_DIR_KEY) or None,
        allow_non_finite=bool(_optional_int(props, spec.ALLOW_NON_FINITE_KEY)),
    )


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


class Executor(base_executor.BaseExecutor):
    """Trains the base model further on the examples and re-exports it with all its modes."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        _tfx_internal.log_startup(self, input_dict, output_dict, exec_properties)
        options = options_from_exec_properties(exec_properties)
        base_model = artifact_utils.get_single_instance(input_dict[spec.BASE_MODEL_KEY])
        examples = artifact_utils.get_single_instance(input_dict[spec.EXAMPLES_KEY])
        schema = input_dict.get(spec.SCHEMA_KEY)
        model = artifact_utils.get_single_instance(output_dict[spec.MODEL_KEY])
        model_run = artifact_utils.get_single_instance(output_dict[spec.MODEL_RUN_KEY])

        reader = training.open_trainable(artifacts.model_path(base_model))
        files = example_inputs.split_files(examples, options.train_splits)
        schema_path = None
        if schema:
            schema_uri = artifact_utils.get_single_uri(schema)
            schema_path = example_inputs.schema_file(schema_uri)
        start_step = training.global_step_of(reader.variables_path)
        model_dir = checkpoint_location(options, base_model, examples, start_step, model_run.uri)
        tf.compat.v1.logging.info(f'ContinueTrainer checkpoints: {model_dir}')
        resumed_from = training.resume_step(model_dir)
        if resumed_from is not None:
            tf.compat.v1.logging.info(
                f'ContinueTrainer resumes from the checkpoint at global step {resumed_from} in '
                f'{model_dir} (the base model is at step {start_step}).'
            )

        estimator = training.train(reader, files, options, model_dir, schema_path)
        destination = os.path.join(model.uri, artifacts.SERVING_MODEL_DIR)
        exported = training.export_all_modes(estimator, reader, destination)
        if os.path.normpath(model_dir) != os.path.normpath(model_run.uri):
            training.copy_run(model_dir, model_run.uri)
        global_step = training.global_step_of(estimator.latest_checkpoint())
        _record(model, model_run, base_model, exported, global_step, model_dir)
        if resumed_from is not None:
            model_run.set_int_custom_property(spec.RESUMED_FROM_STEP_PROPERTY, resumed_from)


def _record(
    model: types.Artifact,
    model_run: types.Artifact,
    base_model: types.Artifact,
    exported: Any,
    global_step: int,
    model_dir: str,
) -> None:
    """Sets the custom properties downstream components and people read."""
    model.set_string_custom_property(artifacts.TFX_VERSION_PROPERTY, version.__version__)
    model.set_string_custom_property(artifacts.MODES_PROPERTY, json.dumps(exported.available_modes))
    model.set_int_custom_property(artifacts.GLOBAL_STEP_PROPERTY, global_step)
    serving = exported.signature(ModeKeys.PREDICT)
    if serving is not None:
        model.set_string_custom_property(
            artifacts.SERVING_INPUTS_PROPERTY,
            json.dumps(artifacts.signature_inputs(serving), sort_keys=True),
        )
    model.set_string_custom_property(artifacts.SOURCE_URI_PROPERTY, base_model.uri)
    model_run.set_int_custom_property(artifacts.GLOBAL_STEP_PROPERTY, global_step)
    model_run.set_string_custom_property(artifacts.CHECKPOINT_DIR_PROPERTY, model_dir)
