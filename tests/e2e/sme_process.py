"""`sme` as a child process, its output read line by line as it comes: to kill it at a chosen moment.

A reader thread moves each output line (stdout and stderr together) into a queue, so the child
never blocks on a full pipe while the test waits for something else, and the test waits for a
line with a timeout instead of sleeping.
"""

from __future__ import annotations

import json
import os
import pathlib
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

SME = str(pathlib.Path(sys.executable).parent / 'sme')
# How long a test waits for a line before failing: a run on a loaded 2-core machine starts in
# 20-40 s (imports of TensorFlow, TFX and Beam).
LINE_TIMEOUT_S = 300.0
STEP_LINE = re.compile(r'training: step (\d+),')


DEMO = pathlib.Path(__file__).resolve().parents[2] / 'examples' / 'demo'


def demo_run_config(root: pathlib.Path, **overrides: object) -> pathlib.Path:
    """The demo copied into `root`, and `root/run.json`: its settings, output in `root/out`."""
    shutil.copytree(DEMO, root / 'demo')
    settings = json.loads((DEMO / 'config.json').read_text())
    settings.update(saved_model='demo/saved_model', data='demo/data', output_dir='out')
    settings.update(overrides)
    (root / 'run.json').write_text(json.dumps(settings))
    return root / 'run.json'


class SmeProcess:
    """A running `sme` command; `lines` holds what it printed so far, with arrival times."""

    def __init__(self, args: Sequence[object], cwd: pathlib.Path, env: dict | None = None) -> None:
        self.args = [SME, *(str(a) for a in args)]
        self.popen = subprocess.Popen(
            self.args,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors='replace',
        )
        self.lines: list[tuple[float, str]] = []  # (time.monotonic() when read, line)
        self._queue: queue.Queue[tuple[float, str] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self._queue.put((time.monotonic(), line.rstrip('\n')))
        self._queue.put(None)

    def wait_for(self, predicate: Callable[[str], bool], timeout_s: float = LINE_TIMEOUT_S) -> str:
        """Reads lines until one satisfies `predicate`; returns it.

        Raises:
            AssertionError: the process ended, or no such line came in time.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f'no awaited line within {timeout_s:.0f} s from {self.args}; output:\n'
                    f'{self.output}'
                ) from None
            if item is None:
                self.popen.wait()
                raise AssertionError(
                    f'{self.args} exited with {self.popen.returncode} before the awaited line; '
                    f'output:\n{self.output}'
                )
            self.lines.append(item)
            if predicate(item[1]):
                return item[1]

    def finish(self, timeout_s: float = LINE_TIMEOUT_S) -> int:
        """Reads the rest of the output; returns the exit status."""
        deadline = time.monotonic() + timeout_s
        while (item := self._queue.get(timeout=max(0.0, deadline - time.monotonic()))) is not None:
            self.lines.append(item)
        return self.popen.wait(timeout=max(1.0, deadline - time.monotonic()))

    def signal(self, signum: int) -> float:
        """Sends `signum`; returns when (time.monotonic)."""
        self.popen.send_signal(signum)
        return time.monotonic()

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()

    @property
    def output(self) -> str:
        return '\n'.join(line for _, line in self.lines)

    def steps(self) -> list[int]:
        """The training steps its progress lines reported, in order."""
        return [int(m.group(1)) for _, line in self.lines if (m := STEP_LINE.search(line))]
