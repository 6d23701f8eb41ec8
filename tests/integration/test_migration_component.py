"""ModelMigrator's executor on real artifacts, its declaration, and `sme migrate`.

The executor runs as TFX runs it (`Do` with Model artifacts whose SavedModel is at
`<uri>/Format-Serving`); the migrated Model is where stock components look and says what it
holds. The component declaration compiles to the keys the spec names; the CLI command (wired by
pipelines/cli/migrate_command.py) prints what it wrote or why it refused.
"""

from __future__ import annotations

import json
import pathlib
import shutil

import pytest
from click.testing import CliRunner
from tfx.types import channel, standard_artifacts

from savedmodel_estimator.migration import MigrationError
from savedmodel_estimator_tfx.components.common import artifacts
from savedmodel_estimator_tfx.components.model_migrator import spec
from savedmodel_estimator_tfx.components.model_migrator.component import ModelMigrator
from savedmodel_estimator_tfx.components.model_migrator.executor import (
    Executor,
    MigrateOptions,
    MigratorParameterError,
)
from savedmodel_estimator_tfx.pipelines.cli.migrate_command import migrate_command
from tests.support.paths import DATA

# The smallest export with all three modes (migrates in about a second).
EXPORT = DATA / 'upstream_suite' / 'load_all_modes' / 'saved_model'
REFUSED = DATA / 'upstream_suite' / 'local_init_op' / 'saved_model'
pytestmark = pytest.mark.slow


def _model_artifact(uri: pathlib.Path, saved_model: pathlib.Path | None = None) -> object:
    model = standard_artifacts.Model()
    model.uri = str(uri)
    if saved_model is not None:
        shutil.copytree(saved_model, uri / artifacts.SERVING_MODEL_DIR)
        model.set_string_custom_property(artifacts.TFX_VERSION_PROPERTY, '1.16.0')
    return model


def test_the_executor_migrates_a_model_artifact(tmp_path):
    source = _model_artifact(tmp_path / 'imported', EXPORT)
    migrated = _model_artifact(tmp_path / 'migrated')
    (tmp_path / 'migrated').mkdir()
    Executor().Do({spec.MODEL_KEY: [source]}, {spec.MIGRATED_MODEL_KEY: [migrated]}, {})

    assert (tmp_path / 'migrated' / 'Format-Serving' / 'saved_model.pb').is_file()
    assert artifacts.model_path(migrated) == str(tmp_path / 'migrated' / 'Format-Serving')
    properties = {
        name: migrated.get_string_custom_property(name)
        for name in (
            artifacts.TFX_VERSION_PROPERTY,
            spec.SIGNATURES_PROPERTY,
            spec.ENDPOINTS_PROPERTY,
            spec.LABEL_KEYS_PROPERTY,
            artifacts.SERVING_INPUTS_PROPERTY,
            spec.MIGRATED_FROM_PROPERTY,
        )
    }
    assert json.loads(properties[spec.SIGNATURES_PROPERTY]) == {
        'serving_default': 'tensorflow/serving/predict'
    }
    assert json.loads(properties[spec.ENDPOINTS_PROPERTY]) == [
        'metrics',
        'reset_metrics',
        'serve',
        'train_step',
        'update_metrics',
    ]
    assert json.loads(properties[spec.LABEL_KEYS_PROPERTY]) == ['label']
    assert json.loads(properties[artifacts.SERVING_INPUTS_PROPERTY]) == {
        'x': {'dtype': 'int32', 'shape': [None, 1]}
    }
    assert properties[spec.MIGRATED_FROM_PROPERTY] == str(source.uri) + '/Format-Serving'
    assert properties[artifacts.TFX_VERSION_PROPERTY]
    assert len(migrated.get_string_custom_property(artifacts.CONTENT_HASH_PROPERTY)) == 64


def test_a_refused_export_fails_the_execution_and_writes_nothing(tmp_path):
    source = _model_artifact(tmp_path / 'imported', REFUSED)
    migrated = _model_artifact(tmp_path / 'migrated')
    (tmp_path / 'migrated').mkdir()
    with pytest.raises(MigrationError, match="each change 'some_var' at every load"):
        Executor().Do({spec.MODEL_KEY: [source]}, {spec.MIGRATED_MODEL_KEY: [migrated]}, {})
    assert list((tmp_path / 'migrated').iterdir()) == []


def test_label_keys_parameter():
    assert MigrateOptions.from_exec_properties({}).label_keys is None
    parsed = MigrateOptions.from_exec_properties({spec.LABEL_KEYS_KEY: '["y", "z"]'})
    assert parsed.label_keys == ('y', 'z')
    with pytest.raises(MigratorParameterError, match=r"label_keys='y' is invalid: expected a JSON"):
        MigrateOptions.from_exec_properties({spec.LABEL_KEYS_KEY: 'y'})
    with pytest.raises(MigratorParameterError, match='expected a list of strings'):
        MigrateOptions.from_exec_properties({spec.LABEL_KEYS_KEY: '[1]'})
    with pytest.raises(
        TypeError, match=r"ModelMigrator\(\) got an unexpected parameter 'label_key'"
    ):
        MigrateOptions.from_exec_properties({'label_key': '["y"]'})


def test_the_component_declares_its_channels_and_parameter():
    importer_model = standard_artifacts.Model

    migrator = ModelMigrator(model=channel.Channel(type=importer_model), label_keys=['label'])
    assert set(migrator.inputs) == {spec.MODEL_KEY}
    assert set(migrator.outputs) == {spec.MIGRATED_MODEL_KEY}
    assert migrator.outputs[spec.MIGRATED_MODEL_KEY].type == standard_artifacts.Model
    assert migrator.exec_properties == {spec.LABEL_KEYS_KEY: '["label"]'}
    assert ModelMigrator(model=channel.Channel(type=importer_model)).exec_properties == {
        spec.LABEL_KEYS_KEY: None
    }


def test_sme_migrate(tmp_path):
    runner = CliRunner()
    done = runner.invoke(migrate_command, [str(EXPORT), str(tmp_path / 'out')])
    assert done.exit_code == 0, done.output
    assert done.output.splitlines() == [
        f'Migrated into {tmp_path / "out"}',
        '  signatures:       serving_default (predict)',
        '  functions:        metrics, reset_metrics, serve, train_step, update_metrics',
        '  variables:        2 (+ 4 metric)',
        '  label keys:       label',
        'Load it with tf.saved_model.load(OUT); see docs/leaving-estimator.md.',
    ]
    as_json = runner.invoke(migrate_command, [str(EXPORT), str(tmp_path / 'json'), '--json'])
    assert json.loads(as_json.output)['variables'] == ['global_step', 'some_var']
    again = runner.invoke(migrate_command, [str(EXPORT), str(tmp_path / 'out')])
    assert again.exit_code == 2
    assert 'is not empty (found: ' in again.output

    refused = runner.invoke(migrate_command, [str(REFUSED), str(tmp_path / 'refused'), '--json'])
    assert refused.exit_code == 2
    assert "error: Cannot migrate the SavedModel at '" in refused.output
    assert not (tmp_path / 'refused').exists()
