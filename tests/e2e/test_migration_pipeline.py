"""A migrated Estimator export in a TFX pipeline of stock components, run twice by LocalDagRunner.

ImportExampleGen -> SavedModelImporter -> ModelMigrator -> stock Evaluator (TFMA: AUC and
accuracy, overall and sliced by `color`, blessing on AUC) and stock BulkInferrer -> stock
Pusher (blessed by the Evaluator); beside them, our EstimatorEvaluator runs the export's own eval
graph on the imported model. TFX 1.16 dropped Estimators and TFMA 0.47 the EvalSavedModel: the
stock components take the export only once migrated.

The model is the `dnn_classifier_partitioned` golden (150 eval rows, AUC ~0.80, accuracy 0.70).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from savedmodel_estimator_tfx.components.estimator_evaluator.component import EstimatorEvaluator
from savedmodel_estimator_tfx.components.model_migrator.component import ModelMigrator
from savedmodel_estimator_tfx.components.saved_model_importer.component import SavedModelImporter
from savedmodel_estimator_tfx.pipelines import lineage

tfx = pytest.importorskip('tfx.v1')
tfma = pytest.importorskip('tensorflow_model_analysis')
pytestmark = pytest.mark.slow

GOLDEN = (
    pathlib.Path(__file__).resolve().parents[1]
    / 'data'
    / 'estimator_exports'
    / 'dnn_classifier_partitioned'
)
PIPELINE = 'migration-e2e'
# Accuracy: the same predictions against the same 0.5 threshold (Estimator's class_ids,
# TFMA's BinaryAccuracy) -- equal to float32 rounding of the count ratio.
ACCURACY_ATOL = 1e-6
# AUC: tf.compat.v1.metrics.auc (the Estimator head) sums a ROC curve over 200 thresholds with
# careful interpolation; TFMA's AUC over 10000 thresholds. Both approximate the exact AUC of the
# same predictions, each within what its threshold grid loses where several predictions fall
# between two thresholds: at most the spacing 1/200 = 0.005 for the coarser. 0.01 allows both.
AUC_ATOL = 0.01


def _components(root: pathlib.Path) -> list[Any]:
    example_gen = tfx.components.ImportExampleGen(
        input_base=str(GOLDEN / 'data'),
        input_config=tfx.proto.Input(
            splits=[
                tfx.proto.Input.Split(name='train', pattern='train.tfrecord'),
                tfx.proto.Input.Split(name='eval', pattern='eval.tfrecord'),
            ]
        ),
    )
    importer = SavedModelImporter(
        source_uri=str(GOLDEN / 'saved_model'), required_modes=('train', 'eval')
    )
    migrator = ModelMigrator(model=importer.outputs['model'])
    eval_config = tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(signature_name='predict', prediction_key='logistic', label_key='label')
        ],
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=['color'])],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name='ExampleCount'),
                    tfma.MetricConfig(class_name='BinaryAccuracy'),
                    tfma.MetricConfig(
                        class_name='AUC',
                        threshold=tfma.MetricThreshold(
                            value_threshold=tfma.GenericValueThreshold(lower_bound={'value': 0.6})
                        ),
                    ),
                ]
            )
        ],
    )
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs['examples'],
        model=migrator.outputs['migrated_model'],
        eval_config=eval_config,
        example_splits=['eval'],
    )
    estimator_evaluator = EstimatorEvaluator(
        model=importer.outputs['model'], examples=example_gen.outputs['examples'], batch_size=150
    )
    bulk_inferrer = tfx.components.BulkInferrer(
        examples=example_gen.outputs['examples'],
        model=migrator.outputs['migrated_model'],
        data_spec=tfx.proto.DataSpec(example_splits=['eval']),
    )
    pusher = tfx.components.Pusher(
        model=migrator.outputs['migrated_model'],
        model_blessing=evaluator.outputs['blessing'],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=str(root / 'pushed'))
        ),
    )
    return [
        example_gen,
        importer,
        migrator,
        evaluator,
        estimator_evaluator,
        bulk_inferrer,
        pusher,
    ]


@pytest.fixture(scope='module')
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp('migration_pipeline')
    connection = tfx.orchestration.metadata.sqlite_metadata_connection_config(
        str(root / 'metadata.sqlite')
    )
    states = []
    for _ in range(2):
        pipeline = tfx.dsl.Pipeline(
            pipeline_name=PIPELINE,
            pipeline_root=str(root / 'pipeline_root'),
            metadata_connection_config=connection,
            components=_components(root),
            enable_cache=True,
        )
        tfx.orchestration.LocalDagRunner().run(pipeline)
        store = lineage.open_store(connection)
        states.append(
            {
                node: lineage.latest_stage_run(store, PIPELINE, node)
                for node in (
                    'ImportExampleGen',
                    'SavedModelImporter',
                    'ModelMigrator',
                    'Evaluator',
                    'EstimatorEvaluator',
                    'BulkInferrer',
                    'Pusher',
                )
            }
        )
    return {'root': root, 'runs': states}


def test_every_stage_completes_then_hits_the_cache(runs):
    first, second = runs['runs']
    assert {node: run.state for node, run in first.items()} == dict.fromkeys(first, 'COMPLETE')
    assert {node: run.state for node, run in second.items()} == dict.fromkeys(first, 'CACHED')


def _tfma_metrics(evaluation_uri: str) -> dict[tuple, dict[str, float]]:
    """slice (tuple of (feature, value)) -> metric name -> value, from TFMA's output."""
    result = tfma.load_eval_result(evaluation_uri)
    metrics = {}
    for slice_key, values in result.slicing_metrics:
        flat = values['']['']
        metrics[tuple(slice_key)] = {
            name: value.get('doubleValue', value) for name, value in flat.items()
        }
    return metrics


def test_stock_evaluator_agrees_with_the_estimator_eval_graph(runs):
    first = runs['runs'][0]
    evaluation = first['Evaluator'].output('evaluation')
    tfma_metrics = _tfma_metrics(evaluation.uri)
    ours_uri = first['EstimatorEvaluator'].output('evaluation').uri
    ours = json.loads((pathlib.Path(ours_uri) / 'metrics.json').read_text())
    ours = ours.get('current', ours.get('metrics', ours))
    overall = tfma_metrics[()]
    assert overall['example_count'] == 150
    assert abs(overall['binary_accuracy'] - ours['metrics/accuracy']) <= ACCURACY_ATOL
    assert abs(overall['auc'] - ours['metrics/auc']) <= AUC_ATOL
    colors = {key for key in tfma_metrics if key}
    assert colors and all(key[0][0] == 'color' for key in colors)
    assert sum(tfma_metrics[key]['example_count'] for key in colors) == 150
    blessing = pathlib.Path(first['Evaluator'].output('blessing').uri)
    assert (blessing / 'BLESSED').exists()


def test_stock_bulk_inferrer_classifies_with_the_migrated_model(runs):
    from tensorflow_serving.apis.prediction_log_pb2 import PredictionLog

    first = runs['runs'][0]
    result = pathlib.Path(first['BulkInferrer'].output('inference_result').uri)
    logs = [
        PredictionLog.FromString(record.numpy())
        for path in sorted(result.glob('*.gz'))
        for record in tf.data.TFRecordDataset(str(path), compression_type='GZIP')
    ]
    assert len(logs) == 150
    assert all(log.WhichOneof('log_type') == 'classify_log' for log in logs)
    # The original export's classification signature on the same examples.
    serialized = [log.classify_log.request.input.example_list.examples[0] for log in logs[:10]]
    records = [example.SerializeToString() for example in serialized]
    with tf.Graph().as_default() as graph, tf.compat.v1.Session() as session:
        meta_graph = tf.compat.v1.saved_model.load(session, ['serve'], str(GOLDEN / 'saved_model'))
        signature = meta_graph.signature_def['serving_default']
        scores = session.run(
            graph.get_tensor_by_name(signature.outputs['scores'].name),
            {graph.get_tensor_by_name(signature.inputs['inputs'].name): records},
        )
    ours = [
        [c.score for c in log.classify_log.response.result.classifications[0].classes]
        for log in logs[:10]
    ]
    np.testing.assert_allclose(ours, scores, rtol=1e-6)


def test_stock_pusher_pushes_the_blessed_migrated_model(runs):
    first = runs['runs'][0]
    pushed = first['Pusher'].output('pushed_model')
    assert lineage.custom_property(pushed, 'pushed') == 1
    destination = lineage.custom_property(pushed, 'pushed_destination')
    assert (pathlib.Path(destination) / 'saved_model.pb').is_file()
    loaded = tf.saved_model.load(destination)
    assert hasattr(loaded, 'train_step') and sorted(loaded.signatures) == [
        'classification',
        'predict',
        'regression',
        'serving_default',
    ]
