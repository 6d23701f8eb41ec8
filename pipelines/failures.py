"""Saying what failed when a run fails for a reason outside the pipeline: a full disk, a lost server.

A full disk surfaces as an OSError deep in Beam, a TensorFlow ResourceExhaustedError or SQLite's
"database or disk is full"; a MySQL server that stopped mid-run as ML Metadata's
`mysql_real_connect failed: errno: , error:`. `explain` turns these into one message naming the
place (the path and its free space, or the server) and what to do next. `StageTracker` knows which
stage was running, from the runner's own log records.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
from collections.abc import Iterator

from savedmodel_estimator_tfx.pipelines import metadata_connection
from savedmodel_estimator_tfx.pipelines.config import PipelineConfig

_DISK_FULL = re.compile(r'No space left on device|disk is full|ENOSPC|Disk quota exceeded')
_MYSQL_LOST = re.compile(
    r'mysql_real_connect failed|MySQL server has gone away|Lost connection to (MySQL|server)'
    r'|errno: 20(02|03|06|13)\b'
)
_STAGE_RUNNING = re.compile(r'^Component (\S+) is running\.$')
# Absolute paths in an error message (TensorFlow, Beam and OSError name the file they wrote).
_PATH = re.compile(r"(/[^\s'\":;,)\]]+)")

RERUN = (
    'run the same command again: stages that completed are cached and training resumes from its '
    'last checkpoint'
)


class StageTracker(logging.Handler):
    """Remembers the stage the local runner started last ('Component X is running.')."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.current: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            match = _STAGE_RUNNING.match(record.getMessage())
        except Exception:  # a library's malformed log call must not break the run
            return
        if match:
            self.current = match.group(1)


@contextlib.contextmanager
def tracking_stages(tracker: StageTracker) -> Iterator[StageTracker]:
    """While active, `tracker.current` names the running stage."""
    logger = logging.getLogger()
    logger.addHandler(tracker)
    try:
        yield tracker
    finally:
        logger.removeHandler(tracker)


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _text(err: BaseException) -> str:
    return ' '.join(f'{type(e).__name__}: {e}' for e in _chain(err))


def is_disk_full(err: BaseException) -> bool:
    """Whether `err` (or an error it was raised from) says a filesystem ran out of space."""
    for e in _chain(err):
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
    return bool(_DISK_FULL.search(_text(err)))


def _plausible(path: str) -> bool:
    """A path on this machine (its directory exists), not a Beam step name like '/Write/...'."""
    return os.path.isdir(os.path.dirname(path.rstrip('/')) or '/')


def _full_path(err: BaseException, fallback: str) -> str:
    """The file the failed write named, if any error in the chain names one; else `fallback`."""
    for e in _chain(err):
        if isinstance(e, OSError) and e.filename and _plausible(os.fsdecode(e.filename)):
            return os.fsdecode(e.filename)
    for e in _chain(err):
        for line in str(e).splitlines():
            if not _DISK_FULL.search(line):
                continue
            for match in _PATH.finditer(line):
                if _plausible(match.group(1)):
                    return match.group(1)
    return fallback


def _free_space(path: str) -> str:
    """`N bytes free` on the filesystem of `path` (or of its nearest existing parent)."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return 'free space unknown'
    return f'{free:,} bytes free'


def disk_full_message(err: BaseException, where: str, stage: str | None) -> str:
    """The message for a write that found no space: the path, the free space, what to do."""
    path = _full_path(err, where)
    during = f'in stage {stage} ' if stage else ''
    published = 'Nothing that stage wrote was' if stage else 'Nothing was'
    return (
        f'No space left on the device writing {path!r} {during}({_free_space(path)} there). '
        f'{published} published. Free some space, or choose another --output-dir, then '
        f'{RERUN}.'
    )


def is_metadata_server_lost(err: BaseException, config: PipelineConfig) -> bool:
    """Whether `err` says the ML Metadata MySQL server of `config` stopped answering."""
    return metadata_connection.mysql_settings(config) is not None and bool(
        _MYSQL_LOST.search(_text(err))
    )


def metadata_server_lost_message(
    err: BaseException, config: PipelineConfig, stage: str | None
) -> str:
    """The message for a MySQL server that went away during the run, and whether it is back."""
    settings = metadata_connection.mysql_settings(config)
    assert settings is not None
    during = f' while stage {stage} ran' if stage else ''
    try:
        metadata_connection.check_mysql(settings, timeout_s=3)
        now = 'It answers again now.'
    except (metadata_connection.MetadataConnectionError, ValueError) as probe:
        now = f'It still does not answer: {probe}'
    detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return (
        f'Lost the ML Metadata server {settings.url}{during}: the server went away '
        f'({detail}). {now} That stage was not recorded as complete, and nothing it wrote '
        f'was published. Once the server is back, {RERUN}.'
    )


def explain(err: BaseException, config: PipelineConfig, stage: str | None) -> str | None:
    """A message for a failure outside the pipeline's own logic, or None for any other error."""
    if is_disk_full(err):
        where = config.pipeline_root + f'/{stage}' if stage else config.output_dir
        return disk_full_message(err, where, stage)
    if is_metadata_server_lost(err, config):
        return metadata_server_lost_message(err, config, stage)
    return None
