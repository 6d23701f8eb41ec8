"""BatchPredictor: batch inference with any signature of a SavedModel, in batches end to end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts

from savedmodel_estimator_tfx.components.batch_predictor import executor, spec
from savedmodel_estimator_tfx.components.batch_predictor.options import PredictOptions
from savedmodel_estimator_tfx.components.common.parameters import json_list


class BatchPredictor(base_beam_component.BaseBeamComponent):
    """Runs a signature of a model over Examples and writes what stock BulkInferrer writes.

    Unlike BulkInferrer, the signature may take raw tensors (the tf.Examples are parsed for it,
    inside the model's graph), batch sizes are bounded, pass-through features can be written
    beside the predictions as JSON lines or Parquet, and elements stay batches from the files
    read to the files written. `beam_pipeline_args` pick the runner (Dataflow, Flink, Spark).

    Example:
        predictor = BatchPredictor(
            model=importer.outputs['model'],
            examples=example_gen.outputs['examples'],
            model_blessing=evaluator.outputs['blessing'],
            splits=['eval'],
            output_formats=['prediction_log', 'parquet'],
            passthrough_features=['id'],
        ).with_beam_pipeline_args(['--runner=DirectRunner'])

    Outputs:
        inference_result: InferenceResult holding `prediction_logs-?????-of-?????.gz` (gzip
            TFRecords of PredictionLog, all splits, as BulkInferrer writes them: classify_log,
            regress_log or predict_log by the signature's method; predict_log for a raw
            signature, its request holding the tf.Example under `serialized_examples`) when
            "prediction_log" is asked for, and `rows/Split-<name>/rows-?????-of-?????.jsonl`
            or `.parquet` for the row formats: the pass-through features, then each output.
            Custom properties: `signature_name`, `output_formats`, `split_names`,
            `num_examples`. When the model blessing is not blessed, nothing is written and
            `skipped_reason` says why.
    """

    SPEC_CLASS = spec.BatchPredictorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        model: types.BaseChannel,
        examples: types.BaseChannel,
        model_blessing: types.BaseChannel | None = None,
        *,
        signature_name: str = spec.DEFAULT_SIGNATURE_NAME,
        tags: Sequence[str] = spec.DEFAULT_TAGS,
        splits: Sequence[str] | None = None,
        min_batch_size: int = spec.DEFAULT_MIN_BATCH_SIZE,
        max_batch_size: int = spec.DEFAULT_MAX_BATCH_SIZE,
        output_formats: Sequence[str] = spec.DEFAULT_OUTPUT_FORMATS,
        passthrough_features: Sequence[str] = (),
    ) -> None:
        """Builds the component.

        Args:
            model: Model channel (the SavedModel in `Format-Serving/`).
            examples: Examples channel: TFRecords of tf.Example under `Split-<name>/`.
            model_blessing: Optional ModelBlessing channel; predictions are skipped (and the
                reason recorded) unless it is blessed.
            signature_name: The signature to run: a key of the MetaGraph with `tags`.
            tags: The MetaGraph's tags (`["serve"]`; `["eval"]` for the eval graph).
            splits: The splits to predict on (default: all of the artifact's).
            min_batch_size: The smallest batch `BatchElements` makes of records that arrive one
                by one. This component reads each file in batches of `max_batch_size` (only a
                file's last batch is smaller), so here the value is only checked.
            max_batch_size: Records run at once; files are read in batches of this size.
            output_formats: Some of "prediction_log", "jsonl", "parquet".
            passthrough_features: tf.Example features (an id) copied into the rows beside the
                predictions; each must hold at most one value per record.
        """
        parameters: dict[str, Any] = {
            spec.SIGNATURE_NAME_KEY: signature_name,
            spec.TAGS_KEY: json_list(tags),
            spec.SPLITS_KEY: json_list(splits) if splits is not None else None,
            spec.MIN_BATCH_SIZE_KEY: min_batch_size,
            spec.MAX_BATCH_SIZE_KEY: max_batch_size,
            spec.OUTPUT_FORMATS_KEY: json_list(output_formats),
            spec.PASSTHROUGH_FEATURES_KEY: json_list(passthrough_features),
        }
        given = {key: value for key, value in parameters.items() if value is not None}
        # Fail at pipeline construction, not in the executor (runtime parameters and
        # placeholders are checked when they have values, in the executor).
        if all(isinstance(value, int | str) for value in given.values()):
            PredictOptions.from_exec_properties(given)
        super().__init__(
            spec=spec.BatchPredictorSpec(
                model=model,
                examples=examples,
                model_blessing=model_blessing,
                inference_result=types.Channel(type=standard_artifacts.InferenceResult),
                **given,
            )
        )
