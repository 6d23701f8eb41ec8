"""Canaries of the Beam and TFX fences (`savedmodel_estimator/beam/_beam_internal.py`,
`components/common/_tfx_internal.py`): see tests/unit/test_upstream_canaries.py, which checks
that these and the TensorFlow canaries cover every fenced symbol. They run on both lanes.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from tests.support.canaries import BEAM_FENCE, TFX_FENCE, fence, relies_on

# --- Apache Beam -------------------------------------------------------------------------------


@relies_on(
    'fn_runner.FnApiRunner',
    'fn_runner.ExtendedProvisionInfo',
    'JobServiceHandle.encode_pipeline_options',
)
def test_fn_api_runner_runs_a_pipeline_with_the_options() -> None:
    beam_internal = fence(BEAM_FENCE)
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.testing.util import assert_that, equal_to

    options = PipelineOptions(['--direct_running_mode=in_memory', '--direct_num_workers=1'])
    encoded = beam_internal.encode_pipeline_options(options)
    assert encoded.fields['beam:option:direct_running_mode:v1'].string_value == 'in_memory'
    runner = beam_internal.fn_api_runner(options)
    assert isinstance(runner, beam_internal.FnApiRunner)
    with beam.Pipeline(runner=runner, options=options) as pipeline:
        doubled = pipeline | beam.Create([1, 2, 3]) | beam.Map(lambda x: x * 2)
        assert_that(doubled, equal_to([2, 4, 6]))


# --- TFX ---------------------------------------------------------------------------------------


def _beam_executor(**context: Any) -> Any:
    """TFX's own BaseBeamExecutor (BulkInferrer's), made from a Context with `context`."""
    from tfx.components.bulk_inferrer import executor
    from tfx.dsl.components.base import base_beam_executor

    return executor.Executor(base_beam_executor.BaseBeamExecutor.Context(**context))


@pytest.fixture
def sdists(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """TFX's sdist of itself, recorded instead of built."""
    tfx_internal = fence(TFX_FENCE)
    built: list[str] = []

    def build() -> str:
        built.append('sdist')
        return '/nonexistent/tfx_ephemeral.tar.gz'

    monkeypatch.setattr(*tfx_internal.ephemeral_package_builder(), build)
    return built


@relies_on('BaseExecutor._log_startup')
def test_log_startup_takes_do_arguments() -> None:
    tfx_internal = fence(TFX_FENCE)
    assert tfx_internal.log_startup(_beam_executor(), {}, {}, {'key': 'value'}) is None


@relies_on(
    'BaseBeamExecutor._beam_pipeline_args',
    'dependency_utils.build_ephemeral_package',
    'dependency_utils.make_beam_dependency_flags',
)
def test_args_naming_no_package_get_an_sdist_of_tfx(
    sdists: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tfx_internal = fence(TFX_FENCE)
    assert tfx_internal.beam_pipeline_args(_beam_executor()) == []
    assert sdists == []
    module, name = tfx_internal.beam_dependency_packaging()
    calls: list[list[str]] = []
    packaging = getattr(module, name)
    monkeypatch.setattr(module, name, lambda args: calls.append(args) or packaging(args))
    executor = _beam_executor(beam_pipeline_args=['--runner=DataflowRunner'])
    assert sdists == ['sdist']
    assert calls == [['--runner=DataflowRunner']]
    args = tfx_internal.beam_pipeline_args(executor)
    assert args[:2] == [
        '--runner=DataflowRunner',
        '--extra_package=/nonexistent/tfx_ephemeral.tar.gz',
    ]


@relies_on('BaseBeamExecutor._make_beam_pipeline', 'BaseBeamExecutor._make_beam_pipeline_fn')
def test_base_pipeline_uses_the_args_set_or_the_context_factory(sdists: list[str]) -> None:
    tfx_internal = fence(TFX_FENCE)
    executor = _beam_executor()
    assert tfx_internal.make_beam_pipeline_fn(executor) is None
    tfx_internal.set_beam_pipeline_args(executor, ['--direct_num_workers=3'])
    assert tfx_internal.beam_pipeline_args(executor) == ['--direct_num_workers=3']
    pipeline = tfx_internal.default_beam_pipeline(executor)
    assert pipeline.options.get_all_options()['direct_num_workers'] == 3
    assert sdists == []  # setting the args afterwards builds nothing

    import apache_beam as beam

    made = beam.Pipeline()
    executor = _beam_executor(make_beam_pipeline_fn=lambda: made)
    assert tfx_internal.make_beam_pipeline_fn(executor)() is made
    assert tfx_internal.default_beam_pipeline(executor) is made


@relies_on('PythonExecutorOperator.run_executor', 'BeamExecutorOperator.run_executor')
def test_executor_operators_run_executors_with_execution_info() -> None:
    tfx_internal = fence(TFX_FENCE)
    for owner, name in tfx_internal.executor_runs():
        # benchmarks/tfx_timing.py reads the execution info as the second positional argument.
        assert list(inspect.signature(getattr(owner, name)).parameters)[:2] == [
            'self',
            'execution_info',
        ]
