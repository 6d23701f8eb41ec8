"""One `sme run` at a time on an output directory: an exclusive lock on a file in it.

Two runs on one output directory share its ML Metadata store and pipeline root: each would read
the other's executions as its own (one printed `BatchPredictor RUNNING` and exited 0). The lock
is `fcntl.flock` on `<output_dir>/.sme-run.lock`, which the kernel releases when the holder exits
however it exits (SIGKILL included), so a crashed run never leaves a stale lock. The file holds
who took it, to say so to the run that finds it taken.

A second run refuses by default, naming the holder; with `wait=True` it says it waits, then waits.
Output directories on remote filesystems (`gs://...`) are not locked.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import socket
import sys
from collections.abc import Callable, Iterator

LOCK_FILE = '.sme-run.lock'


class OutputDirLockedError(RuntimeError):
    """Another run holds the lock on the output directory."""

    def __init__(self, message: str, path: str, holder: str) -> None:
        super().__init__(message)
        self.path = path
        self.holder = holder


def lock_path(output_dir: str) -> str:
    return os.path.join(os.path.abspath(output_dir), LOCK_FILE)


def _holder(fd: int) -> str:
    """Who holds the lock, as its holder wrote it: `PID 123 on host (sme run, since ...)`."""
    try:
        raw = os.pread(fd, 4096, 0)
        info = json.loads(raw.decode() or '{}')
    except (OSError, ValueError):
        info = {}
    if not info:
        return 'another process'
    return (
        f'PID {info.get("pid")} on {info.get("host")} ({info.get("command")}, since '
        f'{info.get("since")})'
    )


def _record_holder(fd: int) -> None:
    info = {
        'pid': os.getpid(),
        'host': socket.gethostname(),
        'command': ' '.join(['sme', *sys.argv[1:2]]) if sys.argv else 'sme',
        'since': datetime.datetime.now().isoformat(timespec='seconds'),
    }
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
    except OSError:  # a full disk: the lock holds without the note; the run reports the disk
        pass


@contextlib.contextmanager
def output_dir_lock(
    output_dir: str, *, wait: bool = False, on_wait: Callable[[str], None] | None = None
) -> Iterator[str | None]:
    """Holds the run lock of `output_dir` (created if missing) for the duration of the block.

    Args:
        output_dir: The run's output directory.
        wait: When another run holds the lock, wait for it instead of refusing.
        on_wait: Told, once, that this run waits, and for whom.

    Yields:
        The lock file's path, or None for a remote output directory (not locked).

    Raises:
        OutputDirLockedError: another run holds the lock and `wait` is False.
    """
    if '://' in output_dir:
        yield None
        return
    path = lock_path(output_dir)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise OutputDirLockedError(
                    f'Another run is using the output directory {os.path.dirname(path)!r}: '
                    f'{holder} holds its lock {path!r}. Two runs on one output directory would '
                    'mix their ML Metadata records. Wait for it to finish, pass --wait-for-lock '
                    'to wait here, or choose another --output-dir.',
                    path,
                    holder,
                ) from None
            if on_wait is not None:
                on_wait(
                    f'Waiting for the run holding {path!r} to finish: {holder} '
                    '(Ctrl-C to stop waiting).'
                )
            fcntl.flock(fd, fcntl.LOCK_EX)
        _record_holder(fd)
        yield path
    finally:
        os.close(fd)  # releases the lock
