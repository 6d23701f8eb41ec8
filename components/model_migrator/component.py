"""ModelMigrator: an Estimator export, as a TF2-native SavedModel that stock TFX consumes."""

from __future__ import annotations

from collections.abc import Sequence

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts

from savedmodel_estimator_tfx.components.common import parameters
from savedmodel_estimator_tfx.components.model_migrator import executor, spec


class ModelMigrator(base_component.BaseComponent):
    """Migrates the Estimator export in a `Model` into a TF2 SavedModel (`savedmodel_estimator.
    migrate`): one set of `tf.Variable`s shared by every serving signature of the export,
    `train_step` (with a train MetaGraph) and `update_metrics`/`metrics`/`reset_metrics` (with an
    eval MetaGraph), loadable with `tf.saved_model.load` alone.

    An export that cannot be migrated faithfully fails the execution with a `MigrationError`
    saying what and why, and nothing is published.

    Inputs:

    * `model` (`Model`): an Estimator export, from SavedModelImporter or ContinueTrainer (its
      SavedModel at `<uri>/Format-Serving/`).

    Outputs:

    * `migrated_model` (`Model`): the TF2 SavedModel at `<uri>/Format-Serving/`, with the
      `tfx_version` property, where stock BulkInferrer, Evaluator (TFMA) and Pusher look.
      Custom properties: `signatures` (JSON `{key: method name}`), `endpoints` (JSON list),
      `label_keys` (JSON list), `serving_inputs` (as SavedModelImporter records them, of the
      `serving_default` signature; `{}` without one), `content_hash`, `migrated_from`.

    Example:
        importer = SavedModelImporter(source_uri='gs://bucket/export/1700000000')
        migrator = ModelMigrator(model=importer.outputs['model'])
        bulk_inferrer = BulkInferrer(model=migrator.outputs['migrated_model'], examples=...)
    """

    SPEC_CLASS = spec.ModelMigratorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, model: types.BaseChannel, label_keys: Sequence[str] | None = None) -> None:
        """Declares the migration.

        Args:
            model: The channel of the Estimator export's `Model`.
            label_keys: The train/eval signature inputs that are labels (default: `label`).
        """
        super().__init__(
            spec=spec.ModelMigratorSpec(
                model=model,
                label_keys=parameters.json_list(label_keys) if label_keys is not None else None,
                migrated_model=types.Channel(type=standard_artifacts.Model),
            )
        )
