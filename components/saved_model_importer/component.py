"""SavedModelImporter: a SavedModel exported elsewhere, as a `Model` artifact TFX components read."""

from __future__ import annotations

from collections.abc import Sequence

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.orchestration import data_types
from tfx.types import standard_artifacts

from savedmodel_estimator_tfx.components.common import parameters
from savedmodel_estimator_tfx.components.saved_model_importer import executor, options, spec


class SavedModelImporter(base_component.BaseComponent):
    """Imports a SavedModel (for example a tf.estimator export) into the pipeline.

    The component checks the SavedModel at `source_uri` (its MetaGraphs and signatures parse, its
    variables checkpoint reads, the `required_modes` are there, and the safety scan accepts it:
    every op of every graph and library function on TensorFlow's reviewed allowlist or in
    `allow_unsafe_ops`, checkpoint ops exactly the MetaGraph's saver, assets inside assets/,
    every op registered by TensorFlow, nothing pinned to another process; see
    `savedmodel_estimator.model_safety`), then copies it whole into the `model` output. A bad
    source fails the execution with an error naming the path, what was refused and where
    (MetaGraph tags, node, function), and nothing is published.

    Outputs:

    * `model` (`Model`): the SavedModel in `<uri>/Format-Serving/`, with the `tfx_version`
      property, where stock Pusher, BulkInferrer and Evaluator look. Custom properties:
      `available_modes` (JSON list, e.g. `["train", "eval", "infer"]`), `global_step` (int,
      absent if the checkpoint has none), `serving_inputs` (JSON
      `{key: {"dtype": "string", "shape": [null]}}` of the serving signature, `"sparse": true`
      added for a SparseTensor, `{}` without a serving signature), `source_uri`, and
      `content_hash` (sha256 over every file's relative path and bytes, see
      `savedmodel_estimator.inspection.content_hash`).
    * `schema` (`Schema`, only with `emit_schema=True`): `schema.pbtxt` with one feature per
      input of the train and eval signatures (features and label), typed BYTES, INT or FLOAT,
      with their per-example shape when fixed.

    Re-importing identical content: the orchestrator's cache keys on the component's
    parameters, and `source_uri` is one, so running the pipeline again on the same URI is a cache
    hit that reuses the earlier `Model` artifact (the execution is recorded as CACHED). Point
    `source_uri` at an immutable export (an Estimator's timestamped directory): a cache hit does
    not re-read the source, so new content written to the same URI needs the cache disabled.
    The same content reached through a different URI is a new execution; its artifact carries the
    same `content_hash`, which is how a pipeline (or a person querying ML Metadata) tells that two
    imports hold the same model.

    Example:
        importer = SavedModelImporter(
            source_uri='gs://bucket/export/1700000000', required_modes=['train', 'eval'])
        pusher = Pusher(model=importer.outputs['model'], push_destination=...)
    """

    SPEC_CLASS = spec.SavedModelImporterSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        source_uri: str | data_types.RuntimeParameter,
        required_modes: Sequence[str] = (),
        allow_unsafe_ops: Sequence[str] = (),
        emit_schema: bool = False,
    ) -> None:
        """Declares the import.

        Args:
            source_uri: The SavedModel directory: a local path or any file system TensorFlow
                reads (`gs://`, `s3://`, `hdfs://`).
            required_modes: Modes the SavedModel must have (`train`, `eval`, `infer`); the
                execution fails if one is missing.
            allow_unsafe_ops: Op types the safety scan refuses that this model may hold anyway,
                for a model you trust (see `savedmodel_estimator/model_safety/op_policy.py`).
                Unregistered ops, remote devices and assets outside assets/ stay refused.
            emit_schema: Also output a `Schema` inferred from the train and eval signatures.

        Raises:
            ImporterParameterError (a ValueError): a mode is not an Estimator mode, or an op
                type is not one TensorFlow registers.
        """
        # A lone string is one name, not a sequence of one-letter names.
        if isinstance(required_modes, str):
            required_modes = [required_modes]
        if isinstance(allow_unsafe_ops, str):
            allow_unsafe_ops = [allow_unsafe_ops]
        modes = options.validate_modes(list(required_modes))
        ops = options.validate_allowed_ops(list(allow_unsafe_ops))
        schema = types.Channel(type=standard_artifacts.Schema) if emit_schema else None
        super().__init__(
            spec=spec.SavedModelImporterSpec(
                source_uri=source_uri,
                required_modes=parameters.json_list(modes),
                allow_unsafe_ops=parameters.json_list(ops),
                emit_schema=int(emit_schema),
                model=types.Channel(type=standard_artifacts.Model),
                schema=schema,
            )
        )
