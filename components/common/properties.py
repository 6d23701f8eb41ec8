"""Recording facts on output artifacts as custom properties.

A stage's result says what to record as `{output key: {property: value}}` (ints as int
properties, everything else as strings); the executor records it on its output artifacts and
`sme`'s stage commands print it, so both show the same facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tfx import types

Properties = dict[str, dict[str, Any]]  # output key -> property name -> value


def record(artifact: types.Artifact, properties: Mapping[str, Any]) -> None:
    """Sets each property on the artifact: an int as an int property, else a string one."""
    for name, value in properties.items():
        if isinstance(value, int) and not isinstance(value, bool):
            artifact.set_int_custom_property(name, value)
        else:
            artifact.set_string_custom_property(name, str(value))


def record_outputs(outputs: Mapping[str, list[types.Artifact]], properties: Properties) -> None:
    """Records each output's properties on its (single) artifact."""
    for key, values in properties.items():
        if values:
            for artifact in outputs.get(key) or []:
                record(artifact, values)
