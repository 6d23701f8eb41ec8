"""ModelMigrator's work: `savedmodel_estimator.migrate` from one Model artifact into another.

`run(options, model_path, output_uri)` is the typed entry; `Executor.Do` adapts TFX's dicts to
it, once. `migrate` writes beside `<uri>/Format-Serving` and renames when complete, so the
artifact holds the whole migrated SavedModel or nothing.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from typing import Any

import tensorflow as tf
from absl import logging
from tensorflow.core.protobuf import saved_model_pb2
from tfx import types, version
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from savedmodel_estimator.inspection import content_hash
from savedmodel_estimator.migration import MigrationResult, migrate
from savedmodel_estimator_tfx.components.common import _tfx_internal, artifacts
from savedmodel_estimator_tfx.components.model_migrator import spec


class MigratorParameterError(ValueError):
    """A ModelMigrator parameter has a value the migrator cannot use."""

    def __init__(self, name: str, value: object, expected: str) -> None:
        self.name, self.value, self.expected = name, value, expected
        super().__init__(f'ModelMigrator parameter {name}={value!r} is invalid: {expected}')


@dataclasses.dataclass(frozen=True)
class MigrateOptions:
    """The executor's parameters, typed."""

    label_keys: tuple[str, ...] | None = None

    @classmethod
    def from_exec_properties(cls, exec_properties: Mapping[str, Any]) -> MigrateOptions:
        raw = exec_properties.get(spec.LABEL_KEYS_KEY)
        if raw is None or raw == '':
            return cls()
        try:
            keys = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError as err:
            raise MigratorParameterError(
                spec.LABEL_KEYS_KEY, raw, f'expected a JSON list ({err}).'
            ) from err
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise MigratorParameterError(spec.LABEL_KEYS_KEY, raw, 'expected a list of strings.')
        return cls(label_keys=tuple(keys))


def serving_inputs(saved_model_dir: str) -> dict[str, dict[str, Any]]:
    """The inputs of the migrated model's `serving_default` signature, as the importer records
    them, or {} without one."""
    saved_model = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(os.path.join(saved_model_dir, 'saved_model.pb'), 'rb') as f:
        saved_model.ParseFromString(f.read())
    signatures = saved_model.meta_graphs[0].signature_def
    if 'serving_default' not in signatures:
        return {}
    return artifacts.signature_inputs(signatures['serving_default'])


def run(options: MigrateOptions, model_path: str, output_uri: str) -> MigrationResult:
    """Migrates the export at `model_path` into `<output_uri>/Format-Serving`.

    Raises:
        MigrationError (a ValueError): the export cannot be migrated faithfully.
        FileExistsError: `Format-Serving` already holds files (a retried execution's outputs
            are fresh directories, so this means someone else wrote there).
    """
    target = os.path.join(output_uri, artifacts.SERVING_MODEL_DIR)
    return migrate(model_path, target, label_keys=options.label_keys)


def record_properties(model: types.Artifact, source: str, result: MigrationResult) -> None:
    """Sets the migrated Model's custom properties (names in the spec and components.common)."""
    model.set_string_custom_property(artifacts.TFX_VERSION_PROPERTY, version.__version__)
    model.set_string_custom_property(spec.SIGNATURES_PROPERTY, json.dumps(result.signatures))
    model.set_string_custom_property(spec.ENDPOINTS_PROPERTY, json.dumps(list(result.endpoints)))
    model.set_string_custom_property(spec.LABEL_KEYS_PROPERTY, json.dumps(list(result.label_keys)))
    model.set_string_custom_property(
        artifacts.SERVING_INPUTS_PROPERTY,
        json.dumps(serving_inputs(result.output_dir), sort_keys=True),
    )
    model.set_string_custom_property(
        artifacts.CONTENT_HASH_PROPERTY, content_hash(result.output_dir)
    )
    model.set_string_custom_property(spec.MIGRATED_FROM_PROPERTY, source)


class Executor(base_executor.BaseExecutor):
    """Migrates the input `model` into the `migrated_model` output (see the component)."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        _tfx_internal.log_startup(self, input_dict, output_dict, exec_properties)
        options = MigrateOptions.from_exec_properties(exec_properties)
        source = artifacts.model_path(
            artifact_utils.get_single_instance(input_dict[spec.MODEL_KEY])
        )
        migrated = artifact_utils.get_single_instance(output_dict[spec.MIGRATED_MODEL_KEY])
        result = run(options, source, migrated.uri)
        record_properties(migrated, source, result)
        logging.info(
            'Migrated %s into %s: signatures %s, endpoints %s.',
            source,
            result.output_dir,
            ', '.join(result.signatures) or 'none',
            ', '.join(result.endpoints),
        )
