"""`Executor.Do` as a thin adapter: TFX's dicts in, one typed `run(options, inputs)`, facts out.

Every component's executor mixes this in before its TFX base class and says three things: the
options type (parsed once from the exec properties), the inputs type (a dataclass whose field
names are the channels': `model` for an input artifact, `model_uri` for an output's directory), and `run`. `Do`
then parses, reads the inputs, runs, and records the result's properties on the outputs.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Protocol

from tfx import types
from tfx.types import artifact_utils

from savedmodel_estimator_tfx.components.common import _tfx_internal
from savedmodel_estimator_tfx.components.common import properties as properties_lib

Artifacts = dict[str, list[types.Artifact]]


_URI = '_uri'


def read_inputs(inputs_type: Any, input_dict: Artifacts, output_dict: Artifacts) -> Any:
    """An `inputs_type` from the artifacts, by field name: a field named for an input channel
    holds its single artifact, one named `<output channel>_uri` that artifact's directory; a
    field with a default (None) is optional, its channel may be absent or empty."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(inputs_type):
        is_uri = field.name.endswith(_URI)
        artifacts = output_dict if is_uri else input_dict
        key = field.name[: -len(_URI)] if is_uri else field.name
        optional = field.default is not dataclasses.MISSING
        found = (artifacts.get(key) or []) if optional else artifacts[key]
        if not found:
            values[field.name] = None
        elif is_uri:
            values[field.name] = artifact_utils.get_single_uri(found)
        else:
            values[field.name] = artifact_utils.get_single_instance(found)
    return inputs_type(**values)


class StageResult(Protocol):
    def properties(self) -> properties_lib.Properties: ...


class StageExecutor:
    """Mixin for a TFX executor whose work is a typed `run(options, inputs) -> result`."""

    options_type: ClassVar[Any]  # a dataclass with `from_exec_properties(props)`
    inputs_type: ClassVar[Any]  # a dataclass read by `read_inputs`

    def run(self, options: Any, inputs: Any) -> StageResult:
        """The stage's work; returns what to record on the outputs."""
        raise NotImplementedError

    def Do(
        self, input_dict: Artifacts, output_dict: Artifacts, exec_properties: dict[str, Any]
    ) -> None:
        _tfx_internal.log_startup(self, input_dict, output_dict, exec_properties)  # type: ignore[arg-type]
        options = self.options_type.from_exec_properties(exec_properties)
        result = self.run(options, read_inputs(self.inputs_type, input_dict, output_dict))
        properties_lib.record_outputs(output_dict, result.properties())
