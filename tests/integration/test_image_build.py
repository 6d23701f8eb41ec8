"""The Dockerfile's package steps, done here without Docker.

The files its COPY lines take from the repository go into a scratch `/opt/sme`, the package is
installed from there as its RUN line does (no dependencies, no build isolation, offline), and
the image's build-time check runs against that installation alone, so an executor that needs a
file the image does not copy (tests/, tools/, a module outside the setuptools packages) fails
here. The lock's packages come from this environment, the same lock the image installs.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from tests.support.dockerfile import copies
from tests.support.paths import REPO

pytestmark = pytest.mark.slow

UV = pathlib.Path(sys.executable).parent / 'uv'


def _stage_copies(workdir: pathlib.Path) -> None:
    """The Dockerfile's COPY lines (but the lock, installed already), relative to its WORKDIR."""
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc')
    for sources, destination in copies():
        if sources == ['requirements/']:  # the locks: installed in this environment already
            continue
        for source in sources:
            target = workdir / destination
            if (REPO / source).is_dir():
                shutil.copytree(REPO / source, target, ignore=ignore)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / source, target / source)


@pytest.fixture(scope='module')
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, pathlib.Path]:
    root = tmp_path_factory.mktemp('image')
    workdir, site = root / 'opt' / 'sme', root / 'site-packages'
    _stage_copies(workdir)
    # As the Dockerfile's `uv pip install --system --no-cache --no-deps --no-build-isolation .`
    flags = ['--quiet', '--offline', '--no-deps', '--no-build-isolation']
    command = [UV, 'pip', 'install', *flags, '--python', sys.executable, '--target', site, workdir]
    subprocess.run(command, check=True, capture_output=True)
    return workdir, site


# This environment has the repository installed editable: its import hook would find a package
# the image lacks. Removed, only PYTHONPATH (the image's site-packages) and the lock remain.
WITHOUT_EDITABLE_INSTALL = (
    'import sys; '
    "sys.meta_path[:] = [f for f in sys.meta_path if '_Editable' not in getattr(f, '__name__', '')]; "
)


def _python(site: pathlib.Path, cwd: pathlib.Path, script: str) -> subprocess.CompletedProcess:
    env = {**os.environ, 'PYTHONPATH': str(site), 'TF_CPP_MIN_LOG_LEVEL': '2'}
    env['PYTHONWARNINGS'] = 'ignore'
    return subprocess.run(
        [sys.executable, '-c', WITHOUT_EDITABLE_INSTALL + script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_installed_packages_are_the_copied_ones(installed):
    workdir, site = installed
    packages = (
        'savedmodel_estimator',
        'savedmodel_estimator_tfx.components',
        'savedmodel_estimator_tfx.pipelines',
        'savedmodel_estimator_tfx.schemas',
    )
    script = (  # find_spec: where each would import from, without importing TensorFlow
        'import importlib.util; from savedmodel_estimator_tfx import schemas; '
        f'print(*(importlib.util.find_spec(p).origin for p in {packages!r})); '
        "print(len(schemas.load_schema('pipeline_config')['properties']))"
    )
    result = _python(site, workdir.parent, script)
    assert result.returncode == 0, result.stderr[-3000:]
    files, schema_keys = result.stdout.splitlines()
    assert all(path.startswith(str(site)) for path in files.split()), files
    assert int(schema_keys) > 0  # the JSON Schemas ship as package data


def test_every_executor_in_the_golden_spec_imports_from_the_image_contents(installed):
    workdir, site = installed
    spec = workdir / 'pipelines' / 'golden' / 'vertex_pipeline.json'
    # The Dockerfile's `cd / && python -m savedmodel_estimator_tfx.pipelines.kubeflow_v2 --check-imports SPEC`.
    script = (
        f"import runpy; sys.argv = ['kubeflow_v2', '--check-imports', {str(spec)!r}]; "
        "runpy.run_module('savedmodel_estimator_tfx.pipelines.kubeflow_v2', run_name='__main__', alter_sys=True)"
    )
    result = _python(site, pathlib.Path('/'), script)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'every executor and entry point imports' in result.stdout


def test_the_install_adds_only_the_projects_own_names(installed):
    """Nothing generic (`components`, `pipelines`, `schemas`) lands in the site-packages."""
    _, site = installed
    names = {path.name for path in site.iterdir()}
    ours = {name for name in names if not name.endswith('.dist-info') and name[0] not in '._'}
    assert ours - {'bin'} == {
        'savedmodel_estimator',
        'savedmodel_estimator_tfx',
    }, sorted(names)
