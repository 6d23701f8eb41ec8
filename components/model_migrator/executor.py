"""ModelMigrator's work: `savedmodel_estimator.migrate` from one Model artifact into another.

`run(options, inputs)` is the typed entry; `Executor.Do` adapts TFX's dicts to
it, once. `migrate` writes beside `<uri>/Format-Serving` and renames when complete, so the
artifact holds the whole migrated SavedModel or nothing.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import tensorflow as tf
from absl import logging
from tensorflow.core.protobuf import saved_model_pb2
from tfx import types, version
from tfx.dsl.components.base import base_executor

from savedmodel_estimator import constants
from savedmodel_estimator.inspection import content_hash
from savedmodel_estimator.migration import MigrationResult, migrate
from savedmodel_estimator_tfx.components.common import artifacts
from savedmodel_estimator_tfx.components.common import properties as properties_lib
from savedmodel_estimator_tfx.components.common.stage_executor import StageExecutor
from savedmodel_estimator_tfx.components.model_migrator import spec
from savedmodel_estimator_tfx.components.model_migrator.options import (  # noqa: F401
    MigrateOptions,
    MigratorParameterError,
)


@dataclasses.dataclass(frozen=True)
class MigrateInputs:
    """The Model holding the export to migrate, and the output Model's directory."""

    model: types.Artifact
    migrated_model_uri: str


@dataclasses.dataclass(frozen=True)
class MigrateResult:
    """What `migrate` wrote, and the facts the `migrated_model` output records."""

    migration: MigrationResult
    source: str

    def properties(self) -> properties_lib.Properties:
        """The migrated Model's custom properties (names in the spec and components.common)."""
        result = self.migration
        return {
            spec.MIGRATED_MODEL_KEY: {
                artifacts.TFX_VERSION_PROPERTY: version.__version__,
                spec.SIGNATURES_PROPERTY: json.dumps(result.signatures),
                spec.ENDPOINTS_PROPERTY: json.dumps(list(result.endpoints)),
                spec.LABEL_KEYS_PROPERTY: json.dumps(list(result.label_keys)),
                artifacts.SERVING_INPUTS_PROPERTY: json.dumps(
                    serving_inputs(result.output_dir), sort_keys=True
                ),
                artifacts.CONTENT_HASH_PROPERTY: content_hash(result.output_dir),
                spec.MIGRATED_FROM_PROPERTY: self.source,
            }
        }


def serving_inputs(saved_model_dir: str) -> dict[str, dict[str, Any]]:
    """The inputs of the migrated model's `serving_default` signature, as the importer records
    them, or {} without one."""
    saved_model = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(os.path.join(saved_model_dir, 'saved_model.pb'), 'rb') as f:
        saved_model.ParseFromString(f.read())
    signatures = saved_model.meta_graphs[0].signature_def
    if constants.SERVING_SIGNATURE not in signatures:
        return {}
    return artifacts.signature_inputs(signatures[constants.SERVING_SIGNATURE])


def run(options: MigrateOptions, inputs: MigrateInputs) -> MigrateResult:
    """Migrates the export in `inputs.model` into `<inputs.migrated_model_uri>/Format-Serving`.

    Raises:
        MigrationError (a ValueError): the export cannot be migrated faithfully.
        FileExistsError: `Format-Serving` already holds files (a retried execution's outputs
            are fresh directories, so this means someone else wrote there).
    """
    model_path = artifacts.model_path(inputs.model)
    target = os.path.join(inputs.migrated_model_uri, artifacts.SERVING_MODEL_DIR)
    result = migrate(model_path, target, label_keys=options.label_keys)
    logging.info(
        'Migrated %s into %s: signatures %s, endpoints %s.',
        model_path,
        result.output_dir,
        ', '.join(result.signatures) or 'none',
        ', '.join(result.endpoints),
    )
    return MigrateResult(result, model_path)


class Executor(StageExecutor, base_executor.BaseExecutor):
    """Migrates the input `model` into the `migrated_model` output (see the component)."""

    options_type = MigrateOptions
    inputs_type = MigrateInputs

    def run(self, options: MigrateOptions, inputs: MigrateInputs) -> MigrateResult:
        return run(options, inputs)
