"""The training loop: `tf.estimator`'s, over an imported `train` graph."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from savedmodel_estimator import _tf_internal as internal
from savedmodel_estimator.checkpoint_hook import BackgroundGraphCheckpointSaverHook
from savedmodel_estimator.graph_import import ModeGraph
from savedmodel_estimator.run_config import RunConfig

# TensorFlow has no type stubs: these are Any to the type checker.
SessionRunHook = tf.compat.v1.train.SessionRunHook
CheckpointSaverListener = tf.compat.v1.train.CheckpointSaverListener


def check_hooks(hooks: Sequence[Any] | None) -> list[Any]:
    """Returns hooks as a list if all are `SessionRunHook`s, raises TypeError otherwise."""
    hooks = list(hooks or [])
    for hook in hooks:
        if not isinstance(hook, SessionRunHook):
            raise TypeError(f'Hooks must be a SessionRunHook, given: {hook}')
    return hooks


def check_listeners(listeners: Sequence[Any] | None) -> list[Any]:
    """Returns listeners as a list if all are `CheckpointSaverListener`s."""
    listeners = list(listeners or [])
    for listener in listeners:
        if not isinstance(listener, CheckpointSaverListener):
            raise TypeError(
                f'saving_listeners must be a list of CheckpointSaverListener, given: {listener}'
            )
    return listeners


def global_step_in_checkpoint_dir(checkpoint_dir: str) -> int:
    """The global step of the latest checkpoint in `checkpoint_dir`, or 0 if there is none."""
    latest = tf.train.latest_checkpoint(checkpoint_dir)
    if not latest:
        return 0
    try:
        reader = tf.compat.v1.train.NewCheckpointReader(latest)
        return int(reader.get_tensor(tf.compat.v1.GraphKeys.GLOBAL_STEP))
    except (tf.errors.OpError, ValueError):
        return 0


def train_graph(
    spec: ModeGraph,
    hooks: list[Any],
    saving_listeners: list[Any],
    config: RunConfig,
    model_dir: str,
) -> Any:
    """Runs the train op until a hook asks to stop or the input ends; returns the last loss.

    Checkpoints go to `model_dir` on the config's cadence and at the end; TensorBoard summaries
    (the graph's own, `loss`, `global_step/sec`) every `save_summary_steps`.
    """
    graph = tf.compat.v1.get_default_graph()
    if spec.train_op is None:
        raise RuntimeError(
            "The 'train' MetaGraph has no train op (no saved_model_train_op collection or "
            'signature), so it cannot be trained.'
        )
    summaries = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.SUMMARIES)
    if not any(s.op.name == 'loss' for s in summaries):
        tf.compat.v1.summary.scalar('loss', spec.loss)
    tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.LOSSES, spec.loss)
    global_step = tf.compat.v1.train.get_global_step(graph)

    worker_hooks = list(hooks)
    worker_hooks.append(tf.compat.v1.train.NanTensorHook(spec.loss))
    if config.log_step_count_steps is not None:
        worker_hooks.append(
            tf.compat.v1.train.LoggingTensorHook(
                {'loss': spec.loss, 'step': global_step}, every_n_iter=config.log_step_count_steps
            )
        )

    chief_hooks: list[Any] = []
    saver_hooks = [h for h in worker_hooks if isinstance(h, tf.compat.v1.train.CheckpointSaverHook)]
    if (config.save_checkpoints_secs or config.save_checkpoints_steps) and not saver_hooks:
        chief_hooks = [
            BackgroundGraphCheckpointSaverHook(
                model_dir,
                save_secs=config.save_checkpoints_secs,
                save_steps=config.save_checkpoints_steps,
                scaffold=spec.scaffold,
            )
        ]
        saver_hooks = list(chief_hooks)
    if saving_listeners:
        if not saver_hooks:
            raise ValueError(
                'There should be a CheckpointSaverHook to use saving_listeners. Please set one of '
                'the RunConfig.save_checkpoints_steps or RunConfig.save_checkpoints_secs.'
            )
        for listener in saving_listeners:
            listeners = internal.saver_hook_listeners(saver_hooks[0])
            if listener not in listeners:
                listeners.append(listener)

    try:
        loss, any_step_done = _run_until_stop(spec, worker_hooks, chief_hooks, config, model_dir)
    except BaseException:
        for hook in chief_hooks:
            hook.join(raise_error=False)  # The training error is the one to raise.
        raise
    for hook in chief_hooks:
        hook.join()  # A no-op after the hook's end(), which joined already.
    if not any_step_done:
        tf.compat.v1.logging.warn(
            'Training with estimator made no steps. Perhaps input is empty or misspecified.'
        )
    return loss


def _run_until_stop(
    spec: ModeGraph,
    worker_hooks: list[Any],
    chief_hooks: list[Any],
    config: RunConfig,
    model_dir: str,
) -> tuple[Any, bool]:
    """Runs the train op until a hook asks to stop; returns the last loss and if a step ran."""
    loss = None
    any_step_done = False
    with tf.compat.v1.train.MonitoredTrainingSession(
        is_chief=True,
        checkpoint_dir=model_dir,
        scaffold=spec.scaffold,
        hooks=worker_hooks,
        chief_only_hooks=chief_hooks,
        save_checkpoint_secs=0,  # The CheckpointSaverHook above saves.
        save_summaries_steps=config.save_summary_steps,
        config=config.effective_session_config,
        log_step_count_steps=config.log_step_count_steps,
    ) as session:
        while not session.should_stop():
            _, loss = session.run([spec.train_op, spec.loss])
            any_step_done = True
    return loss, any_step_done
