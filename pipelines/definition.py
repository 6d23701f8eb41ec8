"""The continue-training pipeline, defined once for every runner.

ExampleGen (CSV or TFRecord) -> SavedModelImporter -> ContinueTrainer -> EstimatorEvaluator
(baseline: the imported model) -> BatchPredictor (on the blessed model). The runners beside this
module run it: `local_runner` (TFX's LocalDagRunner, ML Metadata in SQLite or MySQL) and
`kubeflow_v2` (a compiled Vertex AI / Kubeflow Pipelines spec).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

# The modules themselves, not `tfx.v1`: that also imports TFX's Google Cloud extensions
# (google.cloud.aiplatform), about 5 s of every `sme run`'s start-up.
from tfx.components import CsvExampleGen, ImportExampleGen
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.proto import example_gen_pb2

from savedmodel_estimator_tfx.components.batch_predictor.component import BatchPredictor
from savedmodel_estimator_tfx.components.continue_trainer.component import ContinueTrainer
from savedmodel_estimator_tfx.components.estimator_evaluator.component import EstimatorEvaluator
from savedmodel_estimator_tfx.components.saved_model_importer.component import SavedModelImporter
from savedmodel_estimator_tfx.pipelines.config import PipelineConfig

# Node ids, used to find each stage's outputs in ML Metadata.
EXAMPLE_GEN = 'ExampleGen'
IMPORTER = 'SavedModelImporter'
TRAINER = 'ContinueTrainer'
EVALUATOR = 'EstimatorEvaluator'
PREDICTOR = 'BatchPredictor'


def _example_gen(config: PipelineConfig) -> Any:
    component: Any = CsvExampleGen if config.resolved_data_format == 'csv' else ImportExampleGen
    splits = [
        example_gen_pb2.Input.Split(name=name, pattern=pattern)
        for name, pattern in config.split_patterns.items()
    ]
    return component(
        input_base=_absolute(config.data),
        input_config=example_gen_pb2.Input(splits=splits),
    ).with_id(EXAMPLE_GEN)


def _absolute(uri: str) -> str:
    """Local paths made absolute (the pipeline may run elsewhere); URIs like gs:// kept."""
    return uri if '://' in uri else os.path.abspath(uri)


def create_components(config: PipelineConfig, pipeline_root: str | None = None) -> list[Any]:
    """The pipeline's components, wired; shared by every runner (local, Kubeflow, Vertex).

    `pipeline_root` (default: the config's) is where the trainer keeps checkpoints that outlive a
    failed attempt.
    """
    root = _absolute(pipeline_root or config.pipeline_root).rstrip('/')
    example_gen = _example_gen(config)
    importer = SavedModelImporter(
        source_uri=_absolute(config.saved_model), required_modes=('train', 'eval')
    ).with_id(IMPORTER)
    trainer = ContinueTrainer(
        base_model=importer.outputs['model'],
        examples=example_gen.outputs['examples'],
        train_steps=config.train_steps,
        batch_size=config.batch_size,
        shuffle_buffer=config.shuffle_buffer,
        save_checkpoints_steps=config.save_checkpoints_steps,
        save_checkpoints_secs=config.save_checkpoints_secs,
        keep_checkpoint_max=config.keep_checkpoint_max,
        # Only when set: a compiled pipeline that does not use it stays as it was.
        allow_non_finite=True if config.allow_non_finite else None,
        # Checkpoints outlive a failed attempt here, so a retry resumes instead of restarting.
        checkpoint_dir=root + '/checkpoints',
    ).with_id(TRAINER)
    evaluator = EstimatorEvaluator(
        model=trainer.outputs['model'],
        examples=example_gen.outputs['examples'],
        baseline_model=importer.outputs['model'],
        metric_thresholds=json.dumps(config.metric_thresholds)
        if config.metric_thresholds
        else None,
        batch_size=config.batch_size,
    ).with_id(EVALUATOR)
    predictor = BatchPredictor(
        model=trainer.outputs['model'],
        examples=example_gen.outputs['examples'],
        model_blessing=evaluator.outputs['blessing'],
        splits=config.predict_splits,
        max_batch_size=config.max_batch_size,
        output_formats=config.output_formats,
        passthrough_features=config.passthrough_features,
    ).with_id(PREDICTOR)
    return [example_gen, importer, trainer, evaluator, predictor]


def create_pipeline(
    config: PipelineConfig,
    *,
    pipeline_root: str | None = None,
    metadata_connection_config: Any = None,
    beam_pipeline_args: Sequence[str] | None = None,
) -> Any:
    """The TFX pipeline for `config`.

    Args:
        pipeline_root: where outputs go (default: the config's).
        metadata_connection_config: ML Metadata's connection (a runner with its own store, such as
            Kubeflow's, gives none).
        beam_pipeline_args: every Beam stage's options (default: the config's).
    """
    root = _absolute(pipeline_root or config.pipeline_root)
    return tfx_pipeline.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=root,
        metadata_connection_config=metadata_connection_config,
        components=create_components(config, pipeline_root=root),
        enable_cache=config.enable_cache,
        beam_pipeline_args=list(
            config.beam_pipeline_args if beam_pipeline_args is None else beam_pipeline_args
        ),
    )
