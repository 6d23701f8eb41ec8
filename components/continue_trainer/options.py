"""ContinueTrainer's parameters as one typed value, checked once: from the component, the
executor's exec properties, or `sme train`. Defaults are the spec's."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from savedmodel_estimator import RunConfig
from savedmodel_estimator_tfx.components.common import parameters
from savedmodel_estimator_tfx.components.continue_trainer import spec

COMPONENT = 'ContinueTrainer'


@dataclasses.dataclass(frozen=True)
class TrainOptions:
    """How ContinueTrainer trains; see `ContinueTrainer` for each field."""

    train_steps: int | None = None
    max_steps: int | None = None
    batch_size: int = spec.DEFAULT_BATCH_SIZE
    shuffle_buffer: int = 0
    seed: int = 0
    train_splits: tuple[str, ...] = spec.DEFAULT_TRAIN_SPLITS
    save_checkpoints_steps: int | None = None
    save_checkpoints_secs: int | None = None
    keep_checkpoint_max: int | None = None
    checkpoint_dir: str | None = None
    allow_non_finite: bool = False

    def __post_init__(self) -> None:
        if (self.train_steps is None) == (self.max_steps is None):
            raise ValueError(
                'ContinueTrainer() needs exactly one of train_steps and max_steps; given: '
                f'train_steps={self.train_steps}, max_steps={self.max_steps}.'
            )
        for name in (
            'train_steps',
            'max_steps',
            'batch_size',
            'save_checkpoints_steps',
            'save_checkpoints_secs',
            'keep_checkpoint_max',
        ):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f'ContinueTrainer() {name} must be > 0, given: {value}.')
        if self.shuffle_buffer < 0:
            raise ValueError(
                f'ContinueTrainer() shuffle_buffer must be >= 0: {self.shuffle_buffer}.'
            )
        if not self.train_splits:
            raise ValueError('ContinueTrainer() train_splits must name at least one split.')
        if self.save_checkpoints_steps and self.save_checkpoints_secs:
            raise ValueError(
                'ContinueTrainer() takes save_checkpoints_steps or save_checkpoints_secs, not '
                f'both; given {self.save_checkpoints_steps} and {self.save_checkpoints_secs}.'
            )
        object.__setattr__(self, 'train_splits', tuple(self.train_splits))

    @classmethod
    def from_exec_properties(cls, props: Mapping[str, Any]) -> TrainOptions:
        """The typed options from the execution properties (ints may arrive as floats from kfp).

        Raises:
            UnknownParameterError: (a TypeError) a key the trainer does not take.
            ValueError: a parameter is malformed or they contradict each other.
        """
        parameters.check_known(COMPONENT, props, spec.ContinueTrainerSpec.PARAMETERS)
        splits = parameters.split_names(
            COMPONENT,
            props,
            spec.TRAIN_SPLITS_KEY,
            spec.DEFAULT_TRAIN_SPLITS,
            example_only_for_bad_json=True,
        )

        def number(key: str) -> int | None:
            return parameters.optional_int(props.get(key))

        return cls(
            train_steps=number(spec.TRAIN_STEPS_KEY),
            max_steps=number(spec.MAX_STEPS_KEY),
            batch_size=number(spec.BATCH_SIZE_KEY) or spec.DEFAULT_BATCH_SIZE,
            shuffle_buffer=number(spec.SHUFFLE_BUFFER_KEY) or 0,
            seed=number(spec.SEED_KEY) or 0,
            train_splits=splits,
            save_checkpoints_steps=number(spec.SAVE_CHECKPOINTS_STEPS_KEY),
            save_checkpoints_secs=number(spec.SAVE_CHECKPOINTS_SECS_KEY),
            keep_checkpoint_max=number(spec.KEEP_CHECKPOINT_MAX_KEY),
            checkpoint_dir=props.get(spec.CHECKPOINT_DIR_KEY) or None,
            allow_non_finite=parameters.flag(props.get(spec.ALLOW_NON_FINITE_KEY)),
        )

    def target_step(self, start_step: int) -> int:
        """The global step training stops at: absolute, so a resumed run stops there too."""
        return (
            self.max_steps if self.max_steps is not None else start_step + (self.train_steps or 0)
        )

    def run_config(self) -> RunConfig:
        cadence: dict[str, Any] = {}
        if self.save_checkpoints_steps:
            cadence = {
                'save_checkpoints_steps': self.save_checkpoints_steps,
                'save_checkpoints_secs': None,
            }
        elif self.save_checkpoints_secs:
            cadence = {'save_checkpoints_secs': self.save_checkpoints_secs}
        if self.keep_checkpoint_max:
            cadence['keep_checkpoint_max'] = self.keep_checkpoint_max
        return RunConfig(tf_random_seed=self.seed, **cadence)
