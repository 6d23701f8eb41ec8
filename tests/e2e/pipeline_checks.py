"""What every end-to-end run of the demo pipeline must show, whichever ML Metadata store it uses."""

from __future__ import annotations

import json
import pathlib
import shutil
from typing import Any

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from savedmodel_estimator_tfx.pipelines import (
    lineage,
    local_runner,
    metadata_connection,
    run_summary,
)
from savedmodel_estimator_tfx.pipelines.config import PipelineConfig

DEMO = pathlib.Path(__file__).resolve().parents[2] / 'examples' / 'demo'
STAGES = run_summary.STAGES
TRAIN_STEPS = 20


def demo_config(root: pathlib.Path, **overrides: Any) -> PipelineConfig:
    """The demo's config on a copy of the demo under `root`, output in `root/out`, 20 steps."""
    shutil.copytree(DEMO, root / 'demo')
    values = json.loads((DEMO / 'config.json').read_text())
    values.update(
        saved_model=str(root / 'demo' / 'saved_model'),
        data=str(root / 'demo' / 'data'),
        output_dir=str(root / 'out'),
        train_steps=TRAIN_STEPS,
    )
    values.update(overrides)
    return PipelineConfig.from_dict(values)


def run_twice(
    config: PipelineConfig,
) -> tuple[list[run_summary.RunSummary], metadata_store.MetadataStore]:
    """Runs the pipeline twice on the ML Metadata store `config` names: summaries, the store."""
    connection = metadata_connection.connection_config(config)
    summaries = []
    for _ in range(2):
        local_runner.run_local(config)
        summaries.append(
            run_summary.summarize(
                connection, config.pipeline_name, metadata_connection.describe(config)
            )
        )
    return summaries, lineage.open_store(connection)


def assert_complete_then_cached(
    first: run_summary.RunSummary, second: run_summary.RunSummary
) -> None:
    assert set(first.states) == set(STAGES)
    assert all(state == 'COMPLETE' for state in first.states.values()), first.states
    assert all(state == 'CACHED' for state in second.states.values()), second.states
    assert second.trained_model == first.trained_model  # the cache reused the artifacts


def parents(store: metadata_store.MetadataStore, artifact_id: int) -> set[int]:
    """Artifacts that were inputs of the executions that output `artifact_id`."""
    producers = {
        e.execution_id
        for e in store.get_events_by_artifact_ids([artifact_id])
        if e.type == metadata_store_pb2.Event.OUTPUT
    }
    return {
        e.artifact_id
        for e in store.get_events_by_execution_ids(list(producers))
        if e.type == metadata_store_pb2.Event.INPUT
    }


def assert_lineage_from_the_import_to_every_output(
    store: metadata_store.MetadataStore, pipeline_name: str
) -> None:
    """Follows ML Metadata's events backwards from each output to the imported model."""
    stage = {s: lineage.latest_stage_run(store, pipeline_name, s) for s in STAGES}
    imported = stage['SavedModelImporter'].output('model')
    trained = stage['ContinueTrainer'].output('model')
    evaluation = stage['EstimatorEvaluator'].output('evaluation')
    blessing = stage['EstimatorEvaluator'].output('blessing')
    inference = stage['BatchPredictor'].output('inference_result')
    assert imported.id in parents(store, trained.id)
    assert {trained.id, imported.id} <= parents(store, evaluation.id)
    assert trained.id in parents(store, blessing.id)
    assert {trained.id, blessing.id} <= parents(store, inference.id)
    assert (lineage.custom_property(trained, 'source_uri') or '').startswith(imported.uri)
