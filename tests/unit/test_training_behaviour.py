"""Checkpoints, summaries and model_dir handling of train/evaluate, as the original did them."""

from __future__ import annotations

import glob
import os

import pytest
import tensorflow as tf

from savedmodel_estimator import RunConfig, SavedModelEstimator
from tests.support.paths import SEED
from tests.support.seed_model import input_fn

pytestmark = pytest.mark.core


def one_batch_input_fn():
    return input_fn().take(1)


def event_tags(directory: str) -> set[str]:
    tags = set()
    for path in glob.glob(os.path.join(directory, 'events.out.tfevents.*')):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags


def test_checkpoints_at_start_and_end_and_summaries(tmp_path):
    est = SavedModelEstimator(SEED / 'saved_model', tmp_path)
    est.train(input_fn, steps=3)
    # The export was trained 10 steps: the first checkpoint is the state as imported.
    state = tf.train.get_checkpoint_state(str(tmp_path))
    steps = sorted(int(p.rsplit('-', 1)[1]) for p in state.all_model_checkpoint_paths)
    assert steps == [10, 13]
    assert 'loss' in event_tags(str(tmp_path))


def test_steps_per_second_is_logged_on_the_configured_cadence(tmp_path):
    est = SavedModelEstimator(
        SEED / 'saved_model', tmp_path, config=RunConfig(log_step_count_steps=1)
    )
    est.train(input_fn, steps=3)
    assert 'global_step/sec' in event_tags(str(tmp_path))


def test_save_checkpoints_steps_and_retention(tmp_path):
    config = RunConfig(save_checkpoints_secs=None, save_checkpoints_steps=2, keep_checkpoint_max=2)
    est = SavedModelEstimator(SEED / 'saved_model', tmp_path, config=config)
    est.train(input_fn, steps=7)
    state = tf.train.get_checkpoint_state(str(tmp_path))
    kept = [int(p.rsplit('-', 1)[1]) for p in state.all_model_checkpoint_paths]
    assert kept == [16, 17]
    assert len(glob.glob(str(tmp_path / 'model.ckpt-*.index'))) == 2


def test_restart_on_same_model_dir_resumes(tmp_path):
    SavedModelEstimator(SEED / 'saved_model', tmp_path).train(input_fn, steps=2)
    again = SavedModelEstimator(SEED / 'saved_model', tmp_path)
    again.train(input_fn, steps=3)
    assert again.get_variable_value('global_step') == 15
    again.train(input_fn, max_steps=15)  # already there: a no-op
    assert again.get_variable_value('global_step') == 15


def test_training_stops_at_end_of_input(tmp_path):
    est = SavedModelEstimator(SEED / 'saved_model', tmp_path)
    est.train(one_batch_input_fn)
    assert est.get_variable_value('global_step') == 11


def test_model_dir_none_is_a_temporary_directory():
    est = SavedModelEstimator(SEED / 'saved_model')
    assert os.path.isdir(est.model_dir)
    assert est.config.model_dir == est.model_dir


def test_conflicting_model_dirs(tmp_path):
    with pytest.raises(ValueError, match='`model_dir` are set both in constructor and `RunConfig`'):
        SavedModelEstimator(
            SEED / 'saved_model', tmp_path / 'a', config=RunConfig(model_dir=str(tmp_path / 'b'))
        )


def test_evaluate_writes_summaries_under_eval_dir(tmp_path):
    est = SavedModelEstimator(SEED / 'saved_model', tmp_path)
    results = est.evaluate(input_fn, steps=1, name='holdout')
    assert est.eval_dir('holdout') == str(tmp_path / 'eval_holdout')
    assert est.eval_dir() == str(tmp_path / 'eval')
    tags = event_tags(est.eval_dir('holdout'))
    assert {'loss', 'metrics/accuracy'} <= tags
    assert results['global_step'] == 10


def test_latest_checkpoint_falls_back_to_the_saved_models_variables(tmp_path):
    est = SavedModelEstimator(SEED / 'saved_model', tmp_path)
    assert est.latest_checkpoint() == str(SEED / 'saved_model' / 'variables' / 'variables')
    with pytest.raises(ValueError, match='Could not find trained model in model_dir'):
        est.get_variable_names()


@pytest.mark.parametrize(
    ('kwargs', 'message'),
    [
        ({'steps': 1, 'max_steps': 2}, 'Can not provide both steps and max_steps.'),
        ({'steps': 0}, 'Must specify steps > 0, given: 0'),
        ({'max_steps': -1}, 'Must specify max_steps > 0, given: -1'),
    ],
)
def test_train_argument_errors(tmp_path, kwargs, message):
    est = SavedModelEstimator(SEED / 'saved_model', tmp_path)
    with pytest.raises(ValueError, match=message):
        est.train(input_fn, **kwargs)


def test_hooks_and_listeners_must_have_the_right_type(tmp_path):
    est = SavedModelEstimator(SEED / 'saved_model', tmp_path)
    with pytest.raises(TypeError, match='Hooks must be a SessionRunHook'):
        est.train(input_fn, steps=1, hooks=['nope'])
    with pytest.raises(
        TypeError, match='saving_listeners must be a list of CheckpointSaverListener'
    ):
        est.train(input_fn, steps=1, saving_listeners=[object()])


def test_evaluate_steps_must_be_positive(tmp_path):
    est = SavedModelEstimator(SEED / 'saved_model', tmp_path)
    with pytest.raises(ValueError, match='Must specify steps > 0, given: 0'):
        est.evaluate(input_fn, steps=0)


def test_predict_keys_that_match_nothing(tmp_path):
    est = SavedModelEstimator(SEED / 'saved_model', tmp_path)

    def predict_input_fn():
        example = tf.train.Example()
        example.features.feature['feature1'].bytes_list.value.append(b'green')
        example.features.feature['feature2'].float_list.value.append(1.0)
        return tf.data.Dataset.from_tensors({'inputs': tf.constant([example.SerializeToString()])})

    assert set(next(est.predict(predict_input_fn, predict_keys=['scores']))) == {'scores'}
    with pytest.raises(ValueError, match='Expected to run at least one output from'):
        next(est.predict(predict_input_fn, predict_keys=['nope']))
