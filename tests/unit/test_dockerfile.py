"""What can be checked of the Dockerfile without a Docker engine.

The image must hold what the compiled specs name: a lane's lock (the one the tests of that lane
run on), installed with the uv tools/make-venv pins, plus every package setuptools installs; TFX's
in-container entry point from the lock's tfx; and every executor class path from either the
copied packages or the lock. Each build the Dockerfile documents (its ARG defaults: the latest
lane; the header's `--build-arg`s: the legacy lane) pairs a base image with the lock resolved for
its Python and glibc. What the installed environment can tell is checked against the lock of the
lane running the test. tools/test-image builds the image and runs a task in it.
"""

from __future__ import annotations

import importlib.metadata
import json
import pathlib
import re

import pytest

from savedmodel_estimator_tfx.pipelines import compiled_spec
from tests.support.dockerfile import (
    LOCKS,
    Build,
    builds,
    copies,
    installed_packages,
    instructions,
    lock_header,
    lock_pins,
    repository_path,
    running_lock,
    runs,
    uv_version,
)
from tests.support.paths import REPO

GOLDEN = sorted((REPO / 'pipelines' / 'golden').glob('*_pipeline.json'))
# Debian releases of the official python images, and the glibc each ships.
DEBIAN_GLIBC = {'bullseye': '2.31', 'bookworm': '2.36', 'trixie': '2.41'}
BUILDS = builds()


def _copied_sources() -> set[str]:
    return {source.rstrip('/') for sources, _ in copies() for source in sources}


def _commands() -> list[str]:
    return [command for run in runs() for command in run]


def _golden_jobs() -> list[dict]:
    assert GOLDEN, 'no golden compiled specs in pipelines/golden/'
    return [json.loads(path.read_text()) for path in GOLDEN]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split('.'))


def test_the_defaults_build_the_latest_lane_and_a_documented_build_the_legacy_lane():
    assert [build.lock for build in BUILDS] == [LOCKS['latest'], LOCKS['legacy']]
    assert BUILDS[0].args == {}  # `docker build .` with no build args: the latest lane
    assert set(BUILDS[1].args) == {'BASE_IMAGE', 'LOCK'}  # a lane is both, never one alone


@pytest.mark.parametrize('build', BUILDS, ids=[build.name for build in BUILDS])
def test_the_base_image_is_the_python_and_platform_the_lock_was_resolved_for(build: Build):
    match = re.fullmatch(r'--platform=(\S+) python:(\d+\.\d+)[\d.]*-slim-(\w+)', build.base_image)
    assert match, (
        f'expected FROM --platform=... python:X.Y.Z-slim-DEBIAN, found {build.base_image!r}'
    )
    platform, python, debian = match.groups()
    header = lock_header(build.lock)
    assert f'python{python}' in header, (python, header)
    # The lock's wheels need this architecture and at most the base's glibc.
    assert platform == 'linux/amd64'
    wheels = re.search(r'--python-platform x86_64-manylinux_(\d+)_(\d+)', header)
    assert wheels, header
    assert _version('.'.join(wheels.groups())) <= _version(DEBIAN_GLIBC[debian]), (debian, header)


def test_it_installs_the_lock_the_build_names_with_the_pinned_uv():
    # Both locks are in the image's context; the LOCK build arg picks one, inside the build stage.
    assert (['requirements/'], 'requirements/') in copies()
    keywords = [i.keyword for i in instructions()]
    stage = instructions()[keywords.index('FROM') :]
    # An ARG before FROM is seen by FROM alone; RUN sees LOCK only if the stage declares it again.
    assert 'LOCK' in [i.args.partition('=')[0] for i in stage if i.keyword == 'ARG']
    uv = uv_version()
    assert f'python -m pip install --no-cache-dir "uv=={uv}"' in _commands()
    for lock in LOCKS.values():
        assert lock_pins(lock)['uv'] == uv, lock  # each lock's own uv agrees with make-venv
    (lock_install,) = [c for c in _commands() if re.fullmatch(r'uv pip install .*-r "\$LOCK"', c)]
    assert '--compile-bytecode' in lock_install  # no container start compiles TensorFlow again


def test_the_compiler_for_source_only_packages_leaves_in_the_layer_it_came_in():
    (install,) = [run for run in runs() if any('-r "$LOCK"' in c for c in run)]
    added = [c for c in install if c.startswith('apt-get install')]
    assert added and all(c.endswith(' g++') for c in added), added
    assert 'apt-get purge -y --auto-remove g++' in install
    assert install[-1] == 'rm -rf /var/lib/apt/lists/*'


def test_it_copies_and_installs_every_package_setuptools_includes():
    folders = set(installed_packages().values())
    assert folders == {'components', 'pipelines', 'savedmodel_estimator', 'schemas'}
    assert folders <= _copied_sources()
    assert {'pyproject.toml', 'setup.py', 'README.md'} <= _copied_sources()  # the build reads them
    # Built and installed from the lock alone: no dependency resolution, no build isolation.
    (install,) = [c for c in _commands() if re.fullmatch(r'uv pip install .* \.', c)]
    assert '--no-deps' in install and '--no-build-isolation' in install
    for lock in LOCKS.values():
        assert 'setuptools' in lock_pins(lock), lock


def test_the_build_context_holds_what_is_copied_and_no_environments():
    ignore = (REPO / '.dockerignore').read_text().splitlines()
    assert '*' in ignore  # everything out, then what the COPY lines need back in
    for source in _copied_sources():
        if f'!{source}/' in ignore or f'!{source}' in ignore:
            continue
        # A folder of which only some files are let in: at least every lock a build installs.
        locks = [build.lock.relative_to(REPO) for build in BUILDS]
        inside = [str(lock) for lock in locks if lock.parent == pathlib.Path(source)]
        assert inside, f'.dockerignore lets nothing of {source!r} in, which a COPY line copies'
        for lock in inside:
            assert f'!{lock}' in ignore, f'.dockerignore keeps out {lock}, which a build installs'


def test_the_build_imports_every_executor_in_the_golden_spec_from_the_installed_package():
    commands = _commands()
    check = 'python -m savedmodel_estimator_tfx.pipelines.kubeflow_v2 --check-imports /opt/sme/pipelines/golden/'
    index = next(i for i, c in enumerate(commands) if c.startswith(check))
    # From outside /opt/sme, so the installed package is imported, not the copied sources.
    assert commands[index - 1] == 'cd /'
    (workdir,) = [i.args for i in instructions() if i.keyword == 'WORKDIR']
    assert workdir == '/opt/sme' and 'pipelines' in _copied_sources()


@pytest.mark.parametrize('job', _golden_jobs(), ids=[p.stem for p in GOLDEN])
def test_every_module_the_spec_runs_is_in_a_copied_package_or_the_lock(job):
    pins = lock_pins(running_lock())
    distributions = importlib.metadata.packages_distributions()
    modules = {
        path.rpartition('.')[0] for path in compiled_spec.executor_class_paths(job).values()
    } | compiled_spec.entry_point_modules(job)
    for module in sorted(modules):
        top = module.split('.')[0]
        relative = repository_path(module)
        if relative is not None:
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
    assert importlib.metadata.version('tfx') == lock_pins(running_lock())['tfx']
    files = {str(f) for f in importlib.metadata.distribution('tfx').files or []}
    module = compiled_spec.RUN_EXECUTOR_MODULE.replace('.', '/') + '.py'
    assert module in files
    for job in _golden_jobs():
        assert compiled_spec.RUN_EXECUTOR_MODULE in compiled_spec.entry_point_modules(job)


def test_nothing_is_installed_when_the_container_starts():
    for instruction in instructions():
        if instruction.keyword in ('CMD', 'ENTRYPOINT'):
            assert not re.search(r'\b(pip|uv|apt-get|curl|wget)\b', instruction.args)
