"""The whole local pipeline on the bundled demo: two runs, the cache, lineage in ML Metadata."""

from __future__ import annotations

import json
import pathlib

import pytest

from savedmodel_estimator_tfx.pipelines import lineage
from tests.e2e.pipeline_checks import (
    assert_complete_then_cached,
    assert_lineage_from_the_import_to_every_output,
    demo_config,
    run_twice,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """Runs the pipeline twice on a copy of the demo (ML Metadata in SQLite)."""
    config = demo_config(tmp_path_factory.mktemp('pipeline'))
    summaries, store = run_twice(config)
    return config, summaries, store


def test_first_run_completes_every_stage_and_the_second_hits_the_cache(runs):
    config, (first, second), _ = runs
    assert_complete_then_cached(first, second)
    assert first.metadata == str(pathlib.Path(config.output_dir) / 'metadata.sqlite')


def test_training_continued_from_the_imported_step(runs):
    _, (first, _), _ = runs
    assert first.imported_step == 200  # tools/make_demo_bundle.py trained 200 steps
    assert first.trained_step == 220
    assert first.metrics_before['global_step'] == 200
    assert first.metrics_after['global_step'] == 220
    assert first.metrics_after['loss'] != first.metrics_before['loss']


def test_outputs_are_where_the_summary_says(runs):
    _, (first, _), _ = runs
    assert (pathlib.Path(first.trained_model) / 'Format-Serving' / 'saved_model.pb').is_file()
    # The demo's thresholds (accuracy >= 0.5, loss no worse than the import's) pass after the
    # 20 steps: the run is blessed, so BatchPredictor ran.
    assert first.blessed is True
    evaluator_dir = pathlib.Path(first.evaluation).parent.parent
    assert [path.name for path in evaluator_dir.glob('blessing/*/*')] == ['BLESSED']
    rows = [
        json.loads(line)
        for path in pathlib.Path(first.predictions).rglob('*.jsonl*')
        if path.suffix == '.jsonl'
        for line in path.read_text().splitlines()
    ]
    assert len(rows) == 500  # the demo's eval split
    assert all(row['customer_id'].startswith('c') for row in rows)


def test_lineage_leads_from_the_import_to_every_output(runs):
    config, _, store = runs
    assert_lineage_from_the_import_to_every_output(store, config.pipeline_name)


def test_stock_bulk_inferrer_runs_on_the_trained_model_artifact(runs, tmp_path):
    """The trained Model is where and what TFX expects: stock BulkInferrer predicts with it."""
    import tensorflow as tf
    from tensorflow_serving.apis.prediction_log_pb2 import PredictionLog
    from tfx.components.bulk_inferrer import executor as stock_executor
    from tfx.types import standard_artifacts, standard_component_specs

    config, (first, _), store = runs
    trained = lineage.latest_stage_run(store, config.pipeline_name, 'ContinueTrainer')
    gen = lineage.latest_stage_run(store, config.pipeline_name, 'ExampleGen')
    model = standard_artifacts.Model()
    model.set_mlmd_artifact(trained.output('model'))
    examples = standard_artifacts.Examples()
    examples.set_mlmd_artifact(gen.output('examples'))
    result = standard_artifacts.InferenceResult()
    result.uri = str(tmp_path / 'stock')
    stock_executor.Executor().Do(
        {
            standard_component_specs.MODEL_KEY: [model],
            standard_component_specs.EXAMPLES_KEY: [examples],
        },
        {standard_component_specs.INFERENCE_RESULT_KEY: [result]},
        {
            standard_component_specs.MODEL_SPEC_KEY: '{}',
            standard_component_specs.DATA_SPEC_KEY: json.dumps({'example_splits': ['eval']}),
        },
    )
    files = tf.io.gfile.glob(f'{result.uri}/prediction_logs-*.gz')
    logs = [
        PredictionLog.FromString(r)
        for r in tf.data.TFRecordDataset(files, compression_type='GZIP').as_numpy_iterator()
    ]
    assert len(logs) == 500
    stock_scores = sorted(
        c.score
        for log in logs
        for c in log.classify_log.response.result.classifications[0].classes
        if c.label == '1'
    )
    ours = sorted(
        json.loads(line)['scores'][1]
        for path in pathlib.Path(first.predictions).rglob('*.jsonl')
        for line in path.read_text().splitlines()
    )
    assert stock_scores == pytest.approx(ours, rel=1e-5)
