"""Two `sme run` on one output directory, as real processes; and Ctrl-C in the middle of one.

Run A takes the output directory's lock and is frozen there (SIGSTOP), so B finds it taken
however slowly it starts: B (`--wait-for-lock`) says it waits and for whom. (Without the flag a
second run refuses with exit 75: tests/integration/test_cli.py, in one process with two open
files, which flock treats as two holders.) A resumes (SIGCONT) and gets SIGINT while training: it must
exit 130 within seconds with one line. B then takes the lock, cancels what A left RUNNING, resumes
from A's last checkpoint and finishes with every stage COMPLETE or CACHED.
"""

from __future__ import annotations

import signal
import time

import pytest
import tensorflow as tf

from savedmodel_estimator_tfx.pipelines import lineage, metadata_connection, run_summary
from savedmodel_estimator_tfx.pipelines.config import PipelineConfig
from tests.e2e.published_artifacts import (
    assert_live_artifacts_are_complete,
    assert_no_unpublished_output_dirs,
    assert_unfinished_executions_published_nothing,
)
from tests.e2e.sme_process import STEP_LINE, SmeProcess, demo_run_config

pytestmark = pytest.mark.slow

IMPORT_STEP = 200
TRAIN_STEPS = 1500
INTERRUPT_AT = 500
# Ctrl-C must end the run within this (it takes well under a second; TFX's own unwinding took 8).
INTERRUPT_EXIT_S = 5.0


@pytest.fixture(scope='module')
def runs(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp('concurrent')
    config = demo_run_config(root, train_steps=TRAIN_STEPS, save_checkpoints_steps=100)
    a = SmeProcess(['run', '--config', config], cwd=root)
    b = None
    try:
        a.wait_for(lambda line: line.startswith('Running pipeline'))
        a.signal(signal.SIGSTOP)  # A holds the lock, frozen, while B starts
        b = SmeProcess(['run', '--config', config, '--wait-for-lock'], cwd=root)
        waiting = b.wait_for(lambda line: line.startswith('Waiting for the run holding'))
        a.signal(signal.SIGCONT)
        a.wait_for(
            lambda line: bool((m := STEP_LINE.search(line)) and int(m.group(1)) >= INTERRUPT_AT)
        )
        interrupted = a.signal(signal.SIGINT)
        a_code = a.finish()
        a_took = time.monotonic() - interrupted
        after = [line for t, line in a.lines if t >= interrupted and line.strip()]
        (run_dir,) = (root / 'out' / 'pipeline_root' / 'checkpoints').iterdir()
        a_checkpoint = tf.train.latest_checkpoint(str(run_dir))
        b_code = b.finish()
    finally:
        for process in (a, b):
            if process is not None:
                process.kill()
    settings = PipelineConfig.from_file(config).replace(output_dir=str(root / 'out'))
    store = lineage.open_store(metadata_connection.connection_config(settings))
    return {
        'a': a, 'b': b, 'a_code': a_code, 'b_code': b_code, 'waiting': waiting,
        'a_took': a_took, 'a_after_sigint': after, 'a_checkpoint': a_checkpoint,
        'store': store, 'root': root,
    }  # fmt: skip


def test_the_second_run_says_it_waits_and_for_whom(runs) -> None:
    lock = runs['root'] / 'out' / '.sme-run.lock'
    assert runs['waiting'].startswith(f"Waiting for the run holding '{lock}' to finish: ")
    assert f'PID {runs["a"].popen.pid} on ' in runs['waiting']
    assert '(sme run, since ' in runs['waiting']


def test_ctrl_c_exits_130_at_once_with_one_line(runs) -> None:
    assert runs['a_code'] == 130, runs['a'].output
    print(f'Ctrl-C: exit {runs["a_code"]} {runs["a_took"]:.2f} s after SIGINT')
    assert runs['a_took'] < INTERRUPT_EXIT_S
    # A progress line already on its way may come after the signal; nothing else may.
    said = [line for line in runs['a_after_sigint'] if not STEP_LINE.search(line)]
    assert said == [
        'Interrupted: sme run stopped; nothing half-written was published. To finish, run it '
        'again to continue: completed stages are cached and training resumes from its last '
        'checkpoint.'
    ]
    assert 'Aborted!' not in runs['a'].output
    assert 'Traceback' not in runs['a'].output


def test_the_waiting_run_takes_over_and_finishes_every_stage(runs) -> None:
    b = runs['b']
    assert runs['b_code'] == 0, b.output
    assert 'Cleaned up ContinueTrainer execution' in b.output
    a_checkpoint_step = int(runs['a_checkpoint'].rsplit('-', 1)[1])
    assert a_checkpoint_step > IMPORT_STEP
    assert b.steps()[0] == a_checkpoint_step  # resumed from A's last checkpoint
    stages = next(line for line in b.output.splitlines() if line.startswith('Stages: '))
    states = dict(item.rsplit(' ', 1) for item in stages[len('Stages: ') :].split(', '))
    assert set(states) == set(run_summary.STAGES)
    assert set(states.values()) <= {'COMPLETE', 'CACHED'}, stages
    assert f'(global step {IMPORT_STEP + TRAIN_STEPS})' in b.output


def test_ml_metadata_holds_only_whole_outputs(runs) -> None:
    store = runs['store']
    assert_unfinished_executions_published_nothing(store)
    assert assert_live_artifacts_are_complete(store) >= 7
    assert_no_unpublished_output_dirs(store, runs['root'] / 'out' / 'pipeline_root')
