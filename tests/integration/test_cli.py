"""`sme` as a user runs it: inspect, each stage alone on plain directories, and bad input."""

from __future__ import annotations

import json

import pytest
import tensorflow as tf
from click.testing import CliRunner

from savedmodel_estimator_tfx.pipelines.cli import main
from tests.integration.golden_artifacts import EXPORTS, make_examples
from tests.support.paths import SEED


def sme(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def test_inspect_lists_modes_signatures_and_the_scan():
    code, out = sme('inspect', SEED / 'saved_model')
    assert code == 0
    assert 'modes: train, eval, infer; global step: 10' in out
    assert 'nothing a model has no business running' in out


def test_inspect_json_is_machine_readable():
    code, out = sme('inspect', '--json', SEED / 'saved_model')
    assert code == 0
    summary = json.loads(out)
    assert summary['modes'] == ['train', 'eval', 'infer']
    assert set(summary['signatures']['train']['inputs']) == {'feature1', 'feature2', 'label'}
    assert summary['unsafe_ops'] == []


def test_inspect_a_directory_that_is_not_a_saved_model(tmp_path):
    code, out = sme('inspect', tmp_path)
    assert code == 2
    assert 'no saved_model.pb' in out


def test_messages_print_brackets_as_written(tmp_path):
    """Paths and names are printed, not parsed as rich markup ('[/bold]' once crashed the CLI)."""
    odd = tmp_path / 'exports[/bold]' / '[red]v1'
    odd.mkdir(parents=True)
    code, out = sme('inspect', odd)
    assert code == 2
    assert f'{odd}' in out
    assert 'no saved_model.pb' in out


def test_each_stage_alone_on_plain_directories(tmp_path):
    examples = make_examples(tmp_path / 'examples', 'dnn_classifier_seed')
    code, out = sme(
        'import', SEED / 'saved_model', '--out', tmp_path / 'imported', '--require-mode', 'train'
    )
    assert code == 0, out
    assert json.loads(out)['model']['global_step'] == 10

    code, out = sme(
        'train',
        '--model',
        tmp_path / 'imported',
        '--examples',
        examples.uri,
        '--out',
        tmp_path / 'trained',
        '--run-dir',
        tmp_path / 'run',
        '--train-steps',
        5,
        '--batch-size',
        100,
        '--save-checkpoints-steps',
        2,
        '--keep-checkpoint-max',
        10,
    )
    assert code == 0, out
    assert json.loads(out[out.index('{') :])['model']['global_step'] == 15
    kept = tf.train.get_checkpoint_state(str(tmp_path / 'run')).all_model_checkpoint_paths
    assert [int(path.rsplit('-', 1)[1]) for path in kept] == [10, 12, 14, 15]

    code, out = sme(
        'evaluate',
        '--model',
        tmp_path / 'trained',
        '--examples',
        examples.uri,
        '--baseline',
        tmp_path / 'imported',
        '--out',
        tmp_path / 'evaluation',
        '--blessing-out',
        tmp_path / 'blessing',
        '--threshold',
        'loss<=100',
    )
    assert code == 0, out
    assert (tmp_path / 'blessing' / 'BLESSED').is_file()
    report = json.loads((tmp_path / 'evaluation' / 'metrics.json').read_text())
    assert report['metrics']['global_step'] == 15
    assert report['baseline_metrics']['global_step'] == 10

    code, out = sme(
        'predict',
        '--model',
        tmp_path / 'trained',
        '--examples',
        examples.uri,
        '--out',
        tmp_path / 'predictions',
        '--blessing',
        tmp_path / 'blessing',
        '--split',
        'eval',
        '--format',
        'jsonl',
    )
    assert code == 0, out
    rows = [
        json.loads(line)
        for path in (tmp_path / 'predictions').rglob('*.jsonl')
        for line in path.read_text().splitlines()
    ]
    assert len(rows) == 300
    assert {'classes', 'scores'} <= set(rows[0])


def test_train_refuses_a_predict_only_model(tmp_path):
    examples = make_examples(tmp_path / 'examples', 'dnn_classifier_seed')
    code, out = sme(
        'train',
        '--model',
        EXPORTS / 'dnn_classifier_predict_only' / 'saved_model',
        '--examples',
        examples.uri,
        '--out',
        tmp_path / 'trained',
        '--run-dir',
        tmp_path / 'run',
        '--train-steps',
        1,
    )
    assert code == 2
    assert "has no 'train' MetaGraph (found: infer)" in out
    assert not (tmp_path / 'trained' / 'Format-Serving').exists()


def test_examples_without_splits_are_explained(tmp_path):
    code, out = sme(
        'train',
        '--model',
        SEED / 'saved_model',
        '--examples',
        tmp_path,
        '--out',
        tmp_path / 'o',
        '--run-dir',
        tmp_path / 'r',
        '--train-steps',
        1,
    )
    assert code == 2
    assert 'has no Split-<name>/ folders' in out


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['--train-steps', '0'], 'train_steps: 0 is less than the minimum of 1'),
        (['--threshold', 'accuracy=0.5'], 'expected METRIC>=VALUE'),
    ],
)
def test_run_rejects_bad_settings_before_running(tmp_path, args, message):
    code, out = sme(
        'run',
        '--saved-model',
        SEED / 'saved_model',
        '--data',
        tmp_path,
        '--output-dir',
        tmp_path / 'out',
        *args,
    )
    assert code == 2
    assert message in out
    assert not (tmp_path / 'out').exists()


def test_run_config_file_errors_name_the_key(tmp_path):
    config = tmp_path / 'config.json'
    config.write_text(json.dumps({'saved_model': 'x', 'data': 'y', 'batch_size': 'big'}))
    code, out = sme('run', '--config', config)
    assert code == 2
    assert "batch_size: 'big' is not of type 'integer'" in out


DEMO = EXPORTS.parents[2] / 'examples' / 'demo'


def demo_run_args(tmp_path) -> list:
    return [
        'run',
        '--saved-model', DEMO / 'saved_model',
        '--data', DEMO / 'data',
        '--output-dir', tmp_path / 'out',
    ]  # fmt: skip


def test_run_refuses_an_output_directory_another_run_holds(tmp_path):
    from savedmodel_estimator_tfx.pipelines import run_lock

    with run_lock.output_dir_lock(str(tmp_path / 'out')) as lock:
        code, out = sme(*demo_run_args(tmp_path))
    assert code == 75, out
    assert f"Another run is using the output directory '{tmp_path / 'out'}'" in out
    assert f'holds its lock {lock!r}' in out
    assert 'pass --wait-for-lock to wait here' in out
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == ['.sme-run.lock']


def test_run_exits_1_when_a_stage_of_this_run_did_not_finish(tmp_path, monkeypatch):
    """A runner that returns without running anything: every stage is NOT RUN, not exit 0."""
    from savedmodel_estimator_tfx.pipelines import local_runner

    monkeypatch.setattr(local_runner, 'run_local', lambda config, connection=None: None)
    code, out = sme(*demo_run_args(tmp_path))
    assert code == 1, out
    assert 'error: stage ExampleGen of this run ended NOT RUN, not COMPLETE or CACHED' in out


def test_run_takes_the_checkpoint_cadence_from_flags_and_config(tmp_path, monkeypatch):
    from savedmodel_estimator_tfx.pipelines.cli import run_command

    given = []
    monkeypatch.setattr(run_command, 'run_pipeline', lambda config, **_: given.append(config))
    config = tmp_path / 'run.json'
    config.write_text(json.dumps({'saved_model': 'm', 'data': 'd', 'keep_checkpoint_max': 3}))
    code, out = sme('run', '--config', config, '--save-checkpoints-steps', 50)
    assert code == 0, out
    assert (given[0].save_checkpoints_steps, given[0].keep_checkpoint_max) == (50, 3)
    assert given[0].save_checkpoints_secs is None

    code, out = sme('run', '--config', config, '--save-checkpoints-steps', 50,
                    '--save-checkpoints-secs', 60)  # fmt: skip
    assert code == 2
    assert 'save_checkpoints_steps and save_checkpoints_secs are both set (50 steps, 60 s)' in out
