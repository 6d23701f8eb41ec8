"""train()'s own CheckpointSaverHook: graph.pbtxt written in the background, files as stock."""

from __future__ import annotations

import glob
import logging
import os
import pathlib

import pytest
import tensorflow as tf
from google.protobuf import text_format

from savedmodel_estimator import SavedModelEstimator
from savedmodel_estimator.checkpoint_hook import BackgroundGraphCheckpointSaverHook
from tests.support.paths import SEED
from tests.support.seed_model import input_fn

pytestmark = pytest.mark.core


def train(model_dir: pathlib.Path, hooks=None) -> None:
    SavedModelEstimator(SEED / 'saved_model', model_dir).train(input_fn, steps=3, hooks=hooks)


class TinyGraph:
    """A graph trained three steps at a time, with a chosen class as train()'s saver hook."""

    def __init__(self) -> None:
        self.graph = tf.Graph()
        with self.graph.as_default():
            step = tf.compat.v1.train.get_or_create_global_step()
            weight = tf.compat.v1.get_variable('weight', initializer=[1.0, 2.0])
            loss = tf.reduce_sum(weight * weight)
            tf.compat.v1.summary.scalar('loss', loss)
            self.train_op = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss, step)
            self.scaffold = tf.compat.v1.train.Scaffold()

    def train(self, model_dir: pathlib.Path, hook_class: type) -> None:
        with self.graph.as_default():
            hook = hook_class(str(model_dir), save_secs=600, scaffold=self.scaffold)
            with tf.compat.v1.train.MonitoredTrainingSession(
                checkpoint_dir=str(model_dir),
                scaffold=self.scaffold,
                hooks=[tf.compat.v1.train.StopAtStepHook(last_step=3)],
                chief_only_hooks=[hook],
                save_checkpoint_secs=0,
                save_summaries_steps=1,
                log_step_count_steps=1,
            ) as session:
                while not session.should_stop():
                    session.run(self.train_op)


def read_graph_pbtxt(model_dir: pathlib.Path) -> tf.compat.v1.GraphDef:
    return text_format.Parse((model_dir / 'graph.pbtxt').read_text(), tf.compat.v1.GraphDef())


def events(model_dir: pathlib.Path) -> list[tf.compat.v1.Event]:
    (path,) = glob.glob(os.path.join(model_dir, 'events.out.tfevents.*'))
    return list(tf.compat.v1.train.summary_iterator(path))


def kind(event: tf.compat.v1.Event) -> str:
    """'graph_def', 'meta_graph_def', 'checkpoint@<step>', ...: what an event holds."""
    if event.HasField('session_log'):
        status = tf.compat.v1.SessionLog.SessionStatus.Name(event.session_log.status)
        return f'{status.lower()}@{event.step}'
    return event.WhichOneof('what')


@pytest.fixture(scope='module')
def ours_and_stock(tmp_path_factory):
    """model_dirs trained with our hook and the stock one, on the same graph."""
    tiny = TinyGraph()
    # A first run adds the ops that hooks add in begin(): the two runs below see the same graph.
    tiny.train(tmp_path_factory.mktemp('first'), tf.compat.v1.train.CheckpointSaverHook)
    ours, stock = tmp_path_factory.mktemp('ours'), tmp_path_factory.mktemp('stock')
    tiny.train(ours, BackgroundGraphCheckpointSaverHook)
    tiny.train(stock, tf.compat.v1.train.CheckpointSaverHook)
    return ours, stock


def test_writes_the_files_the_stock_hook_writes(ours_and_stock):
    ours, stock = ours_and_stock
    assert (ours / 'graph.pbtxt').read_text() == (stock / 'graph.pbtxt').read_text()
    for name in ('model.ckpt-0.meta', 'model.ckpt-3.meta'):
        read = tf.compat.v1.MetaGraphDef.FromString
        assert read((ours / name).read_bytes()) == read((stock / name).read_bytes()), name
    assert sorted(p.name for p in ours.iterdir() if not p.name.startswith('events.')) == sorted(
        p.name for p in stock.iterdir() if not p.name.startswith('events.')
    )


def test_writes_the_events_the_stock_hook_writes_in_the_same_order(ours_and_stock):
    ours, stock = ours_and_stock
    assert [kind(e) for e in events(ours)] == [kind(e) for e in events(stock)]

    def graphs(model_dir):  # Parsed: the order of a map's entries in the bytes varies.
        return [
            tf.compat.v1.GraphDef.FromString(e.graph_def)
            if kind(e) == 'graph_def'
            else tf.compat.v1.MetaGraphDef.FromString(e.meta_graph_def)
            for e in events(model_dir)
            if kind(e) in ('graph_def', 'meta_graph_def')
        ]

    assert len(graphs(ours)) == 4
    assert graphs(ours) == graphs(stock)


def test_train_writes_graph_pbtxt_and_the_graph_events_before_the_first_checkpoint(tmp_path):
    train(tmp_path)
    all_events = events(tmp_path)
    kinds = [kind(e) for e in all_events]
    # The writer's own graph events (the graph as it was at begin()), then the hook's, as stock.
    assert kinds[:6] == [
        'file_version',
        'graph_def',
        'meta_graph_def',
        'graph_def',
        'meta_graph_def',
        'checkpoint@10',
    ]
    assert kinds[-1] == 'checkpoint@13'
    graph_def = tf.compat.v1.GraphDef.FromString(all_events[3].graph_def)
    meta_graph_def = tf.compat.v1.MetaGraphDef.FromString(all_events[4].meta_graph_def)
    assert graph_def == read_graph_pbtxt(tmp_path)
    assert meta_graph_def.graph_def == graph_def
    assert meta_graph_def.saver_def.filename_tensor_name


def trap_graph_pbtxt(model_dir: pathlib.Path) -> None:
    """Makes writing model_dir/graph.pbtxt fail: a directory of that name is in the way."""
    (model_dir / 'graph.pbtxt').mkdir(parents=True)
    (model_dir / 'graph.pbtxt' / 'keep').write_text('')


def test_a_failed_graph_pbtxt_write_is_raised_by_train_as_stock_raises_it(tmp_path):
    trap_graph_pbtxt(tmp_path / 'stock')
    with pytest.raises(tf.errors.OpError) as stock:
        TinyGraph().train(tmp_path / 'stock', tf.compat.v1.train.CheckpointSaverHook)

    trap_graph_pbtxt(tmp_path / 'ours')
    with pytest.raises(type(stock.value), match=r'graph\.pbtxt'):
        train(tmp_path / 'ours')


class FailsAfterSessionCreated(tf.compat.v1.train.SessionRunHook):
    def after_create_session(self, session, coord):
        raise ValueError('hook failed after session creation')


def test_a_training_error_wins_over_a_failed_write_which_is_logged(tmp_path, caplog):
    trap_graph_pbtxt(tmp_path)
    with (
        caplog.at_level(logging.ERROR, logger='tensorflow'),
        pytest.raises(ValueError, match='hook failed after session creation'),
    ):
        train(tmp_path, hooks=[FailsAfterSessionCreated()])
    (failed_write,) = [r for r in caplog.records if 'graph.pbtxt' in r.getMessage()]
    assert failed_write.exc_info is not None
    assert isinstance(failed_write.exc_info[1], tf.errors.OpError)
