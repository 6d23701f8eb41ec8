"""ContinueTrainer: train an Estimator export further on tf.Examples, re-export every mode."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts

from savedmodel_estimator_tfx.components.common.parameters import json_list
from savedmodel_estimator_tfx.components.continue_trainer import executor, spec
from savedmodel_estimator_tfx.components.continue_trainer.options import TrainOptions


class ContinueTrainer(base_component.BaseComponent):
    """Continues training a SavedModel that `tf.estimator` exported with all modes.

    Reads the examples into the `train` signature's inputs by name, dtype and shape (the label
    is one of them), trains from the model's variables, then re-exports the train, eval and
    serving MetaGraphs it had, with the same signature inputs.

    Example:
        trainer = ContinueTrainer(
            base_model=importer.outputs['model'],
            examples=example_gen.outputs['examples'],
            train_steps=1000,
            checkpoint_dir=os.path.join(pipeline_root, 'checkpoints'),
        )

    Outputs:
        model: the SavedModel in `<uri>/Format-Serving/` (written whole or not at all), with
            custom properties `tfx_version`, `available_modes`, `global_step`,
            `serving_inputs` and `source_uri` (the base model's uri).
        model_run: the run's checkpoints and TensorBoard event files.

    Resuming: with `checkpoint_dir` set, checkpoints go to
    `<checkpoint_dir>/<key>`, the key hashing the base model, the examples and the training
    parameters, so a retried execution (which TFX gives new output uris, after deleting the
    failed one's) resumes from the last checkpoint instead of the base model. Without it they go
    to the ModelRun uri, which only a re-run of the same execution with the same uris reuses.
    Steps count from the base model's global step (`train_steps`) or are absolute
    (`max_steps`), so a resumed run stops where the first would have.
    """

    SPEC_CLASS = spec.ContinueTrainerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        base_model: types.BaseChannel,
        examples: types.BaseChannel,
        schema: types.BaseChannel | None = None,
        *,
        train_steps: int | None = None,
        max_steps: int | None = None,
        batch_size: int = spec.DEFAULT_BATCH_SIZE,
        shuffle_buffer: int = 0,
        seed: int = 0,
        train_splits: Sequence[str] = spec.DEFAULT_TRAIN_SPLITS,
        save_checkpoints_steps: int | None = None,
        save_checkpoints_secs: int | None = None,
        keep_checkpoint_max: int | None = None,
        checkpoint_dir: str | None = None,
        allow_non_finite: bool | None = None,
    ) -> None:
        """Builds the component.

        Args:
            base_model: Model channel (SavedModelImporter or a previous ContinueTrainer).
            examples: Examples channel: gzip TFRecords of tf.Example under `Split-<name>/`.
            schema: Optional Schema channel; each train input must be in it with its type.
            train_steps: Train this many steps past the base model's global step.
            max_steps: Or train until the global step reaches this; give exactly one of the two.
            batch_size: Examples per training step.
            shuffle_buffer: Shuffle with a buffer of this many examples (0: file order).
            seed: Seed of the shuffle and of the graph.
            train_splits: The splits to train on.
            save_checkpoints_steps: Save a checkpoint every this many steps.
            save_checkpoints_secs: Or every this many seconds (default 600); a checkpoint is
                always saved at the end.
            keep_checkpoint_max: How many recent checkpoints to keep (default 5).
            checkpoint_dir: A stable directory (e.g. under the pipeline root) where retried
                executions find the checkpoints of failed ones.
            allow_non_finite: Train on NaN or infinite float feature values. By default every
                record is scanned first and the first such value is refused, naming the file,
                record and feature: one of them makes the loss NaN and the model a constant.
        """
        parameters: dict[str, Any] = {
            spec.TRAIN_STEPS_KEY: train_steps,
            spec.MAX_STEPS_KEY: max_steps,
            spec.BATCH_SIZE_KEY: batch_size,
            spec.SHUFFLE_BUFFER_KEY: shuffle_buffer,
            spec.SEED_KEY: seed,
            spec.TRAIN_SPLITS_KEY: json_list(train_splits),
            spec.SAVE_CHECKPOINTS_STEPS_KEY: save_checkpoints_steps,
            spec.SAVE_CHECKPOINTS_SECS_KEY: save_checkpoints_secs,
            spec.KEEP_CHECKPOINT_MAX_KEY: keep_checkpoint_max,
            spec.CHECKPOINT_DIR_KEY: checkpoint_dir,
            spec.ALLOW_NON_FINITE_KEY: None if allow_non_finite is None else int(allow_non_finite),
        }
        # Unset parameters are left out, so the compiled pipeline holds only what was given.
        given = {key: value for key, value in parameters.items() if value is not None}
        # Fail at pipeline construction, not hours later in the executor (runtime parameters
        # and placeholders are checked when they have values, in the executor).
        if all(isinstance(value, int | str) for value in given.values()):
            TrainOptions.from_exec_properties(given)
        super().__init__(
            spec=spec.ContinueTrainerSpec(
                base_model=base_model,
                examples=examples,
                schema=schema,
                model=types.Channel(type=standard_artifacts.Model),
                model_run=types.Channel(type=standard_artifacts.ModelRun),
                **given,
            )
        )
