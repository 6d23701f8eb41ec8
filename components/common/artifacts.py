"""Where the components' artifacts keep their files, and the property names they record.

Layouts follow the stock TFX components, so stock clients (Pusher, BulkInferrer, TFMA, the
TFX Evaluator's consumers) read what these components write:

* `Model`: the SavedModel in `<uri>/Format-Serving/` (TFX reads `<uri>/serving_model_dir` for
  artifacts without a `tfx_version` property; `model_path` handles both).
* `Examples`: `<uri>/Split-<name>/*` TFRecord files (gzip), split names in `split_names`.
* `ModelBlessing`: an empty `BLESSED` or `NOT_BLESSED` file; `blessed` is 1 or 0.
* `ModelRun`: checkpoints and TensorBoard event files of a training run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

# Model artifacts.
SERVING_MODEL_DIR = 'Format-Serving'
OLD_SERVING_MODEL_DIR = 'serving_model_dir'
TFX_VERSION_PROPERTY = 'tfx_version'

# Custom properties the importer and trainer record on a Model, read downstream.
MODES_PROPERTY = 'available_modes'  # JSON list: ["train", "eval", "infer"]
GLOBAL_STEP_PROPERTY = 'global_step'
SERVING_INPUTS_PROPERTY = 'serving_inputs'  # JSON: {name: {"dtype":..., "shape": [...]}}
SOURCE_URI_PROPERTY = 'source_uri'
CONTENT_HASH_PROPERTY = 'content_hash'

# ModelRun: where the checkpoints were trained (a stable directory that retries resume from).
CHECKPOINT_DIR_PROPERTY = 'checkpoint_dir'

# ModelEvaluation: the plain summary beside TFMA's metrics/validations files.
EVALUATION_SUMMARY_FILE = 'metrics.json'

# ModelBlessing, with the TFX Evaluator's names and values.
BLESSED_FILE = 'BLESSED'
NOT_BLESSED_FILE = 'NOT_BLESSED'
BLESSED_PROPERTY = 'blessed'
CURRENT_MODEL_PROPERTY = 'current_model'
CURRENT_MODEL_ID_PROPERTY = 'current_model_id'
BASELINE_MODEL_PROPERTY = 'baseline_model'
BASELINE_MODEL_ID_PROPERTY = 'baseline_model_id'
BLESSING_REASON_PROPERTY = 'blessing_reason'

# Examples artifacts.
SPLIT_NAMES_PROPERTY = 'split_names'


def signature_inputs(signature_def: Any) -> dict[str, dict[str, Any]]:
    """A SignatureDef's inputs as `SERVING_INPUTS_PROPERTY` records them.

    `{name: {"dtype": "string", "shape": [null]}}`; unknown dimensions are null, and a sparse
    input also has `"sparse": true`.
    """
    described: dict[str, dict[str, Any]] = {}
    for name in sorted(signature_def.inputs):
        info = signature_def.inputs[name]
        shape = tf.TensorShape(info.tensor_shape)
        entry: dict[str, Any] = {
            'dtype': tf.dtypes.as_dtype(info.dtype).name,
            'shape': shape.as_list() if shape.rank is not None else None,
        }
        if info.WhichOneof('encoding') == 'coo_sparse':
            entry['sparse'] = True
        described[name] = entry
    return described


def model_path(artifact: Any) -> str:
    """The SavedModel directory inside a Model artifact, where TFX looks for it.

    An artifact whose directory is itself a SavedModel (as a kfp `dsl.Model` path or a plain
    directory given to an `sme` stage command may be) is its own SavedModel.
    """
    if tf.io.gfile.exists(os.path.join(artifact.uri, 'saved_model.pb')):
        return str(artifact.uri)
    has_version = artifact.has_custom_property(TFX_VERSION_PROPERTY)
    primary = os.path.join(artifact.uri, SERVING_MODEL_DIR)
    legacy = os.path.join(artifact.uri, OLD_SERVING_MODEL_DIR)
    if not has_version and tf.io.gfile.exists(legacy):
        return legacy
    if tf.io.gfile.exists(primary):
        return primary
    if tf.io.gfile.exists(legacy):
        return legacy
    raise FileNotFoundError(
        f'Model artifact at {artifact.uri!r} holds no SavedModel: neither {SERVING_MODEL_DIR}/ '
        f'nor {OLD_SERVING_MODEL_DIR}/ exists. Was it produced by SavedModelImporter, '
        'ContinueTrainer or a TFX Trainer?'
    )


def split_names(examples: Any) -> list[str]:
    """The split names recorded on an Examples artifact."""
    raw = getattr(examples, SPLIT_NAMES_PROPERTY, '')
    return list(json.loads(raw)) if raw else []


def split_file_patterns(examples: Any, splits: Sequence[str]) -> dict[str, str]:
    """`{split: '<uri>/Split-<split>/*'}` for the requested splits.

    Raises:
        ValueError: a requested split is not in the artifact, naming those that are.
    """
    available = split_names(examples)
    missing = [s for s in splits if s not in available]
    if missing:
        raise ValueError(
            f'Examples artifact at {examples.uri!r} has no split {missing[0]!r} '
            f'(splits: {available}).'
        )
    return {s: os.path.join(examples.uri, f'Split-{s}', '*') for s in splits}
