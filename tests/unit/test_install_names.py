"""Installed, the project adds only its own import names: `savedmodel_estimator` (the core) and
`savedmodel_estimator_tfx` (the repository's components/, pipelines/ and schemas/, see
setup.py). Nothing of ours may import those folders by their bare names: from the repository
root they would load a second copy of each module, and installed they do not exist.
"""

from __future__ import annotations

import ast

import pytest

from tests.support.paths import REPO

pytestmark = pytest.mark.core

FOLDERS = ('components', 'pipelines', 'schemas')
CODE = ('savedmodel_estimator', *FOLDERS, 'tests', 'tools', 'benchmarks', 'examples')


def _bare_imports(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name) for name in names if name.split('.')[0] in FOLDERS]
    return found


def test_nothing_imports_the_folders_by_their_bare_names() -> None:
    bare = []
    for folder in CODE:
        for path in sorted((REPO / folder).rglob('*.py')):
            if 'data' in path.relative_to(REPO).parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            bare += [
                f'{path.relative_to(REPO)}:{line}: {name}' for line, name in _bare_imports(tree)
            ]
    assert bare == [], 'import them as savedmodel_estimator_tfx.<folder>:\n' + '\n'.join(bare)


def test_the_scan_finds_a_bare_import() -> None:
    tree = ast.parse('import pipelines.cli\nfrom components.common import artifacts\nimport json\n')
    assert _bare_imports(tree) == [(1, 'pipelines.cli'), (2, 'components.common')]
