"""BatchPredictor's executor: artifacts and parameters in, a Beam pipeline of batches out.

Everything that can be wrong with the inputs (the signature, the first records of every file, the
pass-through features) is checked before the pipeline starts. Beam writes every file under a
temporary name and renames it when the run succeeds; if the run fails, whatever was written under
the output is removed, so nothing there looks complete.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import apache_beam as beam
import tensorflow as tf
from absl import logging
from apache_beam.metrics.metric import MetricsFilter
from tfx import types
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

from savedmodel_estimator.beam import (
    PREDICTION_LOGS_PREFIX,
    PredictExamples,
    ReadExampleBatches,
    WritePredictionLogs,
    WriteRows,
)
from savedmodel_estimator.beam.transforms import EXAMPLES_COUNTER, METRICS_NAMESPACE
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator.serving import tf_example_inputs
from savedmodel_estimator.serving.signature_runner import (
    PASSTHROUGH_DTYPES,
    SignatureSpec,
    find_signature,
)
from savedmodel_estimator.serving.tf_example_inputs import ExampleFormatError
from savedmodel_estimator_tfx.components.batch_predictor import spec
from savedmodel_estimator_tfx.components.batch_predictor.options import (
    PredictOptions,
    options_from_exec_properties,
)
from savedmodel_estimator_tfx.components.common import (
    _tfx_internal,
    artifacts,
    example_inputs,
    local_beam,
)


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


def passthrough_dtypes(
    files: Sequence[str], names: Sequence[str], peek: int = example_inputs.PEEK_RECORDS
) -> tuple[tuple[str, tf.dtypes.DType], ...]:
    """Each pass-through feature's dtype, from the first records of the files that hold it.

    Raises:
        ExampleFormatError: (a ValueError) a feature is in none of the records peeked.
    """
    if not names:
        return ()
    kinds: dict[str, str] = {}
    present: set[str] = set()
    for _, records in tf_example_inputs.peek_records(files, peek):
        for record in records:
            features = tf.train.Example.FromString(record).features.feature
            present.update(features)
            for name in names:
                kind = features[name].WhichOneof('kind') if name in features else None
                if kind and name not in kinds:
                    kinds[name] = kind
    for name in names:
        if name not in kinds:
            raise ExampleFormatError(
                f'Pass-through feature {name!r} is in none of the first {peek} records of '
                f'{list(files)} (features present: {sorted(present)}). Check '
                'passthrough_features.'
            )
    return tuple((name, PASSTHROUGH_DTYPES[kinds[name]]) for name in names)


def signature_spec(
    model_dir: str, options: PredictOptions, files_by_split: Mapping[str, Sequence[str]]
) -> SignatureSpec:
    """The signature to run, checked against the first records of every file.

    Raises:
        ValueError: no such signature, or records that cannot feed it, naming file and record.
    """
    reader = SavedModelReader(model_dir)
    _, signature_def = find_signature(reader, options.signature_name, options.tags)
    columns = None
    if not tf_example_inputs.takes_serialized_examples(signature_def):
        columns = tf_example_inputs.signature_columns(signature_def, options.signature_name)
    files = [path for split_files in files_by_split.values() for path in split_files]
    if columns is not None:
        first = tf_example_inputs.peek_records(files[:1], 1)
        columns = tf_example_inputs.adapt_to_records(columns, first[0][1] if first else [])
    example_inputs.check_examples(files_by_split, columns or [], options.signature_name)
    return SignatureSpec(
        model_dir,
        options.signature_name,
        options.tags,
        passthrough_features=passthrough_dtypes(files, options.passthrough_features),
        input_columns=tuple(columns) if columns is not None else None,
    )


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
        _ = (
            all_predictions
            | 'FlattenPredictions' >> beam.Flatten(pipeline=pipeline)
            | 'WritePredictionLogs'
            >> WritePredictionLogs(os.path.join(output_uri, PREDICTION_LOGS_PREFIX), model)
        )


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


class Executor(base_beam_executor.BaseBeamExecutor):
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
        result = artifact_utils.get_single_instance(output_dict[spec.INFERENCE_RESULT_KEY])
        blessings = input_dict.get(spec.MODEL_BLESSING_KEY) or []
        if blessings:
            reason = blessing_verdict(artifact_utils.get_single_instance(blessings))
            if reason is not None:
                message = f'No predictions were made: {reason}.'
                logging.warning('BatchPredictor skipped: %s', message)
                clear_directory(result.uri)
                result.set_string_custom_property(spec.SKIPPED_REASON_PROPERTY, message)
                return

        splits = options.splits or tuple(artifacts.split_names(examples))
        files_by_split = example_inputs.split_files(examples, splits)
        model_spec = signature_spec(artifacts.model_path(model), options, files_by_split)
        clear_directory(result.uri)
        try:
            pipeline = self._make_beam_pipeline()
            build_pipeline(pipeline, model_spec, files_by_split, result.uri, options)
            beam_result = pipeline.run()
            beam_result.wait_until_finish()
        except BaseException:
            clear_directory(result.uri)
            raise
        result.set_string_custom_property(spec.SIGNATURE_NAME_PROPERTY, options.signature_name)
        result.set_string_custom_property(
            spec.OUTPUT_FORMATS_PROPERTY, json.dumps(list(options.output_formats))
        )
        result.set_string_custom_property(spec.SPLIT_NAMES_PROPERTY, json.dumps(list(splits)))
        count = _examples_counted(beam_result)
        if count is not None:
            result.set_int_custom_property(spec.NUM_EXAMPLES_PROPERTY, count)
        logging.info('BatchPredictor wrote predictions for %s examples to %s', count, result.uri)


def _examples_counted(beam_result: Any) -> int | None:
    """The examples the run predicted, if the runner reports metrics."""
    try:
        query = MetricsFilter().with_namespace(METRICS_NAMESPACE).with_name(EXAMPLES_COUNTER)
        counters = beam_result.metrics().query(query)['counters']
    except (NotImplementedError, AttributeError, KeyError):
        return None
    return int(sum(c.committed or 0 for c in counters)) if counters else None
