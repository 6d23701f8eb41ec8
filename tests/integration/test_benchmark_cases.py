"""The batch-inference benchmark cases run here, at a small size, as `make bench` runs them.

`make bench` is not part of `make test` (it takes minutes and wants a quiet machine); these runs
keep its cases from breaking unseen: each must print a result line with the numbers the report
reads, and the executor runs must write every example (the case checks the count itself).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.support.paths import REPO

RESULT_PREFIX = 'BENCH_RESULT '
N = 2000


def run_case(module: str, *args: str, data_dir: str) -> dict[str, Any]:
    env = {**os.environ, 'SME_BENCH_DATA': data_dir, 'TF_CPP_MIN_LOG_LEVEL': '2'}
    proc = subprocess.run(
        [sys.executable, '-m', f'benchmarks.cases.{module}', *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    assert len(lines) == 1, proc.stdout[-2000:]
    return json.loads(lines[0][len(RESULT_PREFIX) :])


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp('bench-data'))


def test_batch_stages_times_every_stage(data_dir: str) -> None:
    result = run_case('batch_stages', '--n', str(N), '--batch-size', '512', data_dir=data_dir)
    assert result['n'] == N
    assert set(result['per_record_us']) == {'read', 'predict', 'encode', 'frame', 'gzip'}
    assert all(micros > 0 for micros in result['per_record_us'].values())
    assert result['output_mb'] > 0


@pytest.mark.parametrize(
    'beam_args',
    [
        [],
        [
            '--beam-arg=--runner=DirectRunner',
            '--beam-arg=--direct_running_mode=multi_threading',
            '--beam-arg=--direct_num_workers=2',
        ],
    ],
    ids=['one_worker', 'two_workers'],
)
def test_batch_predictor_case_writes_every_example(data_dir: str, beam_args: list[str]) -> None:
    args = ['--impl', 'batch_predictor', '--n', str(N), '--max-batch-size', '256', *beam_args]
    result = run_case('batch_inference', *args, data_dir=data_dir)
    assert result['predicted'] == N
    assert result['examples_per_s'] > 0
    assert result['cores_used'] > 0 and result['cpus_usable'] >= 1
    expected_args = [arg.removeprefix('--beam-arg=') for arg in beam_args] or [
        '--runner=DirectRunner',
        '--direct_running_mode=in_memory',
        '--direct_num_workers=1',
    ]
    assert result['environment']['beam_pipeline_args'] == expected_args


def test_bare_case_reports_the_limit_with_the_file_read(data_dir: str) -> None:
    result = run_case('batch_inference', '--impl', 'bare', '--n', str(N), data_dir=data_dir)
    assert result['predicted'] == N
    # Reading the files can only add time: the rate with the read is below the model's alone.
    assert 0 < result['with_read_examples_per_s'] < result['model_examples_per_s']
