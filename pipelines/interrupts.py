"""Ctrl-C: stop at once with one line and exit status 130, as shells expect of an interrupted program.

Without this, SIGINT raises KeyboardInterrupt wherever the main thread is: TFX, Beam and
TensorFlow then unwind for several seconds, log errors on the way, and click prints `Aborted!`
with status 1. Nothing here needs that unwinding: every output is written whole or not at all and
published to ML Metadata only once complete, and training checkpoints survive, which is what
makes a SIGKILL safe (RELIABILITY.md). So SIGINT is handled as such a stop, announced in one line.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130

_NEXT_STEP = {
    'run': 'run it again to continue: completed stages are cached and training resumes from its '
    'last checkpoint',
    'train': 'run it again with the same --checkpoint-dir to resume from its last checkpoint',
}
_DEFAULT_NEXT_STEP = 'run it again to start over'


def message(command: str | None) -> str:
    """The one line printed on Ctrl-C."""
    name = f'sme {command}' if command else 'sme'
    next_step = _NEXT_STEP.get(command or '', _DEFAULT_NEXT_STEP)
    return (
        f'Interrupted: {name} stopped; nothing half-written was published. To finish, {next_step}.'
    )


def _stop(line: str) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    with contextlib.suppress(OSError, ValueError):
        os.write(sys.stderr.fileno(), f'\n{line}\n'.encode())
    os._exit(EXIT_INTERRUPTED)  # no unwinding through TFX, Beam and TensorFlow: see above


def install(command: str | None) -> Callable[[], None]:
    """Makes SIGINT stop the process at once with `message(command)`; returns an undo.

    Only from the main thread (signal handlers can only be set there); elsewhere a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    line = message(command)

    def handler(signum: int, frame: FrameType | None) -> Any:
        _stop(line)

    previous = signal.signal(signal.SIGINT, handler)

    def undo() -> None:
        signal.signal(signal.SIGINT, previous)

    return undo
