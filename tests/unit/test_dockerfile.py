"""What can be checked of the Dockerfile without a Docker engine.

The image must hold what the compiled specs name: the lock the tests run on, installed with the
Makefile's uv, plus every package setuptools installs; TFX's in-container entry point from the
lock's tfx; and every executor class path from either the copied packages or the lock.
"""

from __future__ import annotations

import importlib.metadata
import json
import re

import pytest
from dockerfile import (
    REPO,
    copies,
    instructions,
    lock_header,
    lock_pins,
    makefile_uv_version,
    runs,
    setuptools_packages,
)

from pipelines import compiled_spec

GOLDEN = sorted((REPO / 'pipelines' / 'golden').glob('*_pipeline.json'))
# Debian releases of the official python images, and the glibc each ships.
DEBIAN_GLIBC = {'bullseye': '2.31', 'bookworm': '2.36', 'trixie': '2.41'}


def _copied_sources() -> set[str]:
    return {source.rstrip('/') for sources, _ in copies() for source in sources}


def _golden_jobs() -> list[dict]:
    assert GOLDEN, 'no golden compiled specs in pipelines/golden/'
    return [json.loads(path.read_text()) for path in GOLDEN]


def test_the_base_image_is_the_python_and_platform_the_lock_was_resolved_for():
    (base,) = [i.args for i in instructions() if i.keyword == 'FROM']
    match = re.fullmatch(r'--platform=(\S+) python:(\d+\.\d+)[\d.]*-slim-(\w+)', base)
    assert match, f'expected FROM --platform=... python:X.Y...-slim-DEBIAN, found {base!r}'
    platform, python, debian = match.groups()
    header = lock_header()
    assert f'python{python}' in header, (python, header)
    # The lock's wheels need this architecture and at most this glibc.
    assert platform == 'linux/amd64' and '--python-platform x86_64-manylinux_' in header
    assert f'manylinux_{DEBIAN_GLIBC[debian].replace(".", "_")}' in header, (debian, header)


def test_it_installs_the_lock_the_tests_use_with_the_makefiles_uv():
    assert (['requirements/main.lock'], 'requirements/main.lock') in copies()
    commands = [command for run in runs() for command in run]
    uv = makefile_uv_version()
    assert f'python -m pip install --no-cache-dir "uv=={uv}"' in commands
    assert lock_pins()['uv'] == uv  # the lock's own uv agrees with the Makefile
    (lock_install,) = [
        c for c in commands if re.fullmatch(r'uv pip install .*-r requirements/main\.lock', c)
    ]
    assert '--compile-bytecode' in lock_install  # no container start compiles TensorFlow again


def test_it_copies_and_installs_every_package_setuptools_includes():
    packages = setuptools_packages()
    assert set(packages) >= {'components', 'pipelines', 'savedmodel_estimator', 'schemas'}
    assert set(packages) <= _copied_sources()
    assert {'pyproject.toml', 'README.md'} <= _copied_sources()  # the build reads both
    # Built and installed from the lock alone: no dependency resolution, no build isolation.
    (install,) = [c for run in runs() for c in run if re.fullmatch(r'uv pip install .* \.', c)]
    assert '--no-deps' in install and '--no-build-isolation' in install
    assert 'setuptools' in lock_pins()


def test_the_build_context_holds_what_is_copied_and_no_environments():
    ignore = (REPO / '.dockerignore').read_text().splitlines()
    assert '*' in ignore  # everything out, then what the COPY lines need back in
    for source in _copied_sources():
        assert f'!{source}/' in ignore or f'!{source}' in ignore, source


def test_the_build_imports_every_executor_in_the_golden_spec_from_the_installed_package():
    commands = [c for run in runs() for c in run]
    check = 'python -m pipelines.kubeflow_v2 --check-imports /opt/sme/pipelines/golden/'
    index = next(i for i, c in enumerate(commands) if c.startswith(check))
    # From outside /opt/sme, so the installed package is imported, not the copied sources.
    assert commands[index - 1] == 'cd /'
    (workdir,) = [i.args for i in instructions() if i.keyword == 'WORKDIR']
    assert workdir == '/opt/sme' and 'pipelines' in _copied_sources()


@pytest.mark.parametrize('job', _golden_jobs(), ids=[p.stem for p in GOLDEN])
def test_every_module_the_spec_runs_is_in_a_copied_package_or_the_lock(job):
    copied = set(setuptools_packages())
    pins = lock_pins()
    distributions = importlib.metadata.packages_distributions()
    modules = {
        path.rpartition('.')[0] for path in compiled_spec.executor_class_paths(job).values()
    } | compiled_spec.entry_point_modules(job)
    for module in sorted(modules):
        top = module.split('.')[0]
        if top in copied:
            relative = module.replace('.', '/')
            assert (REPO / f'{relative}.py').is_file() or (REPO / relative).is_dir(), module
            continue
        distribution = _distribution_holding(module, distributions.get(top, []))
        name = re.sub(r'[-_.]+', '-', distribution).lower()
        assert name in pins, f'{module} comes from {distribution}, which the lock does not pin'
        assert importlib.metadata.version(distribution) == pins[name], (module, distribution)


def _distribution_holding(module: str, candidates: list[str]) -> str:
    """The installed distribution whose files include `module` (tfx/ comes from two)."""
    relative = module.replace('.', '/')
    wanted = {f'{relative}.py', f'{relative}/__init__.py'}
    for name in candidates:
        if wanted & {str(f) for f in importlib.metadata.distribution(name).files or []}:
            return name
    raise AssertionError(f'no installed distribution holds {module} (looked in {candidates})')


def test_the_entry_point_module_is_in_the_locks_tfx():
    assert importlib.metadata.version('tfx') == lock_pins()['tfx']
    files = {str(f) for f in importlib.metadata.distribution('tfx').files or []}
    module = compiled_spec.RUN_EXECUTOR_MODULE.replace('.', '/') + '.py'
    assert module in files
    for job in _golden_jobs():
        assert compiled_spec.RUN_EXECUTOR_MODULE in compiled_spec.entry_point_modules(job)


def test_nothing_is_installed_when_the_container_starts():
    for instruction in instructions():
        if instruction.keyword in ('CMD', 'ENTRYPOINT'):
            assert not re.search(r'\b(pip|uv|apt-get|curl|wget)\b', instruction.args)
