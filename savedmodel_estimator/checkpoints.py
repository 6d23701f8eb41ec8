"""What a checkpoint (or a SavedModel's variables, which is one) says about training progress."""

from __future__ import annotations

import tensorflow as tf

GLOBAL_STEP = 'global_step'  # the variable Estimators count training steps in


def global_step_in(checkpoint: tf.train.CheckpointReader) -> int | None:
    """The value of `global_step` in an open checkpoint, or None if it has none."""
    if not checkpoint.has_tensor(GLOBAL_STEP):
        return None
    return int(checkpoint.get_tensor(GLOBAL_STEP))


def global_step_of(checkpoint: str) -> int:
    """The global step stored in a checkpoint (or a SavedModel's variables), 0 if none."""
    step = global_step_in(tf.train.load_checkpoint(checkpoint))
    return 0 if step is None else step


def latest_global_step(model_dir: str) -> int | None:
    """The global step of the latest checkpoint in `model_dir`, or None without a checkpoint."""
    latest = tf.train.latest_checkpoint(model_dir)
    return None if latest is None else global_step_of(latest)
