"""Running the same calls through the original SavedModelEstimator and ours, and comparing.

Used by the test_side_by_side*.py modules, which run only in .venv-reference, where
tensorflow-estimator 2.15 and our core share one process. Nothing here imports
tensorflow_estimator: the test modules pass the original class in.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import pathlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from savedmodel_estimator import SavedModelEstimator

# Both run on the same TensorFlow in one process; ours imports the same exported ops, so results
# should agree to float32 rounding. Values at or near 0 have no relative precision: see ATOL in
# test_estimator_exports.py.
RTOL = 1e-5
ATOL = 1e-6


@dataclasses.dataclass
class Pair:
    """The original and ours on one SavedModel, each with its own fresh model_dir."""

    theirs: Any
    ours: SavedModelEstimator

    @classmethod
    def create(cls, original_cls: type, saved_model_dir: str, base: pathlib.Path) -> Pair:
        base.mkdir(parents=True, exist_ok=True)
        theirs = original_cls(saved_model_dir, str(base / 'theirs'))
        ours = SavedModelEstimator(saved_model_dir, str(base / 'ours'))
        return cls(theirs, ours)

    def both(self, call: Callable[[Any], Any]) -> tuple[Any, Any]:
        """`call(estimator)` for the original, then for ours."""
        return call(self.theirs), call(self.ours)


def _raised(call: Callable[[], Any], who: str) -> Exception:
    try:
        call()
    except Exception as err:  # any error: it is compared with the other's
        return err
    pytest.fail(f'{who} did not raise')


class Compare:
    """Asserts that the original's and our results agree; keeps the largest difference seen."""

    def __init__(self) -> None:
        self.max_abs_diff = 0.0

    def values(self, theirs: Any, ours: Any, what: str) -> None:
        theirs, ours = np.asarray(theirs), np.asarray(ours)
        assert ours.shape == theirs.shape, f'{what}: shape {ours.shape}, theirs {theirs.shape}'
        if theirs.dtype.kind in 'SOU':
            assert ours.astype(bytes).tolist() == theirs.astype(bytes).tolist(), what
            return
        assert ours.dtype == theirs.dtype, f'{what}: dtype {ours.dtype}, theirs {theirs.dtype}'
        diff = float(np.max(np.abs(ours.astype(np.float64) - theirs), initial=0.0))
        self.max_abs_diff = max(self.max_abs_diff, diff)
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, err_msg=what)

    def metrics(self, theirs: Mapping[str, Any], ours: Mapping[str, Any]) -> None:
        assert sorted(ours) == sorted(theirs), 'evaluate() keys'
        for key, value in theirs.items():
            self.values(value, ours[key], f'evaluate()[{key!r}]')

    def predictions(self, theirs: Iterable[Mapping], ours: Iterable[Mapping]) -> None:
        theirs, ours = list(theirs), list(ours)
        assert len(ours) == len(theirs), f'{len(ours)} predictions, theirs {len(theirs)}'
        for i, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
            assert sorted(mine) == sorted(other), f'prediction {i} keys'
            for key, value in other.items():
                self.values(value, mine[key], f'prediction {i}[{key!r}]')

    def variables(self, pair: Pair) -> None:
        names = pair.theirs.get_variable_names()
        assert pair.ours.get_variable_names() == names
        for name in names:
            ours = pair.ours.get_variable_value(name)  # every listed name reads with ours
            try:
                theirs = pair.theirs.get_variable_value(name)
            except ValueError as err:
                # The original cannot read a V1 partitioned variable's slot parts (each part's
                # slot is saved under its own name with the full shape): ours joins the slices,
                # checked against the checkpoint's own slices in test_partitioned_variables.py.
                if 'Does not have sufficient slices for partitioned tensor' not in str(err):
                    raise
                continue
            self.values(theirs, ours, f'variable {name!r}')

    def global_step(self, pair: Pair, expected: int) -> None:
        theirs, ours = pair.both(lambda est: int(est.get_variable_value('global_step')))
        assert (theirs, ours) == (expected, expected), 'global_step (theirs, ours)'

    def errors(self, pair: Pair, call: Callable[[Any], Any]) -> Exception:
        """Asserts `call(estimator)` raises the same type and message for both; returns ours.

        Ours may raise a subclass (see savedmodel_estimator.errors). Each message names its own
        model_dir, which is replaced by '<model_dir>' before the comparison.
        """
        theirs = _raised(lambda: call(pair.theirs), 'the original')
        ours = _raised(lambda: call(pair.ours), 'ours')
        assert isinstance(ours, type(theirs)), f'{type(ours)!r}, theirs {type(theirs)!r}'
        assert _message(ours, pair.ours) == _message(theirs, pair.theirs)
        return ours


def _message(err: Exception, estimator: Any) -> str:
    return str(err).replace(estimator.model_dir, '<model_dir>')


class CountingHook(tf.compat.v1.train.SessionRunHook):
    """Counts the calls a train, evaluate or predict loop makes to its hooks."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()

    def begin(self) -> None:
        self.counts['begin'] += 1

    def before_run(self, run_context: Any) -> None:
        self.counts['before_run'] += 1

    def end(self, session: Any) -> None:
        self.counts['end'] += 1


class CountingListener(tf.compat.v1.train.CheckpointSaverListener):
    """Records each checkpoint save around which training called it, with its global step."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    def before_save(self, session: Any, global_step_value: int) -> None:
        self.events.append(('before_save', int(global_step_value)))

    def after_save(self, session: Any, global_step_value: int) -> None:
        self.events.append(('after_save', int(global_step_value)))


def summaries(event_dir: str, model_dir: str) -> list[tuple[int, str, Any]]:
    """(step, tag, value) of every summary in `event_dir`'s events files, paths made relative."""
    found = []
    for name in sorted(tf.io.gfile.listdir(event_dir)):
        for event in tf.compat.v1.train.summary_iterator(os.path.join(event_dir, name)):
            for value in event.summary.value:
                if value.HasField('simple_value'):
                    found.append((event.step, value.tag, value.simple_value))
                else:
                    text = tf.make_ndarray(value.tensor).item().decode()
                    found.append((event.step, value.tag, text.replace(model_dir, '<model_dir>')))
    return sorted(found)


def checkpoint_names(model_dir: str) -> list[str]:
    """Basenames of the checkpoints a model_dir's `checkpoint` file lists, oldest first."""
    state = tf.train.get_checkpoint_state(model_dir)
    return [os.path.basename(p) for p in state.all_model_checkpoint_paths] if state else []


def run_signature(saved_model_dir: str, tags: list[str], key: str, inputs: Any, fetch: list[str]):
    """Runs signature `key` of a SavedModel in a plain session, without any estimator.

    Args:
        inputs: A function making the signature's inputs (a dict of tensors) in the graph.
        fetch: Output keys, run one `session.run` each in this order (an update op first).
    """
    with tf.Graph().as_default() as graph, tf.compat.v1.Session() as sess:
        meta_graph = tf.compat.v1.saved_model.loader.load(sess, tags, saved_model_dir)
        signature = meta_graph.signature_def[key]
        tensor = tf.compat.v1.saved_model.utils.get_tensor_from_tensor_info
        values = sess.run(inputs())
        feed = {tensor(info, graph): values[k] for k, info in signature.inputs.items()}
        return [sess.run(tensor(signature.outputs[name], graph), feed) for name in fetch]
