"""Beam beyond one worker: the pipeline's input reading and BatchPredictor on DirectRunner's
multi_processing and multi_threading modes give what the in-memory runner gives.

A three-node pipeline (the pipeline's own CsvExampleGen and SavedModelImporter on the demo, then
BatchPredictor on the imported model) runs twice, each time from a fresh pipeline root and ML
Metadata store: in memory, then with two worker processes, then with two worker threads (which
share BatchPredictor's loaded model). Both Beam stages (ExampleGen and BatchPredictor) then run
in the workers, as on Dataflow, Flink or Spark. Records may come out in
another order and in other file shards, so the outputs are compared as multisets.
"""

from __future__ import annotations

import collections
import json
import pathlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis.prediction_log_pb2 import PredictionLog
from tfx import v1 as tfx

from savedmodel_estimator_tfx.components.batch_predictor.component import BatchPredictor
from savedmodel_estimator_tfx.pipelines import definition, lineage, metadata_connection
from tests.e2e.pipeline_checks import demo_config
from tests.support.canonical_logs import assert_same_logs

pytestmark = pytest.mark.slow

IN_MEMORY = ['--direct_running_mode=in_memory']
MULTI_PROCESS = ['--direct_running_mode=multi_processing', '--direct_num_workers=2']
MULTI_THREAD = ['--direct_running_mode=multi_threading', '--direct_num_workers=2']
TWO_WORKERS = ('multi_processing', 'multi_threading')
PIPELINE = 'sme-beam-modes'


def predict_pipeline(root: pathlib.Path, beam_args: list[str]) -> tfx.dsl.Pipeline:
    """The pipeline's own ExampleGen and importer (demo config), BatchPredictor on the import."""
    config = demo_config(root, output_dir=str(root / 'out'), beam_pipeline_args=beam_args)
    nodes = {node.id: node for node in definition.create_components(config)}
    example_gen, importer = nodes[definition.EXAMPLE_GEN], nodes[definition.IMPORTER]
    predictor = BatchPredictor(
        model=importer.outputs['model'],
        examples=example_gen.outputs['examples'],
        splits=['train', 'eval'],
        output_formats=['prediction_log', 'jsonl'],
        passthrough_features=['customer_id'],
    ).with_id(definition.PREDICTOR)
    return tfx.dsl.Pipeline(
        pipeline_name=PIPELINE,
        pipeline_root=config.pipeline_root,
        metadata_connection_config=metadata_connection.connection_config(config),
        components=[example_gen, importer, predictor],
        enable_cache=False,
        beam_pipeline_args=list(config.beam_pipeline_args),
    )


def records(pattern: str, canonical: Callable[[bytes], bytes]) -> collections.Counter:
    """The records of the gzip TFRecord files, each in canonical form.

    A process writes a tf.Example's feature map in its own hash order, so the bytes of equal
    messages written by different processes may differ.
    """
    files = tf.io.gfile.glob(pattern)
    assert files, pattern
    return collections.Counter(
        canonical(record)
        for record in tf.data.TFRecordDataset(files, compression_type='GZIP').as_numpy_iterator()
    )


def canonical_example(data: bytes) -> bytes:
    return tf.train.Example.FromString(data).SerializeToString(deterministic=True)


def outputs(root: pathlib.Path) -> dict[str, Any]:
    """Each output of the run in `root`, as a multiset of records or lines."""
    store = lineage.open_store(
        tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(root / 'out' / 'metadata.sqlite')
        )
    )
    examples = lineage.latest_stage_run(store, PIPELINE, definition.EXAMPLE_GEN)
    inference = lineage.latest_stage_run(store, PIPELINE, definition.PREDICTOR)
    assert examples.state == inference.state == 'COMPLETE'
    examples_uri = examples.output('examples').uri
    inference_uri = inference.output('inference_result').uri
    return {
        **{
            f'examples {split}': records(f'{examples_uri}/Split-{split}/*.gz', canonical_example)
            for split in ('train', 'eval')
        },
        'prediction logs': [
            PredictionLog.FromString(record)
            for record in tf.data.TFRecordDataset(
                tf.io.gfile.glob(f'{inference_uri}/prediction_logs-*.gz'), compression_type='GZIP'
            ).as_numpy_iterator()
        ],
        'rows': collections.Counter(
            line
            for path in pathlib.Path(inference_uri).rglob('*.jsonl')
            for line in path.read_text().splitlines()
        ),
    }


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """{mode: (outputs, seconds)} for an in-memory, a two-process and a two-thread run."""
    results = {}
    modes = (
        ('in_memory', IN_MEMORY),
        ('multi_processing', MULTI_PROCESS),
        ('multi_threading', MULTI_THREAD),
    )
    for mode, beam_args in modes:
        root = tmp_path_factory.mktemp(mode)
        start = time.monotonic()
        tfx.orchestration.LocalDagRunner().run(predict_pipeline(root, beam_args))
        results[mode] = outputs(root), time.monotonic() - start
    print({mode: f'{seconds:.1f} s' for mode, (_, seconds) in results.items()})
    return results


@pytest.mark.parametrize('mode', TWO_WORKERS)
def test_two_workers_read_the_same_examples(runs, mode):
    (in_memory, _), (multi, _) = runs['in_memory'], runs[mode]
    assert sum(in_memory['examples train'].values()) == 2000
    assert sum(in_memory['examples eval'].values()) == 500
    assert multi['examples train'] == in_memory['examples train']
    assert multi['examples eval'] == in_memory['examples eval']


@pytest.mark.parametrize('mode', TWO_WORKERS)
def test_two_workers_predict_the_same(runs, mode):
    (in_memory, _), (multi, _) = runs['in_memory'], runs[mode]
    assert len(in_memory['prediction logs']) == 2500
    assert_same_logs(multi['prediction logs'], in_memory['prediction logs'])
    assert sum(in_memory['rows'].values()) == 2500
    assert all(json.loads(row)['customer_id'].startswith('c') for row in multi['rows'])
    # The same rows; scores equal to float32 rounding (the workers' batches differ in size).
    ours, theirs = (
        sorted((json.loads(row) for row in rows.elements()), key=lambda r: r['customer_id'])
        for rows in (multi['rows'], in_memory['rows'])
    )
    assert [(r['customer_id'], r['classes']) for r in ours] == [
        (r['customer_id'], r['classes']) for r in theirs
    ]
    np.testing.assert_allclose(
        [r['scores'] for r in ours], [r['scores'] for r in theirs], rtol=1e-6, atol=1e-7
    )
