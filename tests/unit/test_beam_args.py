"""Which `beam_pipeline_args` run Beam on this machine (and need no sdist of TFX)."""

from __future__ import annotations

import pytest

from components.common.beam_args import runs_on_this_machine


@pytest.mark.parametrize(
    'args',
    [
        [],
        ['--direct_running_mode=in_memory'],
        ['--direct_running_mode=multi_processing', '--direct_num_workers=2'],
        ['--runner=DirectRunner'],
        ['--runner', 'DirectRunner'],
        ['--runner=apache_beam.runners.direct.direct_runner.SwitchingDirectRunner'],
        ['--runner=FnApiRunner'],
    ],
)
def test_local_runners(args: list[str]) -> None:
    assert runs_on_this_machine(args)


@pytest.mark.parametrize(
    'args',
    [
        ['--runner=DataflowRunner', '--project=p'],
        ['--runner=FlinkRunner', '--flink_master=localhost:8081'],
        ['--runner=SparkRunner'],
        ['--runner=PortableRunner', '--job_endpoint=localhost:8099'],
        [object()],
    ],
)
def test_other_runners(args: list) -> None:
    assert not runs_on_this_machine(args)
