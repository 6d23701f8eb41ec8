"""SavedModelImporter's work: validate a SavedModel, copy it into a Model artifact, record facts.

Everything that can fail on the source (not a SavedModel, unreadable variables, anything the
safety scan refuses, a required mode missing, no signature to infer a schema from) fails before
anything is written. The copy goes to a temporary directory beside `Format-Serving/` and is
renamed into place only when complete, so the artifact holds the whole SavedModel or nothing.

The safety scan (`savedmodel_estimator.model_safety`) accepts a model by construction: every op
on TensorFlow's reviewed allowlist, checkpoint ops exactly the MetaGraph's saver, assets inside
assets/, every op registered, nothing pinned to another process.
"""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import tensorflow as tf
from absl import logging
from tfx import types, version
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils

from savedmodel_estimator.inspection import SavedModelSummary, content_hash, inspect_saved_model
from savedmodel_estimator.mode_keys import ALL_MODES, ModeKeys
from savedmodel_estimator.model_safety.findings import Finding
from savedmodel_estimator.model_safety.scan import (
    UnknownOpTypeError,
    scan_saved_model,
    validate_allowed,
)
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator_tfx.components.common import _tfx_internal, artifacts
from savedmodel_estimator_tfx.components.saved_model_importer import spec
from savedmodel_estimator_tfx.components.saved_model_importer.schema_inference import infer_schema


class ImporterParameterError(ValueError):
    """A SavedModelImporter parameter has a value the importer cannot use."""

    def __init__(self, name: str, value: object, expected: str) -> None:
        self.name, self.value, self.expected = name, value, expected
        super().__init__(f'SavedModelImporter parameter {name}={value!r} is invalid: {expected}')


class MissingModeError(ValueError):
    """The SavedModel lacks a mode the pipeline requires."""

    def __init__(self, path: str, missing: list[str], available: list[str]) -> None:
        self.path, self.missing, self.available = path, missing, available
        found = ', '.join(available) or 'none'
        wanted = ', '.join(repr(m) for m in missing)
        super().__init__(
            f'SavedModel at {path!r} lacks required mode(s) {wanted} (modes found: {found}); '
            'a mode needs its MetaGraph and its signature. Continue training and evaluation '
            'need a SavedModel exported with all modes: re-export it with '
            'experimental_export_all_saved_models(), or drop the mode from required_modes.'
        )


class UnsafeOpsError(ValueError):
    """The SavedModel holds what a model from outside may not (see `model_safety`).

    Attributes:
        path: The SavedModel.
        ops: The findings (`model_safety.findings.Finding`), graph by graph.
    """

    def __init__(self, path: str, ops: list[Finding]) -> None:
        self.path, self.ops = path, ops
        listed = '\n'.join(f'  {finding}' for finding in ops)
        allowable = sorted({f.op_type for f in ops if f.allowable})
        hints = []
        if allowable:
            hints.append(
                'Import only models you trust; if this one needs these ops, pass '
                f'allow_unsafe_ops={allowable} (sme import: --allow-op NAME).'
            )
        if any(not f.allowable for f in ops):
            hints.append(
                'Unregistered ops, devices of other processes and files outside the SavedModel '
                'cannot be allowed by name: fix the export.'
            )
        super().__init__(
            f'SavedModel at {path!r} was refused: {len(ops)} problem(s) a model imported '
            f'from outside may not have:\n{listed}\n' + ' '.join(hints)
        )


@dataclasses.dataclass(frozen=True)
class ImportOptions:
    """The executor's parameters, typed."""

    source_uri: str
    required_modes: tuple[str, ...] = ()
    allowed_ops: tuple[str, ...] = ()
    emit_schema: bool = False

    @classmethod
    def from_exec_properties(cls, exec_properties: Mapping[str, Any]) -> ImportOptions:
        """Parses the executor's exec properties; lists are JSON lists or comma-separated."""
        source_uri = exec_properties.get(spec.SOURCE_URI_KEY)
        if not source_uri or not isinstance(source_uri, str):
            raise ImporterParameterError(
                spec.SOURCE_URI_KEY, source_uri, 'expected the path or URI of a SavedModel.'
            )
        modes = _parse_list(spec.REQUIRED_MODES_KEY, exec_properties.get(spec.REQUIRED_MODES_KEY))
        ops = _parse_list(spec.ALLOW_UNSAFE_OPS_KEY, exec_properties.get(spec.ALLOW_UNSAFE_OPS_KEY))
        return cls(
            source_uri=source_uri,
            required_modes=validate_modes(modes),
            allowed_ops=validate_allowed_ops(ops),
            emit_schema=bool(int(exec_properties.get(spec.EMIT_SCHEMA_KEY) or 0)),
        )


@dataclasses.dataclass(frozen=True)
class ImportResult:
    summary: SavedModelSummary
    serving_inputs: dict[str, dict[str, Any]]  # as artifacts.signature_inputs describes them
    content_hash: str
    serving_model_dir: str


def validate_modes(modes: Sequence[str]) -> tuple[str, ...]:
    """The modes, checked to be Estimator modes; raises ImporterParameterError otherwise."""
    unknown = [m for m in modes if m not in ALL_MODES]
    if unknown:
        raise ImporterParameterError(
            spec.REQUIRED_MODES_KEY,
            list(modes),
            f'modes are {", ".join(ALL_MODES)}; found {unknown[0]!r}.',
        )
    return tuple(modes)


def validate_allowed_ops(ops: Sequence[str]) -> tuple[str, ...]:
    """The op types, checked to be registered by TensorFlow; raises ImporterParameterError."""
    try:
        return tuple(sorted(validate_allowed(ops)))
    except UnknownOpTypeError as err:
        raise ImporterParameterError(spec.ALLOW_UNSAFE_OPS_KEY, list(ops), str(err)) from err


def _parse_list(name: str, raw: object) -> tuple[str, ...]:
    if raw is None or raw == '':
        return ()
    if isinstance(raw, list | tuple):
        values: object = list(raw)
    elif isinstance(raw, str) and raw.lstrip().startswith('['):
        try:
            values = json.loads(raw)
        except json.JSONDecodeError as err:
            raise ImporterParameterError(name, raw, f'expected a JSON list ({err}).') from err
    elif isinstance(raw, str):
        values = [part.strip() for part in raw.split(',') if part.strip()]
    else:
        values = raw
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ImporterParameterError(name, raw, 'expected a list of strings.')
    return tuple(values)


def check_required_modes(summary: SavedModelSummary, required: tuple[str, ...]) -> None:
    missing = [mode for mode in required if mode not in summary.modes]
    if missing:
        raise MissingModeError(summary.path, missing, list(summary.modes))


def _copy_tree(source: str, target: str) -> None:
    source = source.rstrip('/')
    for dirpath, _, filenames in tf.io.gfile.walk(source):
        relative = dirpath[len(source) :].strip('/')
        target_dir = os.path.join(target, relative) if relative else target
        tf.io.gfile.makedirs(target_dir)
        for filename in filenames:
            tf.io.gfile.copy(os.path.join(dirpath, filename), os.path.join(target_dir, filename))


def copy_complete_or_nothing(source: str, target: str) -> str:
    """Copies `source` to `target` through a temporary sibling; returns the copy's content hash.

    On a local file system the final rename is atomic; on object stores (gs://) it is a copy,
    but the execution fails on any error and TFX publishes no artifact for a failed execution.
    """
    parent = os.path.dirname(target.rstrip('/'))
    temporary = os.path.join(parent, f'.{os.path.basename(target)}.incomplete-{uuid.uuid4().hex}')
    try:
        _copy_tree(source, temporary)
        digest = content_hash(temporary)
        if tf.io.gfile.exists(target):
            logging.warning('Replacing %s, left by an earlier attempt.', target)
            tf.io.gfile.rmtree(target)
        tf.io.gfile.rename(temporary, target)
    except BaseException:
        if tf.io.gfile.exists(temporary):
            tf.io.gfile.rmtree(temporary)
        raise
    return digest


def import_saved_model(
    options: ImportOptions, model_uri: str, schema_uri: str | None = None
) -> ImportResult:
    """Validates the SavedModel at `options.source_uri`, then copies it under `model_uri`.

    Raises:
        SavedModelFormatError: the source is not a SavedModel or its variables cannot be read.
        UnsafeOpsError: the safety scan refuses the model (and `allowed_ops` does not accept).
        MissingModeError: a required mode is missing.
        SchemaInferenceError: a schema was asked for and the signatures do not give one.
    """
    # Assets are checked by the scan, with everything else it refuses.
    reader = SavedModelReader(options.source_uri, check_assets=False)
    summary = inspect_saved_model(reader)
    findings = scan_saved_model(reader, options.allowed_ops)
    if findings:
        raise UnsafeOpsError(reader.export_dir, findings)
    check_required_modes(summary, options.required_modes)
    schema = infer_schema(summary) if options.emit_schema else None
    if schema is not None and schema_uri is None:
        raise ImporterParameterError(
            spec.EMIT_SCHEMA_KEY, 1, f'emit_schema needs a {spec.SCHEMA_KEY!r} output artifact.'
        )

    serving_model_dir = os.path.join(model_uri, artifacts.SERVING_MODEL_DIR)
    digest = copy_complete_or_nothing(reader.export_dir, serving_model_dir)
    if schema is not None and schema_uri is not None:
        io_utils.write_pbtxt_file(os.path.join(schema_uri, spec.SCHEMA_FILE), schema)
    serving = reader.signature(ModeKeys.PREDICT)
    serving_inputs = artifacts.signature_inputs(serving) if serving is not None else {}
    return ImportResult(summary, serving_inputs, digest, serving_model_dir)


def record_properties(model: types.Artifact, source_uri: str, result: ImportResult) -> None:
    """Sets the custom properties downstream components read (names in components.common)."""
    summary = result.summary
    model.set_string_custom_property(artifacts.TFX_VERSION_PROPERTY, version.__version__)
    model.set_string_custom_property(artifacts.MODES_PROPERTY, json.dumps(list(summary.modes)))
    model.set_string_custom_property(
        artifacts.SERVING_INPUTS_PROPERTY, json.dumps(result.serving_inputs, sort_keys=True)
    )
    model.set_string_custom_property(artifacts.SOURCE_URI_PROPERTY, source_uri)
    model.set_string_custom_property(artifacts.CONTENT_HASH_PROPERTY, result.content_hash)
    if summary.global_step is not None:
        model.set_int_custom_property(artifacts.GLOBAL_STEP_PROPERTY, summary.global_step)


class Executor(base_executor.BaseExecutor):
    """Imports the SavedModel at `source_uri` into the `model` output (see the component)."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        _tfx_internal.log_startup(self, input_dict, output_dict, exec_properties)
        options = ImportOptions.from_exec_properties(exec_properties)
        model = artifact_utils.get_single_instance(output_dict[spec.MODEL_KEY])
        schema_artifacts = output_dict.get(spec.SCHEMA_KEY) or []
        schema_uri = artifact_utils.get_single_uri(schema_artifacts) if schema_artifacts else None

        result = import_saved_model(options, model.uri, schema_uri)
        record_properties(model, options.source_uri, result)
        logging.info(
            'Imported SavedModel %s (modes %s, global step %s, sha256 %s) into %s.',
            options.source_uri,
            ', '.join(result.summary.modes),
            result.summary.global_step,
            result.content_hash,
            result.serving_model_dir,
        )
