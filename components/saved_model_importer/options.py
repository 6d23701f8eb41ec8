"""SavedModelImporter's parameters as one typed value, checked once: from the component, the
executor's exec properties, or `sme import`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from savedmodel_estimator.mode_keys import ALL_MODES
from savedmodel_estimator.model_safety.scan import UnknownOpTypeError, validate_allowed
from savedmodel_estimator_tfx.components.common import parameters
from savedmodel_estimator_tfx.components.saved_model_importer import spec

COMPONENT = 'SavedModelImporter'


class ImporterParameterError(parameters.InvalidParameterError):
    """A SavedModelImporter parameter has a value the importer cannot use."""

    component = COMPONENT


@dataclasses.dataclass(frozen=True)
class ImportOptions:
    """What to import and how to check it; see `SavedModelImporter` for each field."""

    source_uri: str
    required_modes: tuple[str, ...] = ()
    allowed_ops: tuple[str, ...] = ()
    emit_schema: bool = False

    @classmethod
    def from_exec_properties(cls, props: Mapping[str, Any]) -> ImportOptions:
        """Parses the executor's exec properties; lists are JSON lists or comma-separated.

        Raises:
            UnknownParameterError: (a TypeError) a key the importer does not take.
            ImporterParameterError: (a ValueError) a value it cannot use.
        """
        parameters.check_known(COMPONENT, props, spec.SavedModelImporterSpec.PARAMETERS)
        source_uri = props.get(spec.SOURCE_URI_KEY)
        _check_source_uri(source_uri)
        return cls(
            source_uri=source_uri,
            required_modes=_list(props, spec.REQUIRED_MODES_KEY),
            allowed_ops=_list(props, spec.ALLOW_UNSAFE_OPS_KEY),
            emit_schema=parameters.flag(props.get(spec.EMIT_SCHEMA_KEY)),
        )

    def __post_init__(self) -> None:
        _check_source_uri(self.source_uri)
        # Checked and normalised here, so every way in (component, executor, CLI) gets both.
        object.__setattr__(self, 'required_modes', validate_modes(self.required_modes))
        object.__setattr__(self, 'allowed_ops', validate_allowed_ops(self.allowed_ops))
        object.__setattr__(self, 'emit_schema', bool(self.emit_schema))


def _check_source_uri(source_uri: object) -> None:
    if not source_uri or not isinstance(source_uri, str):
        raise ImporterParameterError(
            spec.SOURCE_URI_KEY, source_uri, 'expected the path or URI of a SavedModel.'
        )


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


def _list(props: Mapping[str, Any], key: str) -> tuple[str, ...]:
    try:
        return parameters.string_list(props.get(key), comma_separated=True) or ()
    except parameters.ListFormatError as err:
        raise ImporterParameterError(key, err.raw, err.expected) from err
