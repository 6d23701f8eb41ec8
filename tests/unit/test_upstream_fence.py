"""The fence around private upstream symbols: its report of a moved one, and the scan for bypasses.

Private upstream symbols (TensorFlow, Beam, TFX) are used only through the fence modules below;
the scan here reads every Python file of the tree and fails on any use outside them, naming the
file, line and symbol. What counts as private:

* a module upstream does not publish: `tensorflow.python`, Beam's runner internals, TFX's
  orchestrator internals (`PRIVATE_MODULES`);
* a name with a leading underscore from an upstream module or object (`x._name`), unless this
  tree defines that name itself, or it is the public API of a namedtuple;
* in a subclass of an upstream class: `self._name` it does not assign, `super()._name`, and
  overriding a private method that no fence lists in its `OVERRIDDEN`;
* any private name a fence wraps, anywhere else.
"""

from __future__ import annotations

import ast
import importlib.util
import pathlib
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from savedmodel_estimator._fence import Private, UpstreamChangedError, check
from tests.support.paths import REPO

SCANNED = ('savedmodel_estimator', 'components', 'pipelines', 'schemas', 'benchmarks', 'tools')
SCANNED_TESTS = ('tests', 'examples')
FENCES = (
    'savedmodel_estimator/_tf_internal.py',
    'savedmodel_estimator/beam/_beam_internal.py',
    'components/common/_tfx_internal.py',
)
PRIVATE_MODULES = (
    'tensorflow.python',
    'keras.src',
    'apache_beam.runners.portability',
    'apache_beam.runners.worker',
    'apache_beam.runners.direct',
    'apache_beam.internal',
    'tfx.orchestration.portable',
    'tfx.utils.dependency_utils',
)
# tensorflow_estimator 2.15 is the frozen original the conformance suite compares against (in
# .venv-reference only, never upgraded): reaching into it is that suite's purpose.
ORACLE = 'tensorflow_estimator'
EXEMPT = {
    'tests/data/tools/make_upstream_scenarios.py': (
        'replays upstream test code verbatim with tensorflow-estimator on TF 2.15, once, to make '
        'fixtures; it never runs on a TensorFlow we upgrade to'
    ),
    'tests/data/tools/upstream_models.py': 'the upstream test model_fns make_upstream_scenarios.py uses',
}
NAMEDTUPLE_API = frozenset({'_fields', '_replace', '_asdict', '_make', '_field_defaults'})
# Standard-library functions documented as public despite the underscore.
STDLIB_API = frozenset({('os', '_exit')})


def _python_files() -> Iterator[pathlib.Path]:
    for top in (*SCANNED, *SCANNED_TESTS):
        yield from sorted((REPO / top).rglob('*.py'))
    yield from sorted(REPO.glob('*.py'))


def _is_private(name: str) -> bool:
    return name.startswith('_') and not name.startswith('__')


def _fenced_names() -> tuple[set[str], set[str], set[str]]:
    """From the fences' source: the private names their `Private(...)` entries wrap, those whose
    whole signature they check (`exact=True`), and the names in their OVERRIDDEN.
    """
    fenced: set[str] = set()
    exact: set[str] = set()
    overridden: set[str] = set()
    for path in FENCES:
        for node in ast.walk(ast.parse((REPO / path).read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'Private':
                attr = node.args[1]
                assert isinstance(attr, ast.Constant), f'{path}:{node.lineno}: literal names only'
                fenced.update(part for part in attr.value.split('.') if _is_private(part))
                if any(k.arg == 'exact' and getattr(k.value, 'value', 0) for k in node.keywords):
                    exact.add(attr.value.rsplit('.', 1)[-1])
            elif (
                isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') == 'OVERRIDDEN'
            ):
                overridden.update(ast.literal_eval(node.value))
    return fenced, exact, overridden


class _Tree:
    """Every file's syntax tree, and the names this tree defines itself."""

    def __init__(self) -> None:
        self.files = {path: ast.parse(path.read_text()) for path in _python_files()}
        self.ours: set[str] = set()
        self.modules = {'savedmodel_estimator', 'savedmodel_estimator_tfx', 'tests'}
        for path, tree in self.files.items():
            self.modules.add(path.stem)
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    self.ours.add(node.name)
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    self.ours.add(node.id)
                elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                    self.ours.add(node.attr)
                elif isinstance(node, ast.arg):
                    self.ours.add(node.arg)
        self.fenced, self.exact, self.overridden = _fenced_names()

    def is_upstream(self, module: str) -> bool:
        top = module.split('.')[0]
        return top not in self.modules and top not in sys.stdlib_module_names and top != ORACLE


def _upstream_names(tree: ast.Module, scan: _Tree) -> set[str]:
    """The names a file binds to upstream modules and their members."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(
                (a.asname or a.name).split('.')[0] for a in node.names if scan.is_upstream(a.name)
            )
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.update(a.asname or a.name for a in node.names if scan.is_upstream(node.module))
    return names


def _root(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


IMPORT_CALLS = ('import_module', 'importorskip')
ATTRIBUTE_CALLS = ('getattr', 'setattr', 'hasattr', 'delattr')


def _literal_arg(node: ast.Call, index: int) -> str | None:
    arg = node.args[index] if len(node.args) > index else None
    return str(arg.value) if isinstance(arg, ast.Constant) else None


def _imports(tree: ast.Module) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) of every import, including importlib/importorskip of a literal."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, 'attr', None) in IMPORT_CALLS:
            module = _literal_arg(node, 0)
            if module is not None:
                yield node.lineno, module, []


def _attribute_uses(tree: ast.Module) -> Iterator[tuple[int, ast.expr, str]]:
    """(line, receiver, name) of private attribute uses: `x._name`, `getattr(x, '_name')`..."""
    for node in ast.walk(tree):
        use: tuple[int, ast.expr, str]
        if isinstance(node, ast.Attribute):
            use = (node.lineno, node.value, node.attr)
        elif isinstance(node, ast.Call) and getattr(node.func, 'id', None) in ATTRIBUTE_CALLS:
            use = (node.lineno, node.args[0], _literal_arg(node, 1) or '')
        else:
            continue
        if _is_private(use[2]):
            yield use


def _violations_in(path: str, tree: ast.Module, scan: _Tree) -> Iterator[str]:
    upstream = _upstream_names(tree, scan)
    for line, module, names in _imports(tree):
        for imported in (module, *(f'{module}.{name}' for name in names)):
            if imported.startswith(PRIVATE_MODULES):
                yield f'{path}:{line}: imports private module {imported}'
        if scan.is_upstream(module):
            for name in filter(_is_private, names):
                yield f'{path}:{line}: imports private {module}.{name}'
    for line, receiver, name in _attribute_uses(tree):
        root = _root(receiver)
        if name in NAMEDTUPLE_API or (root, name) in STDLIB_API:
            continue
        if name in scan.fenced and name not in scan.overridden:
            yield f'{path}:{line}: uses fenced {name}; call its fence wrapper instead'
        elif root in upstream:
            yield f'{path}:{line}: uses private {root}...{name}'
        elif root not in ('self', 'cls', 'super') and name not in scan.ours:
            yield f'{path}:{line}: uses private {name} of an upstream object'
    yield from _subclass_violations(path, tree, upstream, scan)


def _subclass_violations(
    path: str, tree: ast.Module, upstream: set[str], scan: _Tree
) -> Iterator[str]:
    """Private members of upstream base classes, used or overridden by a subclass here."""
    for cls in ast.walk(tree):
        if not isinstance(cls, ast.ClassDef) or not any(_root(b) in upstream for b in cls.bases):
            continue
        own = set()
        for node in cls.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(node.name)
                if _is_private(node.name) and node.name not in scan.overridden:
                    yield (
                        f'{path}:{node.lineno}: {cls.name} defines private {node.name} in a '
                        'subclass of an upstream class: if it overrides the base class, fence '
                        "it (the fence's OVERRIDDEN and a Private check); if not, rename it"
                    )
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                own.update(t.id for t in targets if isinstance(t, ast.Name))
        attributes = [n for n in ast.walk(cls) if isinstance(n, ast.Attribute)]
        own.update(
            n.attr for n in attributes if isinstance(n.ctx, ast.Store) and _root(n.value) == 'self'
        )
        for node in attributes:
            if not _is_private(node.attr):
                continue
            on_self = isinstance(node.value, ast.Name) and node.value.id == 'self'
            inherited = on_self and node.attr not in own and node.attr not in scan.overridden
            if _root(node.value) == 'super' or inherited:
                yield f'{path}:{node.lineno}: {cls.name} uses inherited private {node.attr}'


@pytest.mark.core
def test_no_private_upstream_symbol_is_used_outside_the_fences() -> None:
    scan = _Tree()
    violations = []
    for file, tree in scan.files.items():
        path = file.relative_to(REPO).as_posix()
        if path not in FENCES and path not in EXEMPT:
            violations.extend(_violations_in(path, tree, scan))
    assert violations == [], (
        'Use the fence modules ' + ', '.join(FENCES) + ':\n' + '\n'.join(violations)
    )


@pytest.mark.core
def test_every_overridden_method_has_its_signature_checked() -> None:
    scan = _Tree()
    assert scan.overridden, 'no OVERRIDDEN found in the fences: the scan would miss overrides'
    assert sorted(scan.overridden - scan.exact) == []


@pytest.mark.core
def test_the_scan_catches_each_kind_of_bypass() -> None:
    scan = _Tree()
    source = """
import tensorflow as tf
from apache_beam.io.tfrecordio import _TFRecordUtil
from apache_beam.runners.portability.fn_api_runner import fn_runner
from tfx.dsl.components.base import base_beam_executor
from tfx.utils import dependency_utils

tf._private_thing()
op._set_attr('value', None)
job._gca_resource
getattr(hook, '_listeners')

class Executor(base_beam_executor.BaseBeamExecutor):
    def __init__(self):
        self._beam_pipeline_args = []
    def _own_helper(self):
        return self._make_beam_pipeline_fn, super()._log_startup
    def _make_beam_pipeline(self):
        return super()._make_beam_pipeline()
"""
    found = '\n'.join(_violations_in('x.py', ast.parse(source), scan))
    for expected in (
        'imports private apache_beam.io.tfrecordio._TFRecordUtil',
        'imports private module apache_beam.runners.portability.fn_api_runner',
        'imports private module tfx.utils.dependency_utils',
        'uses private tf..._private_thing',
        'uses fenced _set_attr',
        'uses private _gca_resource of an upstream object',
        'uses fenced _listeners',
        'uses fenced _beam_pipeline_args',
        'Executor defines private _own_helper',
        'Executor uses inherited private _log_startup',
        'Executor uses inherited private _make_beam_pipeline',
    ):
        assert expected in found
    assert 'defines private _make_beam_pipeline' not in found  # fenced: in OVERRIDDEN


# --- How a fence reports a symbol that moved ---------------------------------------------------


class Upstream:
    """A stand-in upstream class."""

    def __init__(self) -> None:
        self._state = 1

    def _method(self, a: int, b: int = 0) -> int:
        return a + b

    def _kwargs(self, **kwargs: Any) -> None: ...


@pytest.mark.core
def test_check_passes_what_is_there() -> None:
    check(
        'Upstream',
        '1.0',
        'fence.py',
        [
            Private(Upstream, '_method', ('self', 'a', 'b'), exact=True),
            Private(Upstream, '_method', ('b',)),
            Private(Upstream, '_kwargs', ('anything',)),
            Private(Upstream, '_state', set_by='__init__'),
            Private(pathlib, 'Path.home'),
        ],
    )


@pytest.mark.core
@pytest.mark.parametrize(
    ('symbol', 'problem'),
    [
        (Private(Upstream, '_gone'), r'test_upstream_fence\.Upstream\._gone: not found'),
        (Private(pathlib, '_Gone.method'), r"pathlib\._Gone\.method: not found \(no '_Gone'\)"),
        (Private(Upstream, '_method', ('c',)), r"Upstream\._method: no parameter 'c'"),
        (
            Private(Upstream, '_method', ('self', 'a'), exact=True),
            r"Upstream\._method: signature is \('self', 'a', 'b'\), expected \('self', 'a'\)",
        ),
        (
            Private(Upstream, '_other', set_by='__init__'),
            r'Upstream\._other: not assigned by Upstream\.__init__\(\)',
        ),
    ],
)
def test_check_names_the_symbol_that_moved(symbol: Private, problem: str) -> None:
    with pytest.raises(UpstreamChangedError, match=problem) as raised:
        check('Upstream', '9.9', 'path/to/fence.py', [Private(Upstream, '_method'), symbol])
    assert isinstance(raised.value, ImportError)
    assert (raised.value.upstream, raised.value.version) == ('Upstream', '9.9')
    assert len(raised.value.problems) == 1
    assert 'Upstream 9.9 has changed private symbols' in str(raised.value)
    assert 'update path/to/fence.py' in str(raised.value)


def _import_copy(module: str) -> None:
    """Imports a fresh copy of `module` (the real one stays as it is)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    copy = importlib.util.spec_from_file_location(module + '_copy', spec.origin)
    assert copy is not None and copy.loader is not None
    copy.loader.exec_module(importlib.util.module_from_spec(copy))


@pytest.mark.parametrize(
    ('fence', 'upstream', 'owner', 'attr'),
    [
        pytest.param(
            'savedmodel_estimator._tf_internal',
            'tensorflow',
            'tensorflow.python.training.evaluation',
            '_evaluate_once',
            marks=pytest.mark.core,
        ),
        (
            'savedmodel_estimator.beam._beam_internal',
            'apache_beam',
            'apache_beam.runners.portability.fn_api_runner.fn_runner',
            'ExtendedProvisionInfo',
        ),
        (
            'savedmodel_estimator_tfx.components.common._tfx_internal',
            'tfx',
            'tfx.dsl.components.base.base_beam_executor',
            'BaseBeamExecutor._make_beam_pipeline',
        ),
    ],
)
def test_a_fence_fails_at_import_naming_a_moved_symbol(
    fence: str, upstream: str, owner: str, attr: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip(upstream)
    _import_copy(fence)  # imports cleanly as things are
    target: Any = importlib.import_module(owner)
    *parents, name = attr.split('.')
    for parent in parents:
        target = getattr(target, parent)
    monkeypatch.delattr(target, name)
    with pytest.raises(UpstreamChangedError, match=re.escape(f'{owner}.{attr}: not found')):
        _import_copy(fence)
