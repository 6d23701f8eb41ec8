"""BatchPredictor's executor: artifacts and parameters in, a Beam pipeline of batches out.

Everything that can be wrong with the inputs (the signature, the first records of every file, the
pass-through features) is checked before the pipeline starts. Beam writes every file under a
temporary name and renames it when the run succeeds; if the run fails, whatever was written under
the output is removed, so nothing there looks complete.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import apache_beam as beam
import tensorflow as tf
from absl import logging
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import DirectOptions
from tfx import types
from tfx.dsl.components.base import base_beam_executor

from savedmodel_estimator.beam import (
    PREDICTION_LOGS_PREFIX,
    PredictExamples,
    ReadExampleBatches,
    WritePredictionLogs,
    WriteRows,
    _beam_internal,
    load_runner,
)
from savedmodel_estimator.beam.transforms import EXAMPLES_COUNTER, METRICS_NAMESPACE
from savedmodel_estimator.serving.signature_runner import SignatureRunner, SignatureSpec
from savedmodel_estimator_tfx.components.batch_predictor import preflight, spec
from savedmodel_estimator_tfx.components.batch_predictor.options import PredictOptions
from savedmodel_estimator_tfx.components.common import (
    _tfx_internal,
    artifacts,
    example_inputs,
    local_beam,
)
from savedmodel_estimator_tfx.components.common import properties as properties_lib
from savedmodel_estimator_tfx.components.common.stage_executor import StageExecutor


def blessing_verdict(blessing: types.Artifact) -> str | None:
    """Why predictions are skipped for this blessing, or None when the model is blessed.

    The TFX Evaluator's contract: the `blessed` custom property is 1, or (for blessings without
    it) a `BLESSED` file exists.
    """
    if blessing.has_custom_property(artifacts.BLESSED_PROPERTY):
        if blessing.get_int_custom_property(artifacts.BLESSED_PROPERTY) == 1:
            return None
        reason = ''
        if blessing.has_custom_property(artifacts.BLESSING_REASON_PROPERTY):
            reason = blessing.get_string_custom_property(artifacts.BLESSING_REASON_PROPERTY)
        return f'the model blessing at {blessing.uri!r} has {artifacts.BLESSED_PROPERTY}=0' + (
            f' ({reason})' if reason else ''
        )
    if tf.io.gfile.exists(os.path.join(blessing.uri, artifacts.BLESSED_FILE)):
        return None
    return f'the model blessing at {blessing.uri!r} has no {artifacts.BLESSED_FILE} file'


def build_pipeline(
    pipeline: beam.Pipeline,
    model: SignatureSpec,
    files_by_split: Mapping[str, Sequence[str]],
    output_uri: str,
    options: PredictOptions,
) -> None:
    """Read, predict and write each split; PredictionLogs of all splits go into one file set."""
    all_predictions = []
    for split, files in files_by_split.items():
        predictions = (
            pipeline
            | f'Read[{split}]' >> ReadExampleBatches(files, options.max_batch_size)
            | f'Predict[{split}]'
            >> PredictExamples(model, max_batch_size=options.max_batch_size, prebatched=True)
        )
        all_predictions.append(predictions)
        rows_prefix = os.path.join(output_uri, spec.ROWS_DIR, f'Split-{split}', spec.ROWS_PREFIX)
        for row_format in options.output_formats:
            if row_format != spec.PREDICTION_LOG:
                _ = predictions | f'WriteRows[{split}][{row_format}]' >> WriteRows(
                    rows_prefix, row_format, model
                )
    if spec.PREDICTION_LOG in options.output_formats:
        logs = os.path.join(output_uri, PREDICTION_LOGS_PREFIX)
        if len(all_predictions) > 1:
            all_predictions = [all_predictions | 'FlattenPredictions' >> beam.Flatten()]
        _ = all_predictions[0] | 'WritePredictionLogs' >> WritePredictionLogs(logs, model)


def clear_directory(uri: str) -> None:
    """Removes everything inside `uri` (a failed or earlier attempt's files), keeping `uri`."""
    if not tf.io.gfile.exists(uri):
        tf.io.gfile.makedirs(uri)
        return
    for name in tf.io.gfile.listdir(uri):
        path = os.path.join(uri, name.rstrip('/'))
        if tf.io.gfile.isdir(path):
            tf.io.gfile.rmtree(path)
        else:
            tf.io.gfile.remove(path)


@dataclasses.dataclass(frozen=True)
class PredictInputs:
    """The input artifacts (read, never written) and the output directory."""

    model: types.Artifact
    examples: types.Artifact
    inference_result_uri: str
    model_blessing: types.Artifact | None = None


@dataclasses.dataclass(frozen=True)
class PredictResult:
    """What was predicted (or why not), and the facts the output records (see `properties`)."""

    options: PredictOptions
    splits: tuple[str, ...]
    num_examples: int | None = None  # None: the runner reported no count
    skipped_reason: str | None = None

    def properties(self) -> properties_lib.Properties:
        """The InferenceResult's custom properties."""
        if self.skipped_reason is not None:
            return {spec.INFERENCE_RESULT_KEY: {spec.SKIPPED_REASON_PROPERTY: self.skipped_reason}}
        result: dict[str, Any] = {
            spec.SIGNATURE_NAME_PROPERTY: self.options.signature_name,
            spec.OUTPUT_FORMATS_PROPERTY: json.dumps(list(self.options.output_formats)),
            spec.SPLIT_NAMES_PROPERTY: json.dumps(list(self.splits)),
        }
        if self.num_examples is not None:
            result[spec.NUM_EXAMPLES_PROPERTY] = self.num_examples
        return {spec.INFERENCE_RESULT_KEY: result}


class Executor(StageExecutor, base_beam_executor.BaseBeamExecutor):
    """Runs a signature of the model over the examples in batches; writes PredictionLogs/rows."""

    def __init__(self, context: base_beam_executor.BaseBeamExecutor.Context | None = None) -> None:
        # TFX would build an sdist of itself for the workers even when they run here
        # (components/common/local_beam.py); the args are kept as given instead.
        args = list(getattr(context, 'beam_pipeline_args', None) or [])
        if args and local_beam.runs_on_this_machine(args):
            local_context = copy.copy(context)
            local_context.beam_pipeline_args = []  # type: ignore[union-attr]
            super().__init__(local_context)
            _tfx_internal.set_beam_pipeline_args(self, args)
        else:
            super().__init__(context)

    def _make_beam_pipeline(self) -> beam.Pipeline:  # in _tfx_internal.OVERRIDDEN
        """The FnApiRunner for args asking for the DirectRunner, else what TFX would make."""
        if _tfx_internal.make_beam_pipeline_fn(self) is None:
            pipeline = local_beam.local_pipeline(_tfx_internal.beam_pipeline_args(self))
            if pipeline is not None:
                return pipeline
        return _tfx_internal.default_beam_pipeline(self)

    options_type = PredictOptions
    inputs_type = PredictInputs

    def run(self, options: PredictOptions, inputs: PredictInputs) -> PredictResult:
        """Predicts (unless the blessing says not to) into `inputs.inference_result_uri`.

        Raises:
            ValueError: no such signature, or records that cannot feed it (nothing is written).
        """
        if inputs.model_blessing is not None:
            reason = blessing_verdict(inputs.model_blessing)
            if reason is not None:
                message = f'No predictions were made: {reason}.'
                logging.warning('BatchPredictor skipped: %s', message)
                clear_directory(inputs.inference_result_uri)
                return PredictResult(options, (), skipped_reason=message)

        examples = inputs.examples
        splits = options.splits or tuple(artifacts.split_names(examples))
        files_by_split = example_inputs.split_files(examples, splits)
        model_path = artifacts.model_path(inputs.model)
        checked = preflight.signature_spec(model_path, options, files_by_split)
        clear_directory(inputs.inference_result_uri)
        try:
            pipeline = self._make_beam_pipeline()
            with _ModelPreload(pipeline, checked):
                build_pipeline(
                    pipeline, checked.spec, files_by_split, inputs.inference_result_uri, options
                )
                beam_result = pipeline.run()
                beam_result.wait_until_finish()
        except BaseException:
            clear_directory(inputs.inference_result_uri)
            raise
        count = _examples_counted(beam_result)
        logging.info(
            'BatchPredictor wrote predictions for %s examples to %s',
            count,
            inputs.inference_result_uri,
        )
        return PredictResult(options, tuple(splits), num_examples=count)


def run(
    options: PredictOptions, inputs: PredictInputs, *, beam_pipeline_args: Sequence[str] = ()
) -> PredictResult:
    """`Executor.run` with Beam pipelines made from `beam_pipeline_args` (as a TFX run would)."""
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=list(beam_pipeline_args)
    )
    return Executor(context).run(options, inputs)


class _ModelPreload:
    """Loads the model and runs it once on a thread while Beam plans and starts the pipeline.

    Only when the pipeline's workers run in this process (the FnApiRunner in memory or on
    threads): they then get the loaded model from `load_runner`'s per-process cache, its first
    `Session.run` (TensorFlow prunes and optimizes the graph then) already done. Loading is
    mostly TensorFlow's C++ work, which releases the GIL, so it overlaps Beam's Python.
    """

    def __init__(self, pipeline: beam.Pipeline, checked: preflight.Checked) -> None:
        self._checked = checked
        self._runner: SignatureRunner | None = None  # held: the cache keeps weak references
        self._thread: threading.Thread | None = None
        mode = pipeline.options.view_as(DirectOptions).direct_running_mode
        if isinstance(pipeline.runner, _beam_internal.FnApiRunner) and mode != 'multi_processing':
            self._thread = threading.Thread(target=self._load, name='model preload', daemon=True)

    def _load(self) -> None:
        try:
            self._runner = load_runner(self._checked.spec)
            if self._checked.sample:
                self._runner.run(self._checked.sample)
        except Exception as err:  # the pipeline's own load reports it, with its context
            logging.info('BatchPredictor: loading the model ahead failed (%s)', err)

    def __enter__(self) -> _ModelPreload:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._thread.join()
        self._runner = None


def _examples_counted(beam_result: Any) -> int | None:
    """The examples the run predicted, if the runner reports metrics."""
    try:
        query = MetricsFilter().with_namespace(METRICS_NAMESPACE).with_name(EXAMPLES_COUNTER)
        counters = beam_result.metrics().query(query)['counters']
    except (NotImplementedError, AttributeError, KeyError):
        return None
    return int(sum(c.committed or 0 for c in counters)) if counters else None
