"""The `beam` extra declares every distribution `savedmodel_estimator.beam` and the encoders it runs
(`savedmodel_estimator.encoding`) import, the encoders import no Beam, and the rest of the core
imports nothing beyond its own dependencies: `savedmodel-estimator[beam]` is enough to run the
Beam part, and plain `savedmodel-estimator` enough for the core.
"""

from __future__ import annotations

import ast
import importlib.metadata
import pathlib
import re
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
CORE = REPO / 'savedmodel_estimator'
OURS = {'savedmodel_estimator'}


def _pyproject() -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    return tomllib.loads((REPO / 'pyproject.toml').read_text())


def _names(requirements: list[str]) -> set[str]:
    """Normalised distribution names of requirement strings (`apache-beam[gcp]>=2` -> apache-beam)."""
    return {
        re.sub(r'[-_.]+', '-', re.match(r'[A-Za-z0-9_.-]+', r)[0]).lower() for r in requirements
    }


def _top_level_imports(files: list[pathlib.Path]) -> set[str]:
    """Every module imported anywhere in `files` (in functions and `try` blocks too), top name."""
    found = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split('.')[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split('.')[0])
    return found - OURS - set(sys.stdlib_module_names) - {'__future__'}


def _distributions(modules: set[str]) -> dict[str, set[str]]:
    """Module -> the installed distributions that provide it."""
    providers = importlib.metadata.packages_distributions()
    found = {}
    for module in sorted(modules):
        names = providers.get(module, [])
        if not names:  # a wheel without top_level.txt (numpy): its distribution has its name
            try:
                names = [importlib.metadata.distribution(module).metadata['Name']]
            except importlib.metadata.PackageNotFoundError:
                names = []
        found[module] = _names(names)
    return found


def _undeclared(files: list[pathlib.Path], declared: set[str]) -> dict[str, set[str]]:
    """Modules `files` import whose distributions are none of `declared`."""
    return {
        module: providers
        for module, providers in _distributions(_top_level_imports(files)).items()
        if not providers & declared
    }


def test_the_beam_extra_declares_what_the_beam_package_imports() -> None:
    project = _pyproject()['project']
    declared = _names(project['dependencies']) | _names(project['optional-dependencies']['beam'])
    files = sorted((CORE / 'beam').glob('*.py')) + sorted((CORE / 'encoding').glob('*.py'))
    undeclared = _undeclared(files, declared)
    assert undeclared == {}, f'declare them in the beam extra of pyproject.toml: {undeclared}'


def test_the_core_imports_only_its_own_dependencies() -> None:
    declared = _names(_pyproject()['project']['dependencies'])
    files = [
        p for p in CORE.rglob('*.py') if not {'beam', 'encoding'} & set(p.relative_to(CORE).parts)
    ]
    undeclared = _undeclared(files, declared)
    assert undeclared == {}, f'the core may import only its dependencies: {undeclared}'


def test_the_scan_sees_imports_inside_functions() -> None:
    tree_file = REPO / 'savedmodel_estimator' / 'encoding' / 'zlib_backend.py'
    assert 'isal' in _top_level_imports([tree_file])


def test_the_encoders_import_no_beam() -> None:
    files = sorted((CORE / 'encoding').glob('*.py'))
    assert 'apache_beam' not in _top_level_imports(files)
    ours = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                ours.add(node.module)
    assert not [m for m in ours if m.startswith('savedmodel_estimator.beam')], sorted(ours)
