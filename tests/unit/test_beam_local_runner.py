"""Which `beam_pipeline_args` run Beam on this machine, and the runner they get."""

from __future__ import annotations

import pytest

from savedmodel_estimator.beam import _beam_internal
from savedmodel_estimator_tfx.components.common.local_beam import (
    local_pipeline,
    runs_on_this_machine,
)

DIRECT = [
    [],
    ['--direct_running_mode=in_memory'],
    ['--direct_running_mode=multi_processing', '--direct_num_workers=2'],
    ['--runner=DirectRunner'],
    ['--runner', 'DirectRunner'],
    ['--runner=apache_beam.runners.direct.direct_runner.SwitchingDirectRunner'],
]
OTHER_LOCAL = [['--runner=FnApiRunner'], ['--runner=BundleBasedDirectRunner']]
REMOTE = [
    ['--runner=DataflowRunner', '--project=p'],
    ['--runner=FlinkRunner', '--flink_master=localhost:8081'],
    ['--runner=SparkRunner'],
    ['--runner=PortableRunner', '--job_endpoint=localhost:8099'],
    ['--runner=PrismRunner'],
]


@pytest.mark.parametrize('args', DIRECT + OTHER_LOCAL)
def test_local_runners(args: list[str]) -> None:
    assert runs_on_this_machine(args)


@pytest.mark.parametrize('args', [*REMOTE, [object()]])
def test_other_runners(args: list) -> None:
    assert not runs_on_this_machine(args)


@pytest.mark.parametrize('args', DIRECT)
def test_direct_runner_args_get_the_fn_api_runner_with_their_options(args: list[str]) -> None:
    pipeline = local_pipeline(args)
    assert pipeline is not None
    assert isinstance(pipeline.runner, _beam_internal.FnApiRunner)
    assert pipeline.options.get_all_options()['direct_running_mode'] == (
        'multi_processing' if 'multi_processing' in ' '.join(args) else 'in_memory'
    )


@pytest.mark.parametrize('args', OTHER_LOCAL + REMOTE)
def test_other_runners_are_left_to_beam(args: list[str]) -> None:
    assert local_pipeline(args) is None
