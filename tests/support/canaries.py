"""What the upstream canaries share: the fence modules, and the record of what each covers.

A canary is a test marked with `relies_on(names)`, which adds the names to `COVERED`;
tests/unit/test_upstream_canaries.py checks that every fenced symbol is in it.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

import pytest

TF_FENCE = 'savedmodel_estimator._tf_internal'
BEAM_FENCE = 'savedmodel_estimator.beam._beam_internal'
TFX_FENCE = 'savedmodel_estimator_tfx.components.common._tfx_internal'
FENCES = {TF_FENCE: 'tensorflow', BEAM_FENCE: 'apache_beam', TFX_FENCE: 'tfx'}

COVERED: set[str] = set()


def short_name(symbol: Any) -> str:
    """'evaluation._evaluate_once' for tensorflow.python.training.evaluation._evaluate_once."""
    return '.'.join(symbol.path.split('.')[-2:])


def relies_on(*names: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Marks a canary as covering the symbols `names` (see `short_name`); failures name them."""

    def decorate(test: Callable[..., None]) -> Callable[..., None]:
        COVERED.update(names)

        @functools.wraps(test)
        def canary(*args: Any, **kwargs: Any) -> None:
            try:
                test(*args, **kwargs)
            except Exception as err:
                raise AssertionError(
                    f'{", ".join(names)} no longer behave(s) as relied on: '
                    f'{err or type(err).__name__}'
                ) from err

        return canary

    return decorate


def fence(module: str) -> Any:
    """The fence module, or a skip where its upstream is not installed."""
    pytest.importorskip(FENCES[module])
    return importlib.import_module(module)  # a moved symbol raises UpstreamChangedError here
