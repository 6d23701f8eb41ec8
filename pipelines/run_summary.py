"""What a pipeline run did, read back from ML Metadata and the artifacts it points to."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import tensorflow as tf

from savedmodel_estimator_tfx.components.common import artifacts
from savedmodel_estimator_tfx.pipelines import lineage
from savedmodel_estimator_tfx.pipelines.definition import EVALUATOR, IMPORTER, PREDICTOR, TRAINER

STAGES = ('ExampleGen', IMPORTER, TRAINER, EVALUATOR, PREDICTOR)


@dataclasses.dataclass
class RunSummary:
    """The run's outcome: per-stage state, metrics before and after, blessing, output places."""

    states: dict[str, str]
    imported_model: str | None
    imported_step: int | None
    trained_model: str | None
    trained_step: int | None
    metrics_before: dict[str, Any]
    metrics_after: dict[str, Any]
    blessed: bool | None
    blessing_reason: str | None
    evaluation: str | None
    predictions: str | None
    predicted_examples: int | None
    predictions_skipped: str | None
    metadata: str


def _load_json(path: str) -> dict[str, Any]:
    if not tf.io.gfile.exists(path):
        return {}
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def summarize(connection_config: Any, pipeline_name: str, metadata_label: str) -> RunSummary:
    """Reads each stage's latest execution from ML Metadata and the evaluation it wrote."""
    store = lineage.open_store(connection_config)
    runs = {stage: lineage.latest_stage_run(store, pipeline_name, stage) for stage in STAGES}
    states = {stage: run.state if run else 'NOT RUN' for stage, run in runs.items()}

    def output(stage: str, key: str) -> Any:
        run = runs.get(stage)
        return run.output(key) if run else None

    imported, trained = output(IMPORTER, 'model'), output(TRAINER, 'model')
    evaluation, blessing = output(EVALUATOR, 'evaluation'), output(EVALUATOR, 'blessing')
    inference = output(PREDICTOR, 'inference_result')
    report = (
        _load_json(os.path.join(evaluation.uri, artifacts.EVALUATION_SUMMARY_FILE))
        if evaluation
        else {}
    )

    def step(artifact: Any) -> int | None:
        value = (
            lineage.custom_property(artifact, artifacts.GLOBAL_STEP_PROPERTY) if artifact else None
        )
        return int(value) if value is not None else None

    blessed = lineage.custom_property(blessing, artifacts.BLESSED_PROPERTY) if blessing else None
    return RunSummary(
        states=states,
        imported_model=imported.uri if imported else None,
        imported_step=step(imported),
        trained_model=trained.uri if trained else None,
        trained_step=step(trained),
        metrics_before=report.get('baseline_metrics') or {},
        metrics_after=report.get('metrics') or {},
        blessed=None if blessed is None else bool(blessed),
        blessing_reason=report.get('reason'),
        evaluation=evaluation.uri if evaluation else None,
        predictions=inference.uri if inference else None,
        predicted_examples=(
            lineage.custom_property(inference, 'num_examples') if inference else None
        ),
        predictions_skipped=(
            lineage.custom_property(inference, 'skipped_reason') if inference else None
        ),
        metadata=metadata_label,
    )
