"""The probe: a Python process that loads migrated models and never imports this repository.

A migrated SavedModel must load with TensorFlow alone. The migration tests load it in a probe:
`sys.executable` in isolated mode, with an import hook that refuses this repository's packages,
running a script given as text. The script's results come back through a file (npz or JSON).
This file also holds that hook's own test.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.core

# Prepended to every probe script: refuse our packages, and check at exit that none came in.
PROLOGUE = r"""
import atexit, os, sys
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
OURS = ('savedmodel_estimator', 'savedmodel_estimator_tfx', 'components', 'pipelines', 'schemas')


class RefuseOurPackages:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in OURS:
            raise ImportError(f'the probe must not import {name}')
        return None


sys.meta_path.insert(0, RefuseOurPackages())


@atexit.register
def _none_of_ours():
    found = sorted(m for m in sys.modules if m.split('.')[0] in OURS)
    if found:
        sys.stderr.write(f'imported: {found}\n')
        os._exit(3)
"""


def run_probe(
    script: str, *args: str | os.PathLike[str], timeout: int = 600, python: str = sys.executable
) -> str:
    """Runs `script` (after the prologue) in a fresh isolated interpreter (`python`, by default
    this one); returns its stdout.

    Raises:
        AssertionError: the probe failed; its stderr tail is in the message.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(('PYTHON', 'TF_USE_LEGACY'))}
    env['TF_CPP_MIN_LOG_LEVEL'] = '2'
    done = subprocess.run(
        [python, '-I', '-c', PROLOGUE + script, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd='/',
    )
    assert done.returncode == 0, f'probe failed ({done.returncode}):\n{done.stderr[-4000:]}'
    return done.stdout


def test_the_probe_refuses_this_repository(tmp_path: pathlib.Path) -> None:
    assert run_probe('import json; print(json.dumps(sys.argv[1:]))', 'a', tmp_path) == (
        f'["a", "{tmp_path}"]\n'
    )
    with pytest.raises(AssertionError, match='the probe must not import savedmodel_estimator'):
        run_probe('import savedmodel_estimator')
