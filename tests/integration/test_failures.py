"""Failures outside the pipeline, as the libraries raise them, turned into messages that name places.

The real faults (a full tmpfs, a stopped MariaDB server) are in tests/e2e/test_disk_full.py and
test_mysql_pipeline.py; these pin the recognition of each library's wording.
"""

from __future__ import annotations

import errno
import os
import pathlib

import pytest
import tensorflow as tf

from savedmodel_estimator_tfx.pipelines import failures, interrupts
from savedmodel_estimator_tfx.pipelines.config import PipelineConfig


def config(tmp_path: pathlib.Path, **overrides: object) -> PipelineConfig:
    return PipelineConfig(saved_model='m', data='d', output_dir=str(tmp_path / 'out'), **overrides)


def raised_from(outer: Exception, inner: BaseException) -> Exception:
    try:
        try:
            raise inner
        except BaseException as err:
            raise outer from err
    except Exception as err:
        return err


def test_an_oserror_names_the_file_it_could_not_write(tmp_path: pathlib.Path) -> None:
    target = tmp_path / 'model.ckpt-200.data-00000-of-00001'
    err = raised_from(
        RuntimeError('training failed'),
        OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target)),
    )
    message = failures.explain(err, config(tmp_path), 'ContinueTrainer')
    assert message is not None
    assert message.startswith(
        f"No space left on the device writing '{target}' in stage ContinueTrainer ("
    )
    assert 'bytes free there). Nothing that stage wrote was published.' in message


@pytest.mark.parametrize(
    'text',
    [
        # Beam names the step, not the file: the stage's directory is named instead.
        "OSError: [Errno 28] No space left on device [while running 'Write/Write/WriteImpl/"
        "WriteBundles']",
        'database or disk is full',  # SQLite
    ],
)
def test_a_message_without_a_real_path_names_the_stage_directory(
    tmp_path: pathlib.Path, text: str
) -> None:
    message = failures.explain(RuntimeError(text), config(tmp_path), 'BatchPredictor')
    assert message is not None
    assert f"writing '{tmp_path / 'out'}/pipeline_root/BatchPredictor' in stage" in message


def test_a_tensorflow_error_names_its_path(tmp_path: pathlib.Path) -> None:
    path = tmp_path / 'events.out.tfevents'
    err = tf.errors.ResourceExhaustedError(None, None, f'{path}; No space left on device')
    message = failures.explain(err, config(tmp_path), 'ContinueTrainer')
    assert message is not None
    assert f"writing '{path};" not in message
    assert f"writing '{path}'" in message


def test_before_any_stage_the_output_directory_is_named(tmp_path: pathlib.Path) -> None:
    message = failures.explain(OSError(errno.ENOSPC, 'x'), config(tmp_path), None)
    assert message is not None
    assert f"writing '{tmp_path / 'out'}' (" in message
    assert 'Nothing was published.' in message


def test_a_lost_mysql_server_is_recognised_only_for_a_mysql_store(tmp_path: pathlib.Path) -> None:
    err = RuntimeError(
        'Failed to establish connection to Metadata storage with error: mysql_real_connect '
        'failed: errno: , error:'
    )
    mysql = {'host': '127.0.0.1', 'port': 1, 'database': 'mlmd', 'user': 'sme'}
    assert failures.is_metadata_server_lost(err, config(tmp_path, metadata={'mysql': mysql}))
    assert not failures.is_metadata_server_lost(err, config(tmp_path))
    assert failures.explain(ValueError('a bug'), config(tmp_path), 'ContinueTrainer') is None


def test_the_ctrl_c_line_says_how_to_continue() -> None:
    assert interrupts.message('run') == (
        'Interrupted: sme run stopped; nothing half-written was published. To finish, run it '
        'again to continue: completed stages are cached and training resumes from its last '
        'checkpoint.'
    )
    assert 'same --checkpoint-dir' in interrupts.message('train')
    assert interrupts.EXIT_INTERRUPTED == 130
