"""Checking, at import, that the private upstream symbols a fence module wraps are still there.

Each upstream whose private symbols this project uses has one fence module that wraps them:
`savedmodel_estimator/_tf_internal.py` (TensorFlow), `savedmodel_estimator/beam/_beam_internal.py`
(Apache Beam) and `components/common/_tfx_internal.py` (TFX). Each lists what it relies on as
`Private` entries and calls `check` when imported, so a release that moved one fails at import
with an `UpstreamChangedError` naming it, not with an AttributeError deep in a run.
`tests/unit/test_upstream_canaries.py` checks that each still behaves as relied on.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterable
from typing import Any


class UpstreamChangedError(ImportError):
    """An upstream release lacks private symbols we rely on, or changed how they are called.

    Attributes:
        upstream: The distribution, e.g. 'TensorFlow'.
        version: Its installed version.
        problems: One line per symbol: its dotted path and what is wrong with it.
    """

    def __init__(self, upstream: str, version: str, problems: list[str], fence: str) -> None:
        self.upstream, self.version, self.problems = upstream, version, problems
        listing = '\n'.join(f'  {problem}' for problem in problems)
        super().__init__(
            f'{upstream} {version} has changed private symbols savedmodel_estimator relies on:\n'
            f'{listing}\n'
            f'Install a supported {upstream} release, or update {fence} (what each symbol is '
            'relied on for is in its docstring and in tests/unit/test_upstream_canaries.py).'
        )


@dataclasses.dataclass(frozen=True)
class Private:
    """One private upstream symbol: `attr` (dotted, e.g. 'Class.method') of `owner`.

    Attributes:
        owner: The module or class that holds it.
        attr: Its dotted path from `owner`.
        params: Parameter names we pass it; each must still be accepted.
        exact: `params` is the whole signature (a method we override must keep it).
        set_by: For an attribute of instances of `owner` (a class): the method that assigns
            it, in whose code `attr` is looked for.
    """

    owner: Any
    attr: str
    params: tuple[str, ...] = ()
    exact: bool = False
    set_by: str | None = None

    @property
    def path(self) -> str:
        """The symbol's dotted path, as reported: 'tensorflow.python.training.saver._x'."""
        module = getattr(self.owner, '__module__', None)
        prefix = self.owner.__name__ if module is None else f'{module}.{self.owner.__qualname__}'
        return f'{prefix}.{self.attr}'

    def problem(self) -> str | None:
        """What is wrong with the symbol in the installed release, or None."""
        if self.set_by is not None:
            return self._assignment_problem()
        value = self.owner
        parts = self.attr.split('.')
        for i, part in enumerate(parts):
            if not hasattr(value, part):
                gone = '' if i == len(parts) - 1 else f' (no {".".join(parts[: i + 1])!r})'
                return f'{self.path}: not found{gone}'
            value = getattr(value, part)
        if self.params:
            return self._signature_problem(value)
        return None

    def _assignment_problem(self) -> str | None:
        method = getattr(self.owner, self.set_by or '', None)
        code = getattr(inspect.unwrap(method), '__code__', None) if method else None
        if code is None or self.attr not in code.co_names:
            return f'{self.path}: not assigned by {self.owner.__qualname__}.{self.set_by}()'
        return None

    def _signature_problem(self, value: Any) -> str | None:
        try:
            parameters = inspect.signature(value).parameters
        except (TypeError, ValueError):
            return None  # no signature to read (a builtin): calls will tell
        if self.exact:
            found = tuple(parameters)
            if found != self.params:
                return f'{self.path}: signature is {found}, expected {self.params}'
            return None
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return None
        missing = [name for name in self.params if name not in parameters]
        if missing:
            return f'{self.path}: no parameter {", ".join(map(repr, missing))}'
        return None


def check(upstream: str, version: str, fence: str, symbols: Iterable[Private]) -> None:
    """Raises `UpstreamChangedError` listing every symbol that is missing or changed.

    Args:
        upstream: The distribution, as users know it ('TensorFlow').
        version: Its installed version.
        fence: The fence module's path, for the message.
        symbols: What the fence relies on.
    """
    problems = [problem for symbol in symbols if (problem := symbol.problem()) is not None]
    if problems:
        raise UpstreamChangedError(upstream, version, problems, fence)
