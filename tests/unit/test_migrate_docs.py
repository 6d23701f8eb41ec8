"""docs/leaving-estimator.md's example, run as written on the seed export.

Its Python blocks are joined into one script; only the paths at its top are replaced (the golden
`dnn_classifier_seed` export and its data, outputs under tmp_path). Checks appended after it:
the Keras predictions are the fine-tuned model's own classify signature's, and training moved
the weights and the global step as many steps as it took.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

from tests.support.paths import REPO, SEED

pytestmark = [pytest.mark.core, pytest.mark.slow]

DOC = REPO / 'docs' / 'leaving-estimator.md'

CHECKS = """
import math
import numpy as np

migrated, fine_tuned = tf.saved_model.load(MIGRATED_DIR), tf.saved_model.load(FINE_TUNED_DIR)
expected = fine_tuned.signatures['classification'](inputs=tf.constant(records))['scores']
np.testing.assert_allclose(predictions['scores'], expected, rtol=1e-6)
steps = 3 * math.ceil(300 / 32)
step = {v.name: int(v.numpy()) for v in fine_tuned.variables if v.name == 'global_step:0'}
assert step == {'global_step:0': 10 + steps}, step
kernel = 'dnn/hiddenlayer_0/kernel:0'
(before,) = [v.numpy() for v in migrated.variables if v.name == kernel]
(after,) = [v.numpy() for v in fine_tuned.variables if v.name == kernel]
assert not np.allclose(before, after)
print('CHECKS PASSED')
"""


def example_script(tmp_path: pathlib.Path) -> str:
    blocks = re.findall(r'```python\n(.*?)```', DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) == 3, 'the example is three Python blocks'
    script = '\n'.join(blocks)
    paths = {
        'EXPORT_DIR': SEED / 'saved_model',
        'MIGRATED_DIR': tmp_path / 'migrated',
        'FINE_TUNED_DIR': tmp_path / 'fine-tuned',
    }
    for name, path in paths.items():
        script, count = re.subn(
            rf"^{name} = '[^']*'", f'{name} = {str(path)!r}', script, flags=re.M
        )
        assert count == 1, name
    data = f'TRAIN_DATA, EVAL_DATA = {str(SEED / "data/train.tfrecord")!r}, '
    data += f'{str(SEED / "data/eval.tfrecord")!r}'
    script, count = re.subn(r'^TRAIN_DATA, EVAL_DATA = .*$', data, script, flags=re.M)
    assert count == 1
    return script + CHECKS


def test_the_example_runs_as_written(tmp_path):
    keras = pytest.importorskip('keras')
    if not hasattr(keras.layers, 'TFSMLayer'):
        pytest.skip(f'Keras {keras.__version__} has no TFSMLayer (Keras 3 has)')
    script = tmp_path / 'example.py'
    script.write_text(example_script(tmp_path))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-4000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("before: {'global_step': 10.0, 'loss': ")
    assert lines[1].startswith("after:  {'global_step': 40.0, 'loss': ")
    assert lines[-1] == 'CHECKS PASSED'
