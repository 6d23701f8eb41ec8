"""SavedModelImporter's typed interface: parameter and channel keys, and the ComponentSpec.

The keys are shared by the component, the executor and the tests. Lists travel as JSON strings
(`'["train", "eval"]'`) and the flag as an int, the parameter types that compile for every TFX
orchestrator (local, Beam, Kubeflow V2 / Vertex).
"""

from __future__ import annotations

from tfx.types import component_spec, standard_artifacts

# Parameters.
SOURCE_URI_KEY = 'source_uri'
REQUIRED_MODES_KEY = 'required_modes'  # JSON list of 'train', 'eval', 'infer'
ALLOW_UNSAFE_OPS_KEY = 'allow_unsafe_ops'  # JSON list of op types, e.g. '["PyFunc"]'
EMIT_SCHEMA_KEY = 'emit_schema'  # 0 or 1

# Outputs.
MODEL_KEY = 'model'
SCHEMA_KEY = 'schema'

SCHEMA_FILE = 'schema.pbtxt'  # in the Schema artifact's uri, as SchemaGen writes it


class SavedModelImporterSpec(component_spec.ComponentSpec):
    """Imports a SavedModel from `source_uri` into a `Model` (and optionally a `Schema`)."""

    # TFX reads these class attributes; ComponentSpec declares them as plain dicts.
    PARAMETERS = {  # noqa: RUF012
        SOURCE_URI_KEY: component_spec.ExecutionParameter(type=str),
        REQUIRED_MODES_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        ALLOW_UNSAFE_OPS_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        EMIT_SCHEMA_KEY: component_spec.ExecutionParameter(type=int, optional=True),
    }
    INPUTS: dict[str, component_spec.ChannelParameter] = {}  # noqa: RUF012
    OUTPUTS = {  # noqa: RUF012
        MODEL_KEY: component_spec.ChannelParameter(type=standard_artifacts.Model),
        SCHEMA_KEY: component_spec.ChannelParameter(type=standard_artifacts.Schema, optional=True),
    }
