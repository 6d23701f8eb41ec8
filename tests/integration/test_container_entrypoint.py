"""Each component through TFX's in-container entry point, as Vertex AI and KFP v2 call it.

The tasks run as the golden compiled specs say (`python -m
tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor --executor_class_path ...
--json_serialized_invocation_args <ExecutorInput> <beam args>`), one subprocess each, with the
spec's gs:// locations pointed at local directories holding the golden fixtures. Each task's
inputs are the artifacts the previous tasks' ExecutorOutput files describe, as the orchestrator
passes them on: importer -> trainer -> evaluator (baseline: the import) -> predictor.

The tasks alternate between the two specs so both ExecutorInput dialects reach a real executor:
the Vertex spec (schema 2.0.0, typed `parameters`) for the importer and the evaluator, the
Kubeflow spec (schema 2.1.0, `parameterValues` plus the inputs spec) for the trainer and the
predictor.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
import tensorflow as tf

from savedmodel_estimator_tfx.pipelines import kubeflow_v2
from tests.integration.container_tasks import output_artifact, run_task
from tests.integration.golden_artifacts import fixture_records, make_examples
from tests.support.paths import SEED

pytestmark = pytest.mark.slow

SEED_GLOBAL_STEP = 10


def _spec(target: str) -> dict[str, Any]:
    return json.loads(kubeflow_v2.golden_path(target).read_text())


@pytest.fixture(scope='module')
def work(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return tmp_path_factory.mktemp('container')


@pytest.fixture(scope='module')
def locations(work: pathlib.Path) -> dict[str, str]:
    return {
        kubeflow_v2.golden_config().saved_model: str(SEED / 'saved_model'),
        kubeflow_v2.GOLDEN_PIPELINE_ROOT: str(work / 'pipeline-root'),
    }


@pytest.fixture(scope='module')
def examples(work: pathlib.Path) -> dict[str, Any]:
    artifact = make_examples(work / 'examples', 'dnn_classifier_seed')
    return {'uri': artifact.uri, 'metadata': {'split_names': artifact.split_names}}


@pytest.fixture(scope='module')
def imported(work, locations) -> dict[str, Any]:
    return run_task(_spec('vertex'), 'SavedModelImporter', {}, work / 'importer', locations)


@pytest.fixture(scope='module')
def trained(work, locations, imported, examples) -> dict[str, Any]:
    inputs = {'base_model': output_artifact(imported, 'model'), 'examples': examples}
    return run_task(_spec('kubeflow'), 'ContinueTrainer', inputs, work / 'trainer', locations)


@pytest.fixture(scope='module')
def evaluated(work, locations, imported, trained, examples) -> dict[str, Any]:
    inputs = {
        'model': output_artifact(trained, 'model'),
        'baseline_model': output_artifact(imported, 'model'),
        'examples': examples,
    }
    return run_task(_spec('vertex'), 'EstimatorEvaluator', inputs, work / 'evaluator', locations)


@pytest.fixture(scope='module')
def predicted(work, locations, trained, evaluated, examples) -> dict[str, Any]:
    inputs = {
        'model': output_artifact(trained, 'model'),
        'model_blessing': output_artifact(evaluated, 'blessing'),
        'examples': examples,
    }
    return run_task(_spec('kubeflow'), 'BatchPredictor', inputs, work / 'predictor', locations)


def test_importer_writes_the_model_and_reports_its_properties(imported):
    model = output_artifact(imported, 'model')
    assert (pathlib.Path(model['uri']) / 'Format-Serving' / 'saved_model.pb').is_file()
    assert model['name'].startswith('projects/123456789/')  # the resource name comes back
    metadata = model['metadata']
    assert metadata['global_step'] == SEED_GLOBAL_STEP
    assert json.loads(metadata['available_modes']) == ['train', 'eval', 'infer']
    assert metadata['source_uri'] == str(SEED / 'saved_model')  # the spec's, swapped locally
    assert len(metadata['content_hash']) == 64
    assert metadata['tfx_version']


def test_trainer_continues_from_the_imported_step(trained, locations):
    train_steps = kubeflow_v2.golden_config().train_steps
    model = output_artifact(trained, 'model')
    assert (pathlib.Path(model['uri']) / 'Format-Serving' / 'saved_model.pb').is_file()
    assert model['metadata']['global_step'] == SEED_GLOBAL_STEP + train_steps
    run = output_artifact(trained, 'model_run')
    assert run['metadata']['global_step'] == SEED_GLOBAL_STEP + train_steps
    # Checkpoints under the spec's checkpoint_dir (the pipeline root), where a retry resumes.
    checkpoints = locations[kubeflow_v2.GOLDEN_PIPELINE_ROOT] + '/checkpoints'
    assert run['metadata']['checkpoint_dir'].startswith(checkpoints)
    assert tf.train.latest_checkpoint(run['metadata']['checkpoint_dir'])


def test_evaluator_writes_metrics_and_a_blessing(evaluated, trained):
    blessing = output_artifact(evaluated, 'blessing')
    # The golden thresholds ask for a loss no higher than the import's; training lowers it.
    assert blessing['metadata']['blessed'] == 1, blessing['metadata']['blessing_reason']
    assert (pathlib.Path(blessing['uri']) / 'BLESSED').is_file()
    assert blessing['metadata']['current_model'] == output_artifact(trained, 'model')['uri']
    evaluation = output_artifact(evaluated, 'evaluation')
    metrics = json.loads((pathlib.Path(evaluation['uri']) / 'metrics.json').read_text())
    assert 'loss' in json.dumps(metrics)


def test_predictor_writes_prediction_logs_for_the_blessed_model(predicted):
    result = output_artifact(predicted, 'inference_result')
    logs = sorted(pathlib.Path(result['uri']).glob('prediction_logs-*.gz'))
    assert logs, sorted(p.name for p in pathlib.Path(result['uri']).iterdir())
    records = [r for path in logs for r in tf.data.TFRecordDataset(str(path), 'GZIP')]
    expected = len(fixture_records('dnn_classifier_seed', 'eval'))
    assert len(records) == expected
    assert result['metadata']['num_examples'] == expected
    assert 'skipped_reason' not in result['metadata']
    rows = list(pathlib.Path(result['uri']).glob('rows/Split-eval/*.jsonl'))
    assert rows and len(rows[0].read_text().splitlines()) == expected
