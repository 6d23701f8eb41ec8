"""The private TFX symbols this project relies on, each wrapped once, with why.

Checked on TFX 1.16 (the legacy lane) and 1.21 (the latest lane) by
tests/unit/test_upstream_canaries_beam_tfx.py. Nothing else in this repository touches a private TFX
attribute or module (a test checks), so a TFX that moves one fails here, at import, with an
`UpstreamChangedError` naming it. A method we override counts: its name and signature are checked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import apache_beam as beam
from tfx import types
from tfx import version as _tfx_version
from tfx.dsl.components.base import base_beam_executor, base_executor

from savedmodel_estimator._fence import Private, UpstreamChangedError, check

SUPPORTED = 'TFX 1.16 to 1.21'
_FENCE = __name__.replace('.', '/') + '.py'

try:
    from tfx.orchestration.portable import beam_executor_operator as _beam_operator
    from tfx.orchestration.portable import python_executor_operator as _python_operator
    from tfx.utils import dependency_utils as _dependency_utils
except ImportError as err:  # pragma: no cover - only on an unsupported TFX
    raise UpstreamChangedError(
        'TFX',
        _tfx_version.__version__,
        [f'{err.name}: no such module ({SUPPORTED} have it)'],
        _FENCE,
    ) from err

_BaseBeamExecutor = base_beam_executor.BaseBeamExecutor
OVERRIDDEN = ('_make_beam_pipeline',)
"""Private methods of TFX base classes that our executors override (BatchPredictor's makes its
pipeline on the FnApiRunner for local args); their signatures are checked below."""

SYMBOLS = (
    Private(
        base_executor.BaseExecutor,
        '_log_startup',
        ('self', 'inputs', 'outputs', 'exec_properties'),
        exact=True,
    ),
    Private(_BaseBeamExecutor, '_make_beam_pipeline', ('self',), exact=True),
    Private(_BaseBeamExecutor, '_beam_pipeline_args', set_by='__init__'),
    Private(_BaseBeamExecutor, '_make_beam_pipeline_fn', set_by='__init__'),
    Private(_dependency_utils, 'make_beam_dependency_flags', ('beam_pipeline_args',)),
    Private(_dependency_utils, 'build_ephemeral_package'),
    Private(_python_operator, 'PythonExecutorOperator.run_executor', ('execution_info',)),
    Private(_beam_operator, 'BeamExecutorOperator.run_executor', ('execution_info',)),
)
check('TFX', _tfx_version.__version__, _FENCE, SYMBOLS)

Artifacts = dict[str, list[types.Artifact]]


def log_startup(
    executor: base_executor.BaseExecutor,
    inputs: Artifacts,
    outputs: Artifacts,
    exec_properties: dict[str, Any],
) -> None:
    """`BaseExecutor._log_startup`: the line every TFX executor logs as its `Do` starts."""
    executor._log_startup(inputs, outputs, exec_properties)


def beam_pipeline_args(executor: base_beam_executor.BaseBeamExecutor) -> list[Any]:
    """`BaseBeamExecutor._beam_pipeline_args`: the args its pipelines are made with."""
    return executor._beam_pipeline_args


def set_beam_pipeline_args(
    executor: base_beam_executor.BaseBeamExecutor, args: Sequence[Any]
) -> None:
    """Sets `BaseBeamExecutor._beam_pipeline_args`: to keep the args as given, after an
    `__init__` that saw none and so built no sdist of TFX (for runners on this machine).
    """
    executor._beam_pipeline_args = list(args)


def make_beam_pipeline_fn(
    executor: base_beam_executor.BaseBeamExecutor,
) -> Callable[[], beam.Pipeline] | None:
    """`BaseBeamExecutor._make_beam_pipeline_fn`: the context's pipeline factory, if it gave one
    (the orchestrator's, or a test's); it takes precedence over anything we would build.
    """
    return executor._make_beam_pipeline_fn


def default_beam_pipeline(executor: base_beam_executor.BaseBeamExecutor) -> beam.Pipeline:
    """`BaseBeamExecutor._make_beam_pipeline`, the base class's: the pipeline TFX would make."""
    return _BaseBeamExecutor._make_beam_pipeline(executor)


def ephemeral_package_builder() -> tuple[ModuleType, str]:
    """`dependency_utils.build_ephemeral_package`, as (module, name) to patch: the sdist of TFX
    itself that `BaseBeamExecutor.__init__` builds for args naming no package (tests count it).
    """
    return _dependency_utils, 'build_ephemeral_package'


def beam_dependency_packaging() -> tuple[ModuleType, str]:
    """`dependency_utils.make_beam_dependency_flags`, as (module, name) to wrap: where
    `BaseBeamExecutor.__init__` adds the sdist to the args (benchmarks time it).
    """
    return _dependency_utils, 'make_beam_dependency_flags'


def executor_runs() -> tuple[tuple[type, str], ...]:
    """`PythonExecutorOperator.run_executor` and `BeamExecutorOperator.run_executor`, as
    (class, name) to wrap: where TFX's launcher runs one node's executor (benchmarks time it).
    """
    return (
        (_python_operator.PythonExecutorOperator, 'run_executor'),
        (_beam_operator.BeamExecutorOperator, 'run_executor'),
    )
