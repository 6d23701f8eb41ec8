"""RunConfig: the run settings an Estimator used, with the original's defaults."""

from __future__ import annotations

import dataclasses
from typing import Any

import tensorflow as tf
from tensorflow.core.protobuf import rewriter_config_pb2


def default_session_config() -> tf.compat.v1.ConfigProto:
    """The session config `tf.estimator` used when none was given."""
    rewrite = rewriter_config_pb2.RewriterConfig(
        meta_optimizer_iterations=rewriter_config_pb2.RewriterConfig.ONE
    )
    return tf.compat.v1.ConfigProto(
        allow_soft_placement=True,
        graph_options=tf.compat.v1.GraphOptions(rewrite_options=rewrite),
    )


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """How training saves checkpoints and summaries; the defaults are `tf.estimator.RunConfig`'s.

    Attributes:
        model_dir: Where checkpoints, summaries and evaluation results go.
        tf_random_seed: Graph-level random seed, or None.
        save_summary_steps: Write TensorBoard summaries every this many steps.
        save_checkpoints_secs: Save a checkpoint every this many seconds (and at the end).
        save_checkpoints_steps: Save a checkpoint every this many steps instead; at most one of
            the two may be set.
        keep_checkpoint_max: How many recent checkpoints to keep.
        keep_checkpoint_every_n_hours: Additionally keep one checkpoint per this many hours.
        log_step_count_steps: Log loss and steps/sec every this many steps.
        session_config: A `tf.compat.v1.ConfigProto`, or None for the original's default.
    """

    model_dir: str | None = None
    tf_random_seed: int | None = None
    save_summary_steps: int = 100
    save_checkpoints_secs: int | None = 600
    save_checkpoints_steps: int | None = None
    keep_checkpoint_max: int = 5
    keep_checkpoint_every_n_hours: float = 10000
    log_step_count_steps: int | None = 100
    session_config: Any = None

    def __post_init__(self) -> None:
        if self.save_checkpoints_secs is not None and self.save_checkpoints_steps is not None:
            raise ValueError(
                'Can not provide both save_checkpoints_steps and save_checkpoints_secs.'
            )
        for name in ('save_summary_steps', 'keep_checkpoint_max'):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f'{name} should be >= 0, given: {value}')

    def replace(self, **kwargs: Any) -> RunConfig:
        """Returns a copy with the given fields changed."""
        return dataclasses.replace(self, **kwargs)

    @property
    def effective_session_config(self) -> tf.compat.v1.ConfigProto:
        return self.session_config or default_session_config()
