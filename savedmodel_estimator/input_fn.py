"""Calling an Estimator input_fn and reading what it returned, as `tf.estimator` did."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from savedmodel_estimator import _tf_internal as internal


class DatasetInitializerHook(tf.compat.v1.train.SessionRunHook):
    """Initializes a dataset's iterator when the session is created."""

    def __init__(self, iterator: Any) -> None:
        self._iterator = iterator
        self._initializer: Any = None

    def begin(self) -> None:
        self._initializer = self._iterator.initializer

    def after_create_session(self, session: Any, coord: Any) -> None:
        del coord
        session.run(self._initializer)


def call_input_fn(
    input_fn: Callable[..., Any], mode: str, params: dict[str, Any], config: Any
) -> Any:
    """Calls `input_fn` with whichever of `mode`, `params` and `config` it accepts, on the CPU."""
    if not callable(input_fn):
        raise TypeError(f'input_fn must be callable, given: {input_fn!r}')
    accepted = internal.fn_args(input_fn)
    kwargs: dict[str, Any] = {}
    if 'mode' in accepted:
        kwargs['mode'] = mode
    if 'params' in accepted:
        kwargs['params'] = params
    if 'config' in accepted:
        kwargs['config'] = config
    with tf.compat.v1.device('/cpu:0'):
        return input_fn(**kwargs)


def parse_input_fn_result(result: Any) -> tuple[Any, Any, list[tf.compat.v1.train.SessionRunHook]]:
    """Splits an input_fn result into features, labels (or None) and the hooks it needs.

    The result may be a `tf.data.Dataset` (of features or of `(features, labels)`), a
    `(features, labels)` tuple, or features alone.

    Raises:
        ValueError: a list or tuple whose length is not 2.
    """
    hooks: list[tf.compat.v1.train.SessionRunHook] = []
    if isinstance(result, tf.data.Dataset):
        iterator = tf.compat.v1.data.make_initializable_iterator(result)
        hooks.append(DatasetInitializerHook(iterator))
        result = iterator.get_next()
    if isinstance(result, (list, tuple)):
        if len(result) != 2:
            raise ValueError('input_fn should return (features, labels) as a len 2 tuple.')
        return result[0], result[1], hooks
    return result, None, hooks


def has_dataset_or_queue_runner(features: Any) -> bool:
    """Whether the features come from a dataset or queue, so that prediction ends."""
    tensors = [t for t in tf.nest.flatten(features) if isinstance(t, tf.Tensor)]
    if any(t.op.type == 'IteratorGetNext' for t in tensors):
        return True
    graph = tf.compat.v1.get_default_graph()
    return bool(graph.get_collection(tf.compat.v1.GraphKeys.QUEUE_RUNNERS))
