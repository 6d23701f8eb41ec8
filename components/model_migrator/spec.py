"""ModelMigrator's typed interface: the keys of its input, output and parameter, and its spec.

Shared by the component, its executor and the tests. `label_keys` travels as a JSON list string,
a parameter type every TFX orchestrator compiles (local, Beam, Kubeflow V2 / Vertex).
"""

from __future__ import annotations

from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

# Input: a Model holding an Estimator export (SavedModelImporter's or ContinueTrainer's).
MODEL_KEY = 'model'
# Output: the migrated TF2 SavedModel, where stock BulkInferrer, Evaluator and Pusher look.
MIGRATED_MODEL_KEY = 'migrated_model'
# Parameter: JSON list of the train/eval signature inputs that are labels ('["label"]').
LABEL_KEYS_KEY = 'label_keys'

# Custom properties of the migrated Model, besides `tfx_version`, `content_hash` and
# `serving_inputs` (components.common.artifacts).
SIGNATURES_PROPERTY = 'signatures'  # JSON {key: method name}
ENDPOINTS_PROPERTY = 'endpoints'  # JSON list: serve, train_step, update_metrics, ...
LABEL_KEYS_PROPERTY = 'label_keys'  # JSON list
MIGRATED_FROM_PROPERTY = 'migrated_from'  # the input Model's SavedModel path


class ModelMigratorSpec(ComponentSpec):
    """ModelMigrator: a Model (an Estimator export) in; the migrated Model out."""

    # TFX reads these class attributes; ComponentSpec declares them as plain dicts.
    PARAMETERS = {  # noqa: RUF012
        LABEL_KEYS_KEY: ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {  # noqa: RUF012
        MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
    }
    OUTPUTS = {  # noqa: RUF012
        MIGRATED_MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
    }
