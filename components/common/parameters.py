"""Execution properties into typed values: the one parser every component's options use.

TFX hands an executor its parameters as plain str/int values (lists as JSON strings, flags as
0/1, ints possibly as floats from kfp). Each component's `options.py` turns them into its options
dataclass with these functions, once, at the executor's edge; what the component says when a
value is malformed stays its own (`ListFormatError` carries what was wrong for that).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any


class UnknownParameterError(TypeError):
    """A parameter no component of this name takes (a misspelling, usually).

    Attributes:
        component: The component's name.
        key: The first unknown key.
        known: The keys the component takes.
    """

    def __init__(self, component: str, key: str, known: Collection[str]) -> None:
        self.component, self.key, self.known = component, key, sorted(known)
        super().__init__(
            f'{component}() got an unexpected parameter {key!r}; it takes: {", ".join(self.known)}.'
        )


class ListFormatError(ValueError):
    """A list parameter is neither a list of strings nor one written as JSON.

    Attributes:
        raw: The value given.
        expected: What was expected, with the JSON error when the text was not JSON.
        json_error: The JSON decoding error, if that was the problem.
    """

    def __init__(self, raw: object, json_error: json.JSONDecodeError | None = None) -> None:
        self.raw, self.json_error = raw, json_error
        self.expected = (
            f'expected a JSON list ({json_error}).'
            if json_error is not None
            else 'expected a list of strings.'
        )
        super().__init__(f'{raw!r}: {self.expected}')


def check_known(component: str, given: Mapping[str, Any], known: Collection[str]) -> None:
    """Raises UnknownParameterError for the first key of `given` that is not in `known`."""
    unknown = sorted(key for key in given if key not in known)
    if unknown:
        raise UnknownParameterError(component, unknown[0], known)


def string_list(raw: object, *, comma_separated: bool = False) -> tuple[str, ...] | None:
    """A list of strings from a list, its JSON text, or (if allowed) `'a, b'`; None if absent.

    Raises:
        ListFormatError: the value is not a list of strings, or not JSON when it must be.
    """
    if raw is None or raw == '':
        return None
    values: object
    if isinstance(raw, list | tuple):
        values = list(raw)
    elif isinstance(raw, str) and (not comma_separated or raw.lstrip().startswith('[')):
        try:
            values = json.loads(raw)
        except json.JSONDecodeError as err:
            raise ListFormatError(raw, err) from err
    elif isinstance(raw, str):
        values = [part.strip() for part in raw.split(',') if part.strip()]
    else:
        values = raw
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ListFormatError(raw)
    return tuple(values)


def optional_int(raw: object) -> int | None:
    """An int parameter, or None if absent (kfp may pass ints as floats)."""
    return None if raw is None else int(raw)  # type: ignore[call-overload]


def flag(raw: object) -> bool:
    """A 0/1 (or bool) parameter as a bool; absent is False."""
    return bool(int(raw or 0))  # type: ignore[call-overload]


def json_list(values: Collection[str]) -> str:
    """A list as the JSON text a str parameter carries it in (`'["train", "eval"]'`)."""
    return json.dumps(list(values))


def split_names(
    component: str,
    props: Mapping[str, Any],
    key: str,
    default: Collection[str],
    *,
    example_only_for_bad_json: bool = False,
) -> tuple[str, ...]:
    """The JSON list of split names at `key` (`default` when absent).

    Raises:
        ValueError: not a JSON list of strings, naming the component, the key and the value.
    """
    raw = props.get(key)
    if not raw:
        return tuple(default)
    try:
        return string_list(raw) or ()
    except ListFormatError as err:
        show_example = err.json_error is not None or not example_only_for_bad_json
        like = f', like {json_list(default)!r}' if show_example else ''
        raise ValueError(
            f'{component}() {key} must be a JSON list of split names{like}; given: {raw!r}.'
        ) from err


class InvalidParameterError(ValueError):
    """A parameter has a value the component cannot use; subclasses name the component.

    Attributes:
        name: The parameter.
        value: The value given.
        expected: What was expected.
    """

    component = 'component'

    def __init__(self, name: str, value: object, expected: str) -> None:
        self.name, self.value, self.expected = name, value, expected
        super().__init__(f'{self.component} parameter {name}={value!r} is invalid: {expected}')
