"""What `sme run` checks before it writes anything: the paths, the data, the thresholds.

Each of these used to surface only once the pipeline had started (an output directory and ML
Metadata created, ExampleGen run, sometimes the model trained): a missing `--saved-model` or
`--data`, a CSV byte that is not UTF-8, a NaN in the data, a threshold on a metric the model does
not export. Here they fail first, each naming what to fix. The data is read whole (CSV line by
line; TFRecord in batches): an extra pass, small beside the run it saves.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from savedmodel_estimator import SavedModelFormatError
from savedmodel_estimator.mode_keys import ModeKeys
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator.serving.tf_example_inputs import InputColumn, signature_columns
from savedmodel_estimator_tfx.components.common import example_inputs, finite_values
from savedmodel_estimator_tfx.components.estimator_evaluator import thresholds
from savedmodel_estimator_tfx.pipelines import csv_checks
from savedmodel_estimator_tfx.pipelines.config import PipelineConfig

HOW_TO_ALLOW_NON_FINITE = 'pass --allow-non-finite (allow_non_finite: true in the config)'
# The modes the pipeline uses: ContinueTrainer trains, EstimatorEvaluator runs the eval graph.
REQUIRED_MODES = (ModeKeys.TRAIN, ModeKeys.EVAL)


class PreflightError(ValueError):
    """Something `sme run` found wrong before starting: a path, the data or a threshold."""


def _exists(path: str) -> bool:
    try:
        return bool(tf.io.gfile.exists(path))
    except tf.errors.OpError:  # a filesystem TensorFlow cannot reach from here: let the run try
        return True


def check_saved_model(path: str) -> SavedModelReader:
    """The export, read; it must exist and have the train and eval MetaGraphs.

    Raises:
        PreflightError: the path does not exist, is not a SavedModel, or lacks a mode.
    """
    if not _exists(path):
        raise PreflightError(
            f'--saved-model {path!r} does not exist. Give the directory of the Estimator export '
            '(the one holding saved_model.pb and variables/).'
        )
    try:
        reader = SavedModelReader(path)
    except SavedModelFormatError as err:
        raise PreflightError(f'--saved-model: {err}') from err
    missing = [mode for mode in REQUIRED_MODES if mode not in reader.available_modes]
    if missing:
        found = ', '.join(reader.available_modes) or 'none'
        raise PreflightError(
            f'--saved-model {path!r} has no {missing[0]!r} MetaGraph (found: {found}). `sme run` '
            'trains and evaluates the model, which needs a SavedModel exported with all modes; '
            're-export it with experimental_export_all_saved_models().'
        )
    return reader


def data_files(config: PipelineConfig) -> dict[str, list[str]]:
    """`{split: files}` as ExampleGen will read them from `config.data`.

    Raises:
        PreflightError: the directory does not exist, or a split's pattern matches no file.
    """
    data = config.data
    if not _exists(data):
        raise PreflightError(
            f'--data {data!r} does not exist. Give the directory holding the train* and eval* '
            'files (CSV with a header, or TFRecord of tf.Example).'
        )
    if not tf.io.gfile.isdir(data):
        raise PreflightError(f'--data {data!r} is a file; give the directory that holds it.')
    files = {}
    for split, pattern in config.split_patterns.items():
        found = sorted(tf.io.gfile.glob(os.path.join(data, pattern)))
        if not found:
            present = sorted(tf.io.gfile.listdir(data))[:10]
            raise PreflightError(
                f'No {split} data in --data {data!r}: nothing matches {pattern!r} (found: '
                f'{present}). Name the files {pattern}, or set {split}_pattern in the config.'
            )
        files[split] = found
    return files


def check_thresholds(config: PipelineConfig, reader: SavedModelReader) -> None:
    """Each threshold must name a metric the eval graph exports (else blessing fails after
    training).

    Raises:
        PreflightError: a threshold is malformed or names a metric the model does not export.
    """
    if not config.metric_thresholds:
        return
    try:
        parsed = thresholds.parse_thresholds(json.dumps(config.metric_thresholds))
        eval_signature = reader.signature(ModeKeys.EVAL)
        outputs = eval_signature.outputs if eval_signature is not None else {}
        exported = thresholds.exported_metric_names(outputs)
        thresholds.check_metric_names(parsed, exported, reader.export_dir, baseline=False)
    except ValueError as err:
        raise PreflightError(str(err)) from err


def _columns(reader: SavedModelReader, mode: str) -> list[InputColumn]:
    signature = reader.signature(mode)
    return signature_columns(signature, mode) if signature is not None else []


def _check_csv(config: PipelineConfig, files: dict[str, list[str]], numeric: set[str]) -> None:
    for split_files in files.values():
        for path in split_files:
            csv_checks.check_csv_file(
                path, numeric, not config.allow_non_finite, HOW_TO_ALLOW_NON_FINITE
            )


def _check_tfrecord(
    config: PipelineConfig, files: dict[str, list[str]], reader: SavedModelReader
) -> None:
    for split, mode in (('train', ModeKeys.TRAIN), ('eval', ModeKeys.EVAL)):
        split_files = {split: files[split]}
        columns = example_inputs.check_examples(split_files, _columns(reader, mode), mode)
        if not config.allow_non_finite:
            finite_values.check_finite(split_files, columns, mode, HOW_TO_ALLOW_NON_FINITE)


def check_data(
    config: PipelineConfig, reader: SavedModelReader, files: dict[str, list[str]]
) -> None:
    """Reads the data whole: CSV must be UTF-8; numbers the model reads must be finite.

    Raises:
        PreflightError: naming the file, the line or record, and the feature.
    """
    try:
        if config.resolved_data_format == 'csv':
            numeric = {
                column.name
                for mode in REQUIRED_MODES
                for column in _columns(reader, mode)
                if column.dtype.is_floating or column.dtype.is_integer
            }
            _check_csv(config, files, numeric)
        else:
            _check_tfrecord(config, files, reader)
    except ValueError as err:
        raise PreflightError(str(err)) from err


def check_run(config: PipelineConfig) -> None:
    """Everything about `config` that can be checked before the run writes anything.

    Raises:
        PreflightError: (a ValueError) saying what is wrong, where, and what to do.
    """
    reader = check_saved_model(config.saved_model)
    files = data_files(config)
    check_thresholds(config, reader)
    check_data(config, reader, files)
