"""Progress lines for long runs: which stage runs, training steps, examples predicted.

TFX, TensorFlow and Beam report through Python logging; this handler turns the few messages that
mark progress into short lines on the console and lets warnings and errors through, so a user
sees what happens without the libraries' full INFO stream.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterator

_STAGE = re.compile(r'^Component (\S+) is (running|finished)\.$')
_STEP = re.compile(r'\bloss = ([-\d.e+naif]+), step = (\d+)')


class ProgressHandler(logging.Handler):
    """Prints progress-marking log records through `emit_line`; passes warnings and errors."""

    def __init__(self, emit_line: Callable[[str], None]) -> None:
        super().__init__(level=logging.INFO)
        self._emit_line = emit_line
        self._started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a library's malformed log call must not break the run
            return
        line = self.progress_line(message)
        if line:
            self._emit_line(line)
        elif record.levelno >= logging.ERROR:
            self._emit_line(f'{record.levelname.lower()}: {message.splitlines()[0]}')

    def progress_line(self, message: str) -> str | None:
        if match := _STAGE.match(message):
            node, what = match.groups()
            if what == 'running':
                self._started[node] = time.monotonic()
                return f'▶ {node}'
            took = time.monotonic() - self._started.get(node, time.monotonic())
            return f'✓ {node} ({took:.1f} s)'
        if match := _STEP.search(message):
            loss, step = match.groups()
            return f'    training: step {step}, loss {loss}'
        return None


@contextlib.contextmanager
def progress_to(emit_line: Callable[[str], None]) -> Iterator[None]:
    """While active, library logging goes through a `ProgressHandler` only."""
    handler = ProgressHandler(emit_line)
    loggers = [logging.getLogger(), logging.getLogger('tensorflow'), logging.getLogger('absl')]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    try:
        for lg in loggers:
            lg.handlers = []
            lg.setLevel(logging.INFO)
        logging.getLogger().addHandler(handler)
        for lg in loggers[1:]:
            lg.propagate = True
        yield
    finally:
        for lg, handlers, level, propagate in saved:
            lg.handlers = handlers
            lg.setLevel(level)
            lg.propagate = propagate
