"""ModelMigrator's parameter as one typed value, checked once at the executor's edge."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from savedmodel_estimator_tfx.components.common import parameters
from savedmodel_estimator_tfx.components.model_migrator import spec

COMPONENT = 'ModelMigrator'


class MigratorParameterError(parameters.InvalidParameterError):
    """A ModelMigrator parameter has a value the migrator cannot use."""

    component = COMPONENT


@dataclasses.dataclass(frozen=True)
class MigrateOptions:
    """How to migrate; see `ModelMigrator` (None: the labels are `label`)."""

    label_keys: tuple[str, ...] | None = None

    @classmethod
    def from_exec_properties(cls, props: Mapping[str, Any]) -> MigrateOptions:
        """The typed options from the execution properties (`label_keys` a JSON list).

        Raises:
            UnknownParameterError: (a TypeError) a key the migrator does not take.
            MigratorParameterError: (a ValueError) `label_keys` is not a list of strings.
        """
        parameters.check_known(COMPONENT, props, spec.ModelMigratorSpec.PARAMETERS)
        raw = props.get(spec.LABEL_KEYS_KEY)
        try:
            return cls(label_keys=parameters.string_list(raw))
        except parameters.ListFormatError as err:
            raise MigratorParameterError(spec.LABEL_KEYS_KEY, raw, err.expected) from err
