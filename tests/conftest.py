"""Shared pytest fixtures: paths to the golden test data."""

from __future__ import annotations

import os
import pathlib

import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / 'tests' / 'data'


@pytest.fixture(scope='session')
def data_dir() -> pathlib.Path:
    return DATA_DIR
