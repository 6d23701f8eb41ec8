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
from typing import Any

from absl import logging
from tfx import version
from tfx.dsl.components.base import base_executor
from tfx.utils import io_utils

from savedmodel_estimator import files
from savedmodel_estimator.inspection import SavedModelSummary, content_hash, inspect_saved_model
from savedmodel_estimator.mode_keys import ModeKeys
from savedmodel_estimator.model_safety.findings import Finding
from savedmodel_estimator.model_safety.scan import scan_saved_model
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator_tfx.components.common import artifacts
from savedmodel_estimator_tfx.components.common import properties as properties_lib
from savedmodel_estimator_tfx.components.common.stage_executor import StageExecutor
from savedmodel_estimator_tfx.components.saved_model_importer import spec
from savedmodel_estimator_tfx.components.saved_model_importer.options import (  # noqa: F401
    ImporterParameterError,
    ImportOptions,
    validate_allowed_ops,
    validate_modes,
)
from savedmodel_estimator_tfx.components.saved_model_importer.schema_inference import infer_schema


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
class ImportInputs:
    """Where the import writes: the `model` output's directory, and the `schema` one's if any."""

    model_uri: str
    schema_uri: str | None = None


@dataclasses.dataclass(frozen=True)
class ImportResult:
    """What was imported, and the facts the `model` output records (see `properties`)."""

    summary: SavedModelSummary
    serving_inputs: dict[str, dict[str, Any]]  # as artifacts.signature_inputs describes them
    content_hash: str
    serving_model_dir: str
    source_uri: str = ''

    def properties(self) -> properties_lib.Properties:
        """The custom properties downstream components read (names in components.common)."""
        model: dict[str, Any] = {
            artifacts.TFX_VERSION_PROPERTY: version.__version__,
            artifacts.MODES_PROPERTY: json.dumps(list(self.summary.modes)),
            artifacts.SERVING_INPUTS_PROPERTY: json.dumps(self.serving_inputs, sort_keys=True),
            artifacts.SOURCE_URI_PROPERTY: self.source_uri,
            artifacts.CONTENT_HASH_PROPERTY: self.content_hash,
        }
        if self.summary.global_step is not None:
            model[artifacts.GLOBAL_STEP_PROPERTY] = self.summary.global_step
        return {spec.MODEL_KEY: model}


def check_required_modes(summary: SavedModelSummary, required: tuple[str, ...]) -> None:
    missing = [mode for mode in required if mode not in summary.modes]
    if missing:
        raise MissingModeError(summary.path, missing, list(summary.modes))


def copy_complete_or_nothing(source: str, target: str) -> str:
    """Copies `source` to `target` through a temporary sibling; returns the copy's content hash.

    On a local file system the final rename is atomic; on object stores (gs://) it is a copy,
    but the execution fails on any error and TFX publishes no artifact for a failed execution.
    """
    with files.removed_on_failure(files.staging_path(target, 'incomplete')) as temporary:
        files.copy_tree(source, temporary)
        digest = content_hash(temporary)
        files.move_into_place(temporary, target, warn_replacing=True)
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
    return ImportResult(summary, serving_inputs, digest, serving_model_dir, options.source_uri)


def run(options: ImportOptions, inputs: ImportInputs) -> ImportResult:
    """Imports the SavedModel at `options.source_uri` into `inputs.model_uri` (see the component).

    Raises:
        As `import_saved_model`.
    """
    result = import_saved_model(options, inputs.model_uri, inputs.schema_uri)
    logging.info(
        'Imported SavedModel %s (modes %s, global step %s, sha256 %s) into %s.',
        options.source_uri,
        ', '.join(result.summary.modes),
        result.summary.global_step,
        result.content_hash,
        result.serving_model_dir,
    )
    return result


class Executor(StageExecutor, base_executor.BaseExecutor):
    """Imports the SavedModel at `source_uri` into the `model` output (see the component)."""

    options_type = ImportOptions
    inputs_type = ImportInputs

    def run(self, options: ImportOptions, inputs: ImportInputs) -> ImportResult:
        return run(options, inputs)
