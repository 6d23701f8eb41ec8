"""EstimatorEvaluator's executor: artifacts and parameters in, typed values to plain functions.

Everything that can be wrong with the inputs (thresholds, metric names, examples) is checked
before any output file is written; the outputs are written last, all together.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import tensorflow as tf
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from savedmodel_estimator import SavedModelEstimator
from savedmodel_estimator.mode_keys import ModeKeys
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator.serving.tf_example_inputs import (
    InputColumn,
    make_input_fn,
    signature_columns,
)
from savedmodel_estimator_tfx.components.common import _tfx_internal, artifacts, example_inputs
from savedmodel_estimator_tfx.components.estimator_evaluator import spec, tfma_output, thresholds
from savedmodel_estimator_tfx.components.estimator_evaluator.thresholds import MetricThreshold

# What evaluate() returns besides the exported `metrics/<name>` values.
_ALWAYS_RETURNED = ('loss', 'global_step')


@dataclasses.dataclass(frozen=True)
class EvalOptions:
    """How EstimatorEvaluator evaluates; see `EstimatorEvaluator` for each field."""

    eval_splits: tuple[str, ...] = spec.DEFAULT_EVAL_SPLITS
    thresholds: tuple[MetricThreshold, ...] = ()
    batch_size: int = spec.DEFAULT_BATCH_SIZE
    steps: int | None = None

    def __post_init__(self) -> None:
        if not self.eval_splits:
            raise ValueError('EstimatorEvaluator() eval_splits must name at least one split.')
        if self.batch_size <= 0:
            raise ValueError(f'EstimatorEvaluator() batch_size must be > 0: {self.batch_size}.')
        if self.steps is not None and self.steps <= 0:
            raise ValueError(f'EstimatorEvaluator() steps must be > 0 when given: {self.steps}.')


def options_from_exec_properties(props: Mapping[str, Any]) -> EvalOptions:
    """The typed options from the execution properties (ints may arrive as floats from kfp).

    Raises:
        ValueError: a parameter is malformed, naming it and what was expected.
    """
    splits_json = props.get(spec.EVAL_SPLITS_KEY) or json.dumps(list(spec.DEFAULT_EVAL_SPLITS))
    try:
        splits = json.loads(splits_json)
    except json.JSONDecodeError:
        splits = None
    if not isinstance(splits, list) or not all(isinstance(s, str) for s in splits):
        raise ValueError(
            'EstimatorEvaluator() eval_splits must be a JSON list of split names, like '
            f'\'["eval"]\'; given: {splits_json!r}.'
        )
    batch_size = props.get(spec.BATCH_SIZE_KEY)
    steps = props.get(spec.STEPS_KEY)
    return EvalOptions(
        eval_splits=tuple(splits),
        thresholds=thresholds.parse_thresholds(props.get(spec.METRIC_THRESHOLDS_KEY) or '{}'),
        batch_size=int(batch_size) if batch_size is not None else spec.DEFAULT_BATCH_SIZE,
        steps=int(steps) if steps is not None else None,
    )


def open_evaluable(saved_model_dir: str, role: str) -> tuple[SavedModelReader, list[str]]:
    """Reads a model and the metric names its eval graph exports.

    Raises:
        SavedModelFormatError: (a ValueError) not a readable SavedModel.
        ValueError: the SavedModel has no eval MetaGraph.
    """
    reader = SavedModelReader(saved_model_dir)
    signature = reader.signature(ModeKeys.EVAL)
    if signature is None:
        modes = ', '.join(reader.available_modes) or 'none'
        raise ValueError(
            f"{role.capitalize()} SavedModel at {saved_model_dir!r} has no 'eval' MetaGraph "
            f"(found: {modes}). EstimatorEvaluator runs the model's own eval graph; re-export "
            'it with experimental_export_all_saved_models().'
        )
    suffix = '/value'
    names = [
        k[: -len(suffix)]
        for k in signature.outputs
        if k.startswith('metrics/') and k.endswith(suffix)
    ]
    return reader, sorted({*names, *_ALWAYS_RETURNED})


def evaluate(
    reader: SavedModelReader,
    files: Sequence[str],
    options: EvalOptions,
    columns: Sequence[InputColumn],
) -> dict[str, Any]:
    """Runs the model's eval graph over the files (to their end, or `options.steps` batches)."""
    input_fn = make_input_fn(files, columns, options.batch_size, num_epochs=1)
    # Summaries the core writes beside its (absent) checkpoints are not an output here.
    with tempfile.TemporaryDirectory() as model_dir:
        estimator = SavedModelEstimator(reader.export_dir, model_dir)
        with example_inputs.readable_data_errors(files, 'eval'):
            return estimator.evaluate(input_fn, steps=options.steps)


def check_inputs(
    readers: Mapping[str, SavedModelReader], files_by_split: Mapping[str, Sequence[str]]
) -> dict[str, list[InputColumn]]:
    """Peeks at the examples for every model's eval signature before anything runs.

    Returns:
        The columns to read for each model, by the same names as `readers`.
    """
    columns = {}
    for name, reader in readers.items():
        signature = reader.signature(ModeKeys.EVAL)
        assert signature is not None
        columns[name] = example_inputs.check_examples(
            files_by_split, signature_columns(signature, 'eval'), 'eval'
        )
    return columns


class Executor(base_executor.BaseExecutor):
    """Evaluates the model (and the baseline) with their eval graphs; blesses or not, and why."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        _tfx_internal.log_startup(self, input_dict, output_dict, exec_properties)
        options = options_from_exec_properties(exec_properties)
        model = artifact_utils.get_single_instance(input_dict[spec.MODEL_KEY])
        examples = artifact_utils.get_single_instance(input_dict[spec.EXAMPLES_KEY])
        baselines = input_dict.get(spec.BASELINE_MODEL_KEY) or []
        baseline = artifact_utils.get_single_instance(baselines) if baselines else None
        evaluation = artifact_utils.get_single_instance(output_dict[spec.EVALUATION_KEY])
        blessing = artifact_utils.get_single_instance(output_dict[spec.BLESSING_KEY])

        locations = {tfma_output.CANDIDATE if baseline else '': artifacts.model_path(model)}
        if baseline is not None:
            locations[tfma_output.BASELINE] = artifacts.model_path(baseline)
        readers = {}
        for name, path in locations.items():
            role = 'baseline model' if name == tfma_output.BASELINE else 'model'
            reader, exported = open_evaluable(path, role)
            thresholds.check_metric_names(
                options.thresholds, exported, path, baseline=(name == tfma_output.BASELINE)
            )
            readers[name] = reader
        files_by_split = example_inputs.split_files(examples, options.eval_splits)
        columns = check_inputs(readers, files_by_split)

        files = [f for split_files in files_by_split.values() for f in split_files]
        results = {
            name: evaluate(reader, files, options, columns[name])
            for name, reader in readers.items()
        }
        current = results[tfma_output.CANDIDATE if baseline else '']
        base_metrics = results.get(tfma_output.BASELINE)
        checks = thresholds.check_thresholds(options.thresholds, current, base_metrics)
        blessed, reason = thresholds.decide(checks, options.thresholds)

        tfma_output.write_evaluation(
            evaluation.uri,
            current=current,
            baseline=base_metrics,
            thresholds=options.thresholds,
            checks=checks,
            blessed=blessed,
            reason=reason,
            model_locations=locations,
            data_files=files,
        )
        _bless(blessing, blessed, reason, model, baseline)


def _bless(
    blessing: types.Artifact,
    blessed: bool,
    reason: str,
    model: types.Artifact,
    baseline: types.Artifact | None,
) -> None:
    """Writes the blessing as the TFX Evaluator does, so stock Pusher honours it, plus why."""
    marker = artifacts.BLESSED_FILE if blessed else artifacts.NOT_BLESSED_FILE
    with tf.io.gfile.GFile(os.path.join(blessing.uri, marker), 'w') as f:
        f.write('')  # an empty write still creates the file, on GCS too
    blessing.set_int_custom_property(artifacts.BLESSED_PROPERTY, 1 if blessed else 0)
    blessing.set_string_custom_property(artifacts.BLESSING_REASON_PROPERTY, reason)
    blessing.set_string_custom_property(artifacts.CURRENT_MODEL_PROPERTY, model.uri)
    blessing.set_int_custom_property(artifacts.CURRENT_MODEL_ID_PROPERTY, model.id)
    if baseline is not None:
        blessing.set_string_custom_property(artifacts.BASELINE_MODEL_PROPERTY, baseline.uri)
        blessing.set_int_custom_property(artifacts.BASELINE_MODEL_ID_PROPERTY, baseline.id)
