"""The predict graph run as `SavedModelEstimator.predict` runs it: keys chosen, batches split."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import tensorflow as tf

from savedmodel_estimator.restore_errors import readable_restore_errors


def select_keys(predictions: dict[str, Any], predict_keys: Sequence[str] | None) -> dict[str, Any]:
    """The outputs named in `predict_keys` (all of them when it is empty or None).

    Raises:
        ValueError: no output matches `predict_keys`.
    """
    if not predict_keys:
        return predictions
    selected = {k: v for k, v in predictions.items() if k in predict_keys}
    if not selected:
        raise ValueError(
            f'Expected to run at least one output from {predictions.keys()}, provided '
            f'{predict_keys}.'
        )
    return selected


def _rows(value: Any) -> int:
    if isinstance(value, tf.compat.v1.SparseTensorValue):
        return int(value.dense_shape[0])
    return int(value.shape[0])


def row(value: Any, i: int) -> Any:
    """Row `i` of a batch output; a SparseTensor output gives that row as a SparseTensorValue."""
    if not isinstance(value, tf.compat.v1.SparseTensorValue):
        return value[i]
    in_row = value.indices[:, 0] == i
    return tf.compat.v1.SparseTensorValue(
        value.indices[in_row][:, 1:], value.values[in_row], value.dense_shape[1:]
    )


def batch_length(batch: dict[str, Any]) -> int:
    """The number of rows every output of `batch` has.

    Raises:
        ValueError: the outputs differ in batch size.
    """
    length = None
    for key, value in batch.items():
        length = length or _rows(value)
        if _rows(value) != length:
            raise ValueError(
                f'Batch length of predictions should be same. {key} has different batch length '
                'than others.'
            )
    return int(length or 0)


def run_predict(
    scaffold: tf.compat.v1.train.Scaffold,
    predictions: dict[str, Any],
    checkpoint_path: str,
    session_config: tf.compat.v1.ConfigProto | None,
    hooks: Sequence[tf.compat.v1.train.SessionRunHook],
    yield_single_examples: bool,
) -> Iterator[Any]:
    """Yields `predictions` batch by batch (or row by row) until the input ends.

    Runs in the caller's default graph, which holds the imported predict graph.
    """
    creator = tf.compat.v1.train.ChiefSessionCreator(
        scaffold=scaffold,
        checkpoint_filename_with_path=checkpoint_path,
        config=session_config,
    )
    with (
        readable_restore_errors(checkpoint_path),
        tf.compat.v1.train.MonitoredSession(session_creator=creator, hooks=hooks) as session,
    ):
        while not session.should_stop():
            batch = session.run(predictions)
            if not yield_single_examples:
                yield batch
                continue
            for i in range(batch_length(batch)):
                yield {key: row(value, i) for key, value in batch.items()}
