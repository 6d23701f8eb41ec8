"""The repository's Dockerfile, locks, uv pin and pyproject read as data, for static checks.

The Dockerfile builds either lane: its `ARG` defaults before `FROM` are one build (the latest
lane), and each `docker build ... --build-arg K=V` its header comment documents is another (the
legacy lane). `Build` is one such combination, its base image and lock resolved.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import importlib.metadata
import pathlib
import re
import shlex

from tests.support.paths import REPO

DOCKERFILE = REPO / 'Dockerfile'
# The lock of each lane (see the Makefile): the image installs one of them.
LOCKS = {lane: REPO / 'requirements' / f'{lane}.lock' for lane in ('latest', 'legacy')}


@dataclasses.dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, COPY, RUN, ...
    args: str  # continuation lines joined


@dataclasses.dataclass(frozen=True)
class Build:
    """One way to build the image: build args, and the base image and lock they select."""

    args: dict[str, str]
    base_image: str  # FROM with the args substituted, e.g. '--platform=linux/amd64 python:...'
    lock: pathlib.Path  # the lock the install RUN installs

    @property
    def name(self) -> str:
        return ' '.join(f'{k}={v}' for k, v in sorted(self.args.items())) or 'defaults'


def instructions(path: pathlib.Path = DOCKERFILE) -> list[Instruction]:
    """The Dockerfile's instructions in order; comments dropped, continuations joined."""
    result, pending = [], ''
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith('#'):
            continue
        if stripped.endswith('\\'):
            pending += stripped[:-1] + ' '
            continue
        keyword, _, args = (pending + stripped).partition(' ')
        result.append(Instruction(keyword.upper(), ' '.join(args.split())))
        pending = ''
    return result


def copies(path: pathlib.Path = DOCKERFILE) -> list[tuple[list[str], str]]:
    """`(sources, destination)` of every COPY from the build context (not `--from=` stages)."""
    result = []
    for instruction in instructions(path):
        if instruction.keyword != 'COPY':
            continue
        words = shlex.split(instruction.args)
        if any(w.startswith('--from') for w in words):
            continue
        words = [w for w in words if not w.startswith('--')]
        result.append((words[:-1], words[-1]))
    return result


def runs(path: pathlib.Path = DOCKERFILE) -> list[list[str]]:
    """Each RUN as its `&&`-separated commands."""
    return [
        [command.strip() for command in i.args.split('&&')]
        for i in instructions(path)
        if i.keyword == 'RUN'
    ]


def global_args(path: pathlib.Path = DOCKERFILE) -> dict[str, str]:
    """`{name: default}` of the ARGs before the first FROM (what FROM may use)."""
    result = {}
    for instruction in instructions(path):
        if instruction.keyword == 'FROM':
            break
        if instruction.keyword == 'ARG':
            name, _, default = instruction.args.partition('=')
            result[name] = default
    return result


def documented_build_args(path: pathlib.Path = DOCKERFILE) -> list[dict[str, str]]:
    """The `--build-arg`s of each `docker build` line in the header comment (continuations joined)."""
    header = []
    for line in path.read_text().splitlines():
        if not line.startswith('#'):
            break
        header.append(line.lstrip('#').strip())
    commands = ' '.join(line[:-1] if line.endswith('\\') else line + '\n' for line in header)
    return [
        dict(re.findall(r'--build-arg\s+(\w+)=(\S+)', command))
        for command in commands.splitlines()
        if 'docker build' in command
    ]


def _substitute(text: str, values: dict[str, str]) -> str:
    return re.sub(r'\$\{?(\w+)\}?', lambda m: values[m.group(1)], text)


def builds(path: pathlib.Path = DOCKERFILE) -> list[Build]:
    """The ARG defaults' build, then each other build the header's `docker build` lines document."""
    defaults = global_args(path)
    (base,) = [i.args for i in instructions(path) if i.keyword == 'FROM']
    result = []
    for args in [{}, *(args for args in documented_build_args(path) if args)]:
        unknown = set(args) - set(defaults)
        assert not unknown, (
            f'the header passes build args the Dockerfile does not declare: {unknown}'
        )
        values = {**defaults, **args}
        result.append(Build(args, _substitute(base, values), REPO / values['LOCK']))
    return result


def uv_version() -> str:
    """The uv version tools/make-venv installs into every environment."""
    text = (REPO / 'tools' / 'make-venv').read_text()
    match = re.search(r'^uv_version=(\S+)', text, re.M)
    assert match, 'tools/make-venv pins no uv_version'
    return match.group(1)


def lock_pins(path: pathlib.Path) -> dict[str, str]:
    """`{normalized name: version}` of every `name==version` line in the lock."""
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r'^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)', line)
        if match:
            pins[re.sub(r'[-_.]+', '-', match.group(1)).lower()] = match.group(2)
    return pins


def lock_header(path: pathlib.Path) -> str:
    """The `uv pip compile` command line the lock records (its Python and platform)."""
    return next(line for line in path.read_text().splitlines() if 'uv pip compile' in line)


def running_lock() -> pathlib.Path:
    """The lock of the lane this interpreter is: the one whose tfx pin is the installed tfx."""
    installed = importlib.metadata.version('tfx')
    matches = [path for path in LOCKS.values() if lock_pins(path)['tfx'] == installed]
    assert len(matches) == 1, f'tfx {installed} is pinned by {len(matches)} of {sorted(LOCKS)}'
    return matches[0]


def installed_packages() -> dict[str, str]:
    """Import name -> repository folder of each package setup.py installs (read, not run)."""
    constants = {}
    for node in ast.parse((REPO / 'setup.py').read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            with contextlib.suppress(ValueError):
                constants[node.targets[0].id] = ast.literal_eval(node.value)
    namespace, folders = constants['NAMESPACE'], constants['FOLDERS']
    return {'savedmodel_estimator': 'savedmodel_estimator'} | {
        f'{namespace}.{folder}': folder for folder in folders
    }


def repository_path(module: str) -> str | None:
    """Where an installed module of ours is in the repository (None: not ours)."""
    for name, folder in installed_packages().items():
        if module == name or module.startswith(name + '.'):
            return folder + module[len(name) :].replace('.', '/')
    return None
