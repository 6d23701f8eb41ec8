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


def test_installed_packages_carry_compiled_bytecode():
    """`make setup` compiles bytecode at install, so no process compiles TensorFlow again."""
    import importlib.util
    import os

    import tensorflow as tf

    init = tf.__file__  # tensorflow/__init__.py
    bytecode = importlib.util.cache_from_source(init, optimization='')
    if os.environ.get('PYTHONPYCACHEPREFIX'):  # bytecode is looked up there instead
        pytest.skip('PYTHONPYCACHEPREFIX is set')
    assert os.path.exists(bytecode), f'no compiled bytecode for {init}: expected {bytecode}'
