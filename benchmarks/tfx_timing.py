"""Timing TFX from outside: executor runs per node, and TFX's sdist of itself for Beam.

The wrappers record durations and change no behaviour; they are installed only for the block
of a `with timing_executors(timings):` and only in a benchmark process.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator
from typing import Any


class Timings:
    """Durations recorded by the wrappers: per executor node, and TFX's sdist builds."""

    def __init__(self) -> None:
        self.executors: dict[str, float] = {}
        self.sdist: list[float] = []

    def reset(self) -> None:
        self.executors, self.sdist = {}, []


def _timed(record: Callable[[Any, float], None], fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            record(args, time.perf_counter() - start)

    return wrapper


@contextlib.contextmanager
def timing_executors(timings: Timings) -> Iterator[None]:
    """Times every executor run and TFX's Beam dependency packaging, by wrapping TFX functions."""
    from savedmodel_estimator_tfx.components.common import _tfx_internal

    def executor(args: Any, seconds: float) -> None:
        execution_info = args[1]
        node = execution_info.pipeline_node.node_info.id
        timings.executors[node] = round(timings.executors.get(node, 0.0) + seconds, 4)

    def sdist(args: Any, seconds: float) -> None:
        timings.sdist.append(round(seconds, 4))

    targets: list[tuple[Any, str, Callable[[Any, float], None]]] = [
        *((owner, name, executor) for owner, name in _tfx_internal.executor_runs()),
        (*_tfx_internal.beam_dependency_packaging(), sdist),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in targets]
    try:
        for owner, name, record in targets:
            setattr(owner, name, _timed(record, getattr(owner, name)))
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
