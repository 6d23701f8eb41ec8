"""SIGKILL `sme run` three times at random training steps, then let it finish: no step is lost.

Each run is a real child process, killed with SIGKILL once its progress lines pass a random step
(plus a random fraction of a second, so the kill falls anywhere between checkpoints, sometimes
inside one). Checkpoints are saved every 70 steps, which progress lines (every 100) do not line
up with. After each kill the test reads the checkpoint state the next run must resume from; the
next run's first progress line must be that step, not the import's. The last run must end at
exactly the import's step plus `train_steps`, and ML Metadata must hold no artifact of a killed
execution and only complete ones.

The seed of the random steps is printed; set SME_CRASH_SEED to replay a sequence.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import random
import signal
import time

import pytest
import tensorflow as tf
from click.testing import CliRunner
from ml_metadata.proto import metadata_store_pb2

from savedmodel_estimator_tfx.pipelines import lineage, metadata_connection
from savedmodel_estimator_tfx.pipelines.cli import main
from savedmodel_estimator_tfx.pipelines.config import PipelineConfig
from tests.e2e.published_artifacts import (
    assert_live_artifacts_are_complete,
    assert_no_unpublished_output_dirs,
    assert_unfinished_executions_published_nothing,
    unfinished_executions,
)
from tests.e2e.sme_process import STEP_LINE, SmeProcess, demo_run_config

pytestmark = pytest.mark.slow

IMPORT_STEP = 200  # the demo export's global step
TRAIN_STEPS = 1500
SAVE_EVERY = 70
KILLS = 3
SEED = int(os.environ.get('SME_CRASH_SEED') or random.SystemRandom().randrange(2**31))


@dataclasses.dataclass
class Final:
    returncode: int
    output: str

    def steps(self) -> list[int]:
        return [int(m.group(1)) for m in STEP_LINE.finditer(self.output)]


@dataclasses.dataclass
class Attempt:
    target: int  # the kill came once a progress line reached this step
    returncode: int
    steps: list[int]  # the steps its progress lines reported
    checkpoint: int  # the latest checkpoint's step after the kill
    output: str


def _latest_checkpoint_step(root: pathlib.Path) -> int:
    (run_dir,) = (root / 'out' / 'pipeline_root' / 'checkpoints').iterdir()
    state = tf.train.get_checkpoint_state(str(run_dir))
    return int(state.model_checkpoint_path.rsplit('-', 1)[1])


def _reached(target: int):
    def check(line: str) -> bool:
        match = STEP_LINE.search(line)
        return bool(match) and int(match.group(1)) >= target

    return check


@pytest.fixture(scope='module')
def crashes(tmp_path_factory: pytest.TempPathFactory):
    print(f'SME_CRASH_SEED={SEED}')
    root = tmp_path_factory.mktemp('crash')
    demo_run_config(root, train_steps=TRAIN_STEPS, save_checkpoints_steps=SAVE_EVERY)
    rng = random.Random(SEED)
    attempts = []
    for kill in range(KILLS):
        # Windows 300-500, 700-900, 1100-1300: the kill lands a log line (100 steps) and a
        # signal's latency later, and on a fast machine that is a few hundred steps; the last
        # window leaves 400 before training ends at 1700, so every kill lands in training.
        low = IMPORT_STEP + 100 + kill * 400
        target = rng.randrange(low, low + 200)
        process = SmeProcess(['run', '--config', 'run.json'], cwd=root)
        try:
            process.wait_for(_reached(target))
            time.sleep(rng.uniform(0, 0.05))  # not waiting for work: moves the kill off the line
            process.popen.send_signal(signal.SIGKILL)
            returncode = process.finish()
        finally:
            process.kill()
        checkpoint = _latest_checkpoint_step(root)
        attempts.append(Attempt(target, returncode, process.steps(), checkpoint, process.output))
    # The run to completion is not killed: it runs in this process, which has its imports.
    with pytest.MonkeyPatch.context() as here:
        here.chdir(root)
        result = CliRunner().invoke(main, ['run', '--config', 'run.json'])
    config = PipelineConfig.from_file(root / 'run.json').replace(
        output_dir=str(root / 'out'), saved_model=str(root / 'demo/saved_model')
    )
    store = lineage.open_store(metadata_connection.connection_config(config))
    final = Final(result.exit_code, result.output)
    return attempts, final, result.exit_code, store, root / 'out' / 'pipeline_root'


def test_every_kill_was_a_sigkill_during_training(crashes) -> None:
    attempts, *_ = crashes
    for attempt in attempts:
        assert attempt.returncode == -signal.SIGKILL, attempt.output
        assert attempt.steps and attempt.steps[-1] >= attempt.target


def test_each_run_resumed_from_the_last_checkpoint_not_the_import(crashes) -> None:
    attempts, final, *_ = crashes
    assert attempts[0].steps[0] == IMPORT_STEP  # the first run started from the import
    resumed_at = [a.steps[0] for a in attempts[1:]] + [final.steps()[0]]
    checkpoints = [a.checkpoint for a in attempts]
    print(f'checkpoints after each kill: {checkpoints}; runs resumed at: {resumed_at}')
    assert resumed_at == checkpoints
    assert all(step > IMPORT_STEP for step in checkpoints)
    assert checkpoints == sorted(checkpoints)


def test_the_last_run_ends_at_the_import_step_plus_train_steps(crashes) -> None:
    attempts, final, returncode, store, _ = crashes
    assert returncode == 0, final.output
    trainer = lineage.latest_stage_run(store, 'sme-continue-training', 'ContinueTrainer')
    importer = lineage.latest_stage_run(store, 'sme-continue-training', 'SavedModelImporter')
    assert trainer.state == 'COMPLETE'
    assert lineage.custom_property(importer.output('model'), 'global_step') == IMPORT_STEP
    assert lineage.custom_property(trainer.output('model'), 'global_step') == (
        IMPORT_STEP + TRAIN_STEPS
    )
    run = trainer.output('model_run')
    assert lineage.custom_property(run, 'resumed_from_step') == attempts[-1].checkpoint
    assert f'(global step {IMPORT_STEP + TRAIN_STEPS})' in final.output


def test_no_killed_execution_published_anything_and_what_is_published_is_whole(
    crashes,
) -> None:
    attempts, final, _, store, pipeline_root = crashes
    killed = unfinished_executions(store)
    assert len(killed) == KILLS  # the three trainer executions the kills cut short
    assert_unfinished_executions_published_nothing(store)
    assert assert_live_artifacts_are_complete(store) >= 7
    # Each rerun cancelled the execution the kill before it left RUNNING, and removed the
    # directories TFX had made for its outputs.
    assert {e.last_known_state for e in killed} == {metadata_store_pb2.Execution.CANCELED}
    reruns = [a.output for a in attempts[1:]] + [final.output]
    assert all('Cleaned up ContinueTrainer execution' in output for output in reruns)
    assert_no_unpublished_output_dirs(store, pipeline_root)
