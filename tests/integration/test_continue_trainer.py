"""ContinueTrainer's executor on the golden Estimator exports."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np
import pytest
import tensorflow as tf
from tfx.types import standard_artifacts

from savedmodel_estimator import RunConfig, SavedModelEstimator
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator.serving.tf_example_inputs import make_input_fn, signature_columns
from savedmodel_estimator_tfx.components.common import artifacts
from savedmodel_estimator_tfx.components.continue_trainer import executor, spec, training
from tests.integration.golden_artifacts import (
    EXPORTS,
    core_evaluate,
    fixture_records,
    listing,
    make_examples,
    make_model,
    make_output,
    write_records,
)

pytestmark = pytest.mark.slow

SEED_MODEL = 'dnn_classifier_seed'
LINEAR = 'linear_regressor'
LINEAR_BASE_STEP = 100  # the linear_regressor export was trained 100 steps


def run(
    root: pathlib.Path,
    base_model: Any,
    examples: Any,
    *,
    model_run: Any = None,
    schema: Any = None,
    **params: Any,
) -> tuple[Any, Any]:
    """Runs the executor; returns the output model and model_run artifacts."""
    model = make_output(standard_artifacts.Model, root / 'model')
    model_run = model_run or make_output(standard_artifacts.ModelRun, root / 'model_run')
    inputs = {spec.BASE_MODEL_KEY: [base_model], spec.EXAMPLES_KEY: [examples]}
    if schema is not None:
        inputs[spec.SCHEMA_KEY] = [schema]
    outputs = {spec.MODEL_KEY: [model], spec.MODEL_RUN_KEY: [model_run]}
    executor.Executor().Do(inputs, outputs, params)
    return model, model_run


def serving_dir(model: Any) -> str:
    return str(pathlib.Path(model.uri) / artifacts.SERVING_MODEL_DIR)


def variables(saved_model_or_checkpoint: str) -> dict[str, np.ndarray]:
    return {
        name: tf.train.load_variable(saved_model_or_checkpoint, name)
        for name, _ in tf.train.list_variables(saved_model_or_checkpoint)
    }


# -- training and re-export -------------------------------------------------------------------


def test_trains_and_reexports_every_mode(tmp_path: pathlib.Path) -> None:
    base = make_model(tmp_path / 'base', SEED_MODEL)
    examples = make_examples(tmp_path / 'examples', SEED_MODEL)
    base_dir = serving_dir(base)
    base_step = training.global_step_of(SavedModelReader(base_dir).variables_path)

    model, model_run = run(
        tmp_path,
        base,
        examples,
        train_steps=5,
        batch_size=50,
        shuffle_buffer=64,
        seed=7,
        save_checkpoints_steps=2,
        train_splits='["train"]',
    )

    step = base_step + 5
    assert model.get_int_custom_property(artifacts.GLOBAL_STEP_PROPERTY) == step
    assert listing(model.uri)[0] == artifacts.SERVING_MODEL_DIR  # no staging directory left
    assert not [p for p in listing(model.uri) if 'staging' in p or 'temp' in p]
    assert tf.train.latest_checkpoint(model_run.uri).endswith(f'model.ckpt-{step}')
    assert tf.io.gfile.glob(f'{model_run.uri}/events.out.tfevents.*')

    original, exported = SavedModelReader(base_dir), SavedModelReader(serving_dir(model))
    assert exported.available_modes == ['train', 'eval', 'infer']
    for mode in original.available_modes:
        assert artifacts.signature_inputs(exported.signature(mode)) == artifacts.signature_inputs(
            original.signature(mode)
        )
    assert json.loads(model.get_string_custom_property(artifacts.SERVING_INPUTS_PROPERTY)) == {
        'inputs': {'dtype': 'string', 'shape': [None]}
    }
    assert json.loads(model.get_string_custom_property(artifacts.MODES_PROPERTY)) == [
        'train',
        'eval',
        'infer',
    ]
    assert model.get_string_custom_property(artifacts.SOURCE_URI_PROPERTY) == base.uri
    assert model.get_string_custom_property(artifacts.TFX_VERSION_PROPERTY)

    # The re-exported eval graph gives what the core gives from the run's checkpoint.
    eval_records = fixture_records(SEED_MODEL, 'eval')
    from_checkpoint = core_evaluate(base_dir, SEED_MODEL, eval_records, model_dir=model_run.uri)
    from_export = core_evaluate(serving_dir(model), SEED_MODEL, eval_records)
    assert from_export['global_step'] == step
    assert from_export == pytest.approx(from_checkpoint, rel=1e-6, abs=1e-7)
    assert from_export != pytest.approx(core_evaluate(base_dir, SEED_MODEL, eval_records))


# -- resuming ---------------------------------------------------------------------------------


PARAMS = {'batch_size': 50, 'save_checkpoints_steps': 3, 'seed': 3}


@pytest.fixture(scope='module')
def expected_linear(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The core trained 3 steps then resumed to 6 (input restarted), and 6 steps straight."""
    saved_model = str(EXPORTS / LINEAR / 'saved_model')
    path = tmp_path_factory.mktemp('expected') / 'train.tfrecord.gz'
    write_records(path, fixture_records(LINEAR, 'train'))
    columns = signature_columns(SavedModelReader(saved_model).signature('train'), 'train')
    input_fn = make_input_fn([str(path)], columns, PARAMS['batch_size'], num_epochs=None)
    config = RunConfig(
        tf_random_seed=PARAMS['seed'], save_checkpoints_steps=3, save_checkpoints_secs=None
    )
    resumed = SavedModelEstimator(saved_model, str(path.parent / 'resumed'), config=config)
    resumed.train(input_fn, max_steps=LINEAR_BASE_STEP + 3)
    resumed.train(input_fn, max_steps=LINEAR_BASE_STEP + 6)
    straight = SavedModelEstimator(saved_model, str(path.parent / 'straight'), config=config)
    straight.train(input_fn, max_steps=LINEAR_BASE_STEP + 6)
    return {
        'resumed': variables(resumed.latest_checkpoint()),
        'straight': variables(straight.latest_checkpoint()),
    }


def assert_variables(saved_model_dir: str, expected: dict[str, np.ndarray]) -> None:
    actual = variables(f'{saved_model_dir}/variables/variables')
    assert sorted(actual) == sorted(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(actual[name], value, rtol=1e-6, err_msg=name)


def test_second_run_on_the_same_model_run_continues(
    tmp_path: pathlib.Path, expected_linear: dict[str, Any]
) -> None:
    base = make_model(tmp_path / 'base', LINEAR)
    examples = make_examples(tmp_path / 'examples', LINEAR)
    model_run = make_output(standard_artifacts.ModelRun, tmp_path / 'model_run')
    first, _ = run(
        tmp_path / 'a',
        base,
        examples,
        model_run=model_run,
        max_steps=LINEAR_BASE_STEP + 3,
        **PARAMS,
    )
    second, _ = run(
        tmp_path / 'b',
        base,
        examples,
        model_run=model_run,
        max_steps=LINEAR_BASE_STEP + 6,
        **PARAMS,
    )

    assert first.get_int_custom_property(artifacts.GLOBAL_STEP_PROPERTY) == LINEAR_BASE_STEP + 3
    assert second.get_int_custom_property(artifacts.GLOBAL_STEP_PROPERTY) == LINEAR_BASE_STEP + 6
    assert_variables(serving_dir(second), expected_linear['resumed'])
    with pytest.raises(AssertionError):  # not trained from the import again
        assert_variables(serving_dir(second), expected_linear['straight'])


class _CrashAfterSave(tf.compat.v1.train.CheckpointSaverListener):
    def __init__(self, step: int) -> None:
        self.step = step

    def after_save(self, session: Any, global_step_value: int) -> None:
        if global_step_value >= self.step:
            raise RuntimeError(f'simulated crash after the checkpoint at step {global_step_value}')


def test_retried_execution_resumes_from_checkpoint_dir(
    tmp_path: pathlib.Path, expected_linear: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = make_model(tmp_path / 'base', LINEAR)
    examples = make_examples(tmp_path / 'examples', LINEAR)
    params = {
        **PARAMS,
        'max_steps': LINEAR_BASE_STEP + 6,
        'checkpoint_dir': str(tmp_path / 'checkpoints'),
    }
    train = SavedModelEstimator.train

    def crashing_train(self: SavedModelEstimator, input_fn: Any, **kwargs: Any) -> Any:
        listener = _CrashAfterSave(LINEAR_BASE_STEP + 3)
        return train(self, input_fn, saving_listeners=[listener], **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(SavedModelEstimator, 'train', crashing_train)
        with pytest.raises(RuntimeError, match='simulated crash'):
            run(tmp_path / 'attempt1', base, examples, **params)
    assert listing(tmp_path / 'attempt1' / 'model') == []
    (run_dir,) = (tmp_path / 'checkpoints').iterdir()
    assert tf.train.latest_checkpoint(str(run_dir)).endswith(f'-{LINEAR_BASE_STEP + 3}')

    # TFX gives a retried execution new output uris; the checkpoint_dir key is the same.
    model, model_run = run(tmp_path / 'attempt2', base, examples, **params)

    assert_variables(serving_dir(model), expected_linear['resumed'])
    assert model_run.get_string_custom_property(artifacts.CHECKPOINT_DIR_PROPERTY) == str(run_dir)
    assert model_run.get_int_custom_property(spec.RESUMED_FROM_STEP_PROPERTY) == (
        LINEAR_BASE_STEP + 3
    )
    latest = tf.train.latest_checkpoint(model_run.uri)
    assert latest == f'{model_run.uri}/model.ckpt-{LINEAR_BASE_STEP + 6}'  # a self-contained copy


def test_failed_export_leaves_no_partial_model(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = make_model(tmp_path / 'base', LINEAR)
    examples = make_examples(tmp_path / 'examples', LINEAR)

    def fail(original: Any, exported: Any) -> None:
        raise RuntimeError('simulated failure after the SavedModel was written')

    monkeypatch.setattr(training, '_check_same_inputs', fail)
    with pytest.raises(RuntimeError, match='simulated failure'):
        run(tmp_path, base, examples, train_steps=1)
    assert listing(tmp_path / 'model') == []


# -- the component ----------------------------------------------------------------------------


def test_component_declares_its_parameters_and_checks_them_early() -> None:
    from tfx.types import channel_utils

    from savedmodel_estimator_tfx.components.continue_trainer.component import ContinueTrainer

    base = channel_utils.as_channel([standard_artifacts.Model()])
    examples = channel_utils.as_channel([standard_artifacts.Examples()])
    trainer = ContinueTrainer(base_model=base, examples=examples, train_steps=10, seed=3)
    assert trainer.exec_properties == {
        'train_steps': 10,
        'batch_size': 32,
        'shuffle_buffer': 0,
        'seed': 3,
        'train_splits': '["train"]',
    }
    assert set(trainer.outputs) == {'model', 'model_run'}
    allowing = ContinueTrainer(
        base_model=base, examples=examples, train_steps=10, allow_non_finite=True
    )
    assert allowing.exec_properties['allow_non_finite'] == 1
    with pytest.raises(ValueError, match='needs exactly one of train_steps and max_steps'):
        ContinueTrainer(base_model=base, examples=examples)
    with pytest.raises(ValueError, match='save_checkpoints_steps or save_checkpoints_secs'):
        ContinueTrainer(
            base_model=base,
            examples=examples,
            max_steps=5,
            save_checkpoints_steps=1,
            save_checkpoints_secs=60,
        )
