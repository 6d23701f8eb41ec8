"""The repository's Dockerfile, Makefile, lock and pyproject read as data, for static checks."""

from __future__ import annotations

import dataclasses
import pathlib
import re
import shlex

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = pathlib.Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / 'Dockerfile'
LOCK = REPO / 'requirements' / 'main.lock'


@dataclasses.dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, COPY, RUN, ...
    args: str  # continuation lines joined


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


def makefile_uv_version() -> str:
    match = re.search(r'^UV_VERSION\s*:?=\s*(\S+)', (REPO / 'Makefile').read_text(), re.M)
    assert match, 'the Makefile pins no UV_VERSION'
    return match.group(1)


def lock_pins(path: pathlib.Path = LOCK) -> dict[str, str]:
    """`{normalized name: version}` of every `name==version` line in the lock."""
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r'^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)', line)
        if match:
            pins[re.sub(r'[-_.]+', '-', match.group(1)).lower()] = match.group(2)
    return pins


def lock_header(path: pathlib.Path = LOCK) -> str:
    """The `uv pip compile` command line the lock records (its Python and platform)."""
    return next(line for line in path.read_text().splitlines() if 'uv pip compile' in line)


def setuptools_packages() -> list[str]:
    """Top-level packages pyproject's `[tool.setuptools.packages.find] include` names."""
    pyproject = tomllib.loads((REPO / 'pyproject.toml').read_text())
    include = pyproject['tool']['setuptools']['packages']['find']['include']
    return sorted({pattern.rstrip('*').rstrip('.') for pattern in include})
