"""A full disk, for real: a small tmpfs filled to the last byte while a stage runs.

Each stage alone (`sme import|train|evaluate|predict`) writes its outputs to the full tmpfs; the
whole pipeline (`sme run`) has its output directory there and the disk fills the moment a given
stage starts (a logging filter on TFX's `Component X is running.`), for each stage in turn. Every
time: exit 1, a message naming the path on the full disk, nothing published in ML Metadata, no
output left behind; once space is freed, the same command succeeds.

Mounting needs root (CAP_SYS_ADMIN); elsewhere the tests skip, saying so.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pathlib
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest
import tensorflow as tf
from click.testing import CliRunner

from savedmodel_estimator_tfx.pipelines import lineage, metadata_connection, run_summary
from savedmodel_estimator_tfx.pipelines.cli import main
from savedmodel_estimator_tfx.pipelines.config import PipelineConfig
from tests.e2e.published_artifacts import (
    assert_live_artifacts_are_complete,
    assert_no_unpublished_output_dirs,
    assert_unfinished_executions_published_nothing,
)
from tests.support.paths import REPO, SEED

pytestmark = pytest.mark.slow

DEMO = REPO / 'examples' / 'demo'
DISK_SIZE = '16m'
FULL = 'No space left on the device writing '


@pytest.fixture(scope='module')
def disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pathlib.Path]:
    """A 16 MB tmpfs, mounted for this module."""
    mount_point = tmp_path_factory.mktemp('small-disk')
    if os.geteuid() != 0:
        pytest.skip(f'mounting a tmpfs needs root; running as uid {os.geteuid()}')
    mounted = subprocess.run(
        ['mount', '-t', 'tmpfs', '-o', f'size={DISK_SIZE}', 'tmpfs', str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f'cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}')
    try:
        yield mount_point
    finally:
        subprocess.run(['umount', '-l', str(mount_point)], check=False)


@pytest.fixture
def place(disk: pathlib.Path) -> Iterator[pathlib.Path]:
    """A fresh directory on the small disk, removed after the test."""
    directory = disk / uuid.uuid4().hex[:8]
    directory.mkdir()
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def fill(disk: pathlib.Path) -> pathlib.Path:
    """Writes a file until the filesystem has no byte left; returns it (delete it to free)."""
    filler = disk / f'filler-{uuid.uuid4().hex[:8]}'
    with open(filler, 'wb', buffering=0) as f:
        for chunk in (1 << 20, 1 << 12, 1):
            with contextlib.suppress(OSError):
                while True:
                    f.write(b'\0' * chunk)
    assert shutil.disk_usage(disk).free == 0
    return filler


def sme(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def make_examples(root: pathlib.Path) -> pathlib.Path:
    """The seed fixture's records as ExampleGen lays them out: `Split-<name>/*.gz`."""
    for split in ('train', 'eval'):
        (root / f'Split-{split}').mkdir(parents=True)
        target = str(root / f'Split-{split}' / 'data_tfrecord-00000-of-00001.gz')
        records = tf.data.TFRecordDataset(str(SEED / 'data' / f'{split}.tfrecord'))
        with tf.io.TFRecordWriter(target, options='GZIP') as writer:
            for record in records.as_numpy_iterator():
                writer.write(record)
    return root


def _stage_args(stage: str, tmp_path: pathlib.Path, out: pathlib.Path) -> list[object]:
    examples = make_examples(tmp_path / 'examples')
    model = SEED / 'saved_model'
    return {
        'import': ['import', model, '--out', out / 'model'],
        'train': [
            'train', '--model', model, '--examples', examples, '--out', out / 'model',
            '--run-dir', out / 'run', '--train-steps', 3,
        ],
        'evaluate': [
            'evaluate', '--model', model, '--examples', examples, '--out', out / 'evaluation',
            '--blessing-out', out / 'blessing',
        ],
        'predict': ['predict', '--model', model, '--examples', examples, '--out', out / 'pred'],
    }[stage]  # fmt: skip


def sme_on_a_full_disk(place: pathlib.Path, *args: object) -> tuple[int, str]:
    """`sme *args` while the disk holding `place` is full; freed again afterwards."""
    filler = fill(place.parent)
    try:
        return sme(*args)
    finally:
        filler.unlink()


COMPLETE_OUTPUT = {
    'import': 'model/Format-Serving/saved_model.pb',
    'train': 'model/Format-Serving/saved_model.pb',
    'evaluate': 'evaluation/metrics.json',
    'predict': 'pred/prediction_logs-*',
}


@pytest.mark.parametrize('stage', ['import', 'train', 'evaluate', 'predict'])
def test_each_stage_alone_fails_naming_the_path_then_succeeds_once_freed(
    stage: str, place: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    args = _stage_args(stage, tmp_path, place)
    code, out = sme_on_a_full_disk(place, *args)
    assert code == 1, out
    assert f"{stage}: {FULL}'{place}" in out, out
    assert 'bytes free there)' in out
    assert not list(place.glob(COMPLETE_OUTPUT[stage]))
    code, out = sme(*args)
    assert code == 0, out
    assert list(place.glob(COMPLETE_OUTPUT[stage]))


class FillWhenStageStarts(logging.Filter):
    """Fills the disk when TFX's runner logs that `stage` starts."""

    def __init__(self, disk: pathlib.Path, stage: str) -> None:
        super().__init__()
        self.disk, self.stage = disk, stage
        self.filler: pathlib.Path | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if self.filler is None and record.getMessage() == f'Component {self.stage} is running.':
            self.filler = fill(self.disk)
        return True


@pytest.fixture
def pipeline(place: pathlib.Path, tmp_path: pathlib.Path) -> tuple[pathlib.Path, PipelineConfig]:
    """The demo's config: output on the small disk, ML Metadata beside the test's files."""
    settings = json.loads((DEMO / 'config.json').read_text())
    settings.update(
        saved_model=str(DEMO / 'saved_model'),
        data=str(DEMO / 'data'),
        output_dir=str(place / 'out'),
        metadata_path=str(tmp_path / 'metadata.sqlite'),
        train_steps=20,
    )
    (tmp_path / 'run.json').write_text(json.dumps(settings))
    return tmp_path / 'run.json', PipelineConfig.from_dict(settings)


def test_the_pipeline_fails_in_whichever_stage_fills_the_disk_and_reruns_once_freed(
    pipeline: tuple[pathlib.Path, PipelineConfig], place: pathlib.Path
) -> None:
    config_file, config = pipeline
    store = lineage.open_store(metadata_connection.connection_config(config))
    absl = logging.getLogger('absl')  # TFX logs `Component X is running.` through absl
    for stage in run_summary.STAGES:
        trigger = FillWhenStageStarts(place.parent, stage)
        absl.addFilter(trigger)
        try:
            code, out = sme('run', '--config', config_file)
        finally:
            absl.removeFilter(trigger)
            if trigger.filler is not None:
                trigger.filler.unlink()
        assert trigger.filler is not None, f'{stage} never started:\n{out}'
        assert code == 1, out
        assert f'Pipeline failed: {FULL}' in out and f'in stage {stage} (' in out, out
        assert str(place / 'out') in out.split(FULL, 1)[1]  # the path is on the full disk
        assert_unfinished_executions_published_nothing(store)
        assert_no_unpublished_output_dirs(store, place / 'out' / 'pipeline_root')
    code, out = sme('run', '--config', config_file)
    assert code == 0, out
    assert 'BatchPredictor COMPLETE' in out
    assert assert_live_artifacts_are_complete(store) >= 7


def test_ml_metadata_on_the_full_disk_is_named_too(place: pathlib.Path, tmp_path) -> None:
    args = [
        'run',
        '--saved-model', DEMO / 'saved_model',
        '--data', DEMO / 'data',
        '--output-dir', place / 'out',
        '--train-steps', 5,
    ]  # fmt: skip
    (place / 'out').mkdir()
    code, out = sme_on_a_full_disk(place, *args)
    assert code == 1, out
    assert f"Pipeline failed: {FULL}'{place / 'out'}" in out
