"""Continue training an Estimator export on tf.Examples and re-export it: plain functions.

No TFX here: the executor converts artifacts and parameters to these values at its edge.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2

from savedmodel_estimator import SavedModelEstimator, checkpoints, files
from savedmodel_estimator.mode_keys import ModeKeys
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator.serving.tf_example_inputs import make_input_fn, signature_columns
from savedmodel_estimator_tfx.components.common import example_inputs, finite_values
from savedmodel_estimator_tfx.components.continue_trainer.options import TrainOptions

HOW_TO_ALLOW_NON_FINITE = (
    'allow them explicitly (ContinueTrainer(allow_non_finite=True), `sme train '
    '--allow-non-finite`, `sme run --allow-non-finite` or allow_non_finite in its config)'
)


def open_trainable(saved_model_dir: str) -> SavedModelReader:
    """Reads the base model and checks that it can be trained.

    Raises:
        SavedModelFormatError: (a ValueError) not a readable SavedModel.
        ValueError: the SavedModel has no train MetaGraph.
    """
    reader = SavedModelReader(saved_model_dir)
    modes = reader.available_modes
    if ModeKeys.TRAIN not in modes:
        raise ValueError(
            f"SavedModel at {saved_model_dir!r} has no 'train' MetaGraph (found: "
            f'{", ".join(modes) or "none"}). Continue training needs a SavedModel exported '
            'with all modes; re-export it with experimental_export_all_saved_models().'
        )
    return reader


# Where training stands: in a checkpoint, or in the latest one of a model_dir.
global_step_of = checkpoints.global_step_of
resume_step = checkpoints.latest_global_step


def run_key(identity: Mapping[str, Any]) -> str:
    """A short stable hash of what makes two executions the same training run."""
    text = json.dumps(identity, sort_keys=True, separators=(',', ':'))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def train(
    reader: SavedModelReader,
    files_by_split: Mapping[str, Sequence[str]],
    options: TrainOptions,
    model_dir: str,
    schema_path: str | None = None,
) -> SavedModelEstimator:
    """Trains from the latest checkpoint in `model_dir`, else the SavedModel's variables.

    Raises:
        ExampleFormatError: (a ValueError) the examples do not fit the train signature.
    """
    train_signature = reader.signature(ModeKeys.TRAIN)
    assert train_signature is not None  # open_trainable checked it
    columns = signature_columns(train_signature, 'train')
    if schema_path:
        example_inputs.check_schema(schema_path, columns, 'train')
    columns = example_inputs.check_examples(files_by_split, columns, 'train')
    if not options.allow_non_finite:
        finite_values.check_finite(files_by_split, columns, 'train', HOW_TO_ALLOW_NON_FINITE)
    files = [f for split_files in files_by_split.values() for f in split_files]
    start_step = global_step_of(reader.variables_path)
    target = options.target_step(start_step)
    if target <= start_step:
        tf.compat.v1.logging.warning(
            f'max_steps={target} is not past the base model global step {start_step}: '
            'nothing to train; the model is re-exported as it is.'
        )
    estimator = SavedModelEstimator(reader.export_dir, model_dir, config=options.run_config())
    input_fn = make_input_fn(
        files,
        columns,
        options.batch_size,
        num_epochs=None,
        shuffle_buffer=options.shuffle_buffer,
        seed=options.seed,
    )
    with example_inputs.readable_data_errors(files, 'train'):
        estimator.train(input_fn, max_steps=target)
    return estimator


def _inputs_of(signature_def: meta_graph_pb2.SignatureDef | None) -> dict[str, tuple[Any, ...]]:
    if signature_def is None:
        return {}
    return {
        key: (info.dtype, tf.TensorShape(info.tensor_shape).as_list(), info.WhichOneof('encoding'))
        for key, info in signature_def.inputs.items()
    }


def _check_same_inputs(original: SavedModelReader, exported: SavedModelReader) -> None:
    if exported.available_modes != original.available_modes:
        raise RuntimeError(
            f'The re-exported SavedModel has modes {exported.available_modes}, but the base '
            f'model had {original.available_modes}.'
        )
    for mode in original.available_modes:
        before, after = _inputs_of(original.signature(mode)), _inputs_of(exported.signature(mode))
        if before != after:
            raise RuntimeError(
                f'The re-exported {mode!r} signature takes inputs {after}, but the base model '
                f'took {before}. This is a bug in the re-export; please report it.'
            )


def export_all_modes(
    estimator: SavedModelEstimator, original: SavedModelReader, destination: str
) -> SavedModelReader:
    """Writes `original` with the latest checkpoint's variables into `destination`.

    Every MetaGraph, signature (classify, regress, predict), asset and init op is kept exactly
    as first exported; only the variables' values are new.

    Written to a temporary directory beside `destination` and renamed into place once complete
    and checked, so `destination` holds a whole SavedModel or nothing.

    Raises:
        RuntimeError: the re-exported signatures take other inputs than the original's.
    """
    parent = os.path.dirname(destination.rstrip('/'))
    staging = os.path.join(parent, f'.staging-{os.path.basename(destination.rstrip("/"))}')
    files.remove_tree(staging)
    try:
        export_dir = os.fsdecode(estimator.export_trained_saved_model(staging))
        _check_same_inputs(original, SavedModelReader(export_dir))
        files.move_into_place(export_dir, destination)
    finally:
        files.remove_tree(staging)
    return SavedModelReader(destination)


def copy_run(model_dir: str, destination: str) -> None:
    """Copies a run's checkpoints and event files, its checkpoint state made relative.

    The state file names checkpoints by absolute path; relative names keep the copy usable on
    its own (`tf.train.latest_checkpoint(destination)`) once the source is gone.
    """
    files.copy_tree(model_dir, destination, overwrite=True)
    state = tf.train.get_checkpoint_state(model_dir)
    if state is not None:
        tf.compat.v1.train.update_checkpoint_state(
            destination,
            os.path.basename(state.model_checkpoint_path),
            [os.path.basename(p) for p in state.all_model_checkpoint_paths],
        )
