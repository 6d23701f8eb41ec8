"""The environment the tests run in is the one the lock files describe."""

import pytest

pytestmark = pytest.mark.core


def test_core_imports_without_tfx_beam_or_kfp():
    import subprocess
    import sys

    code = (
        'import sys, savedmodel_estimator\n'
        "bad = [m for m in ('tfx', 'apache_beam', 'kfp') if m in sys.modules]\n"
        'assert not bad, bad\n'
    )
    subprocess.run([sys.executable, '-c', code], check=True)
