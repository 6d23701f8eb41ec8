"""The end of `make test`: what each suite ran, where, how long it took, and whether that is enough.

Each suite states in tests/suites.json the test files it must run and the fewest tests that must
pass. A suite fails here when it failed, did not run, passed fewer tests than that, or ran a
required file without a passing test: an environment whose imports break (tensorflow-estimator
in the reference environment, tfx on a lane) leaves its files uncollected, and pytest alone would
still exit 0. A suite skipped on request (SKIP_LANES) is reported as skipped, not failed.

Reads tests/.lanes/<suite> (tools/timed: state, seconds, pytest's summary) and
tests/.lanes/<suite>.outcomes.json (tests/conftest.py: every test's outcome). Standard library only.
"""

from __future__ import annotations

import fnmatch
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LANES = ROOT / 'tests' / '.lanes'
EXPECTED = ROOT / 'tests' / 'suites.json'


def _matches(path: str, pattern: str) -> bool:
    """A glob relative to ROOT; '@marked:NAME': a file that applies `pytest.mark.NAME` to some
    test; '@module-marked:NAME': a file whose `pytestmark` line applies it to every test."""
    kind, _, mark = pattern.partition(':')
    if kind == '@marked':
        return f'pytest.mark.{mark}' in (ROOT / path).read_text()
    if kind == '@module-marked':
        lines = (ROOT / path).read_text().splitlines()
        return any(
            line.startswith('pytestmark') and f'pytest.mark.{mark}' in line for line in lines
        )
    return fnmatch.fnmatch(path, pattern)


def test_files(patterns: list[str]) -> list[str]:
    """The test files on disk that the patterns name ('!pattern' excludes), relative to ROOT."""
    everything = sorted(str(p.relative_to(ROOT)) for p in (ROOT / 'tests').rglob('test_*.py'))
    wanted = [p for p in patterns if not p.startswith('!')]
    unwanted = [p[1:] for p in patterns if p.startswith('!')]
    return [
        path
        for path in everything
        if any(_matches(path, p) for p in wanted) and not any(_matches(path, p) for p in unwanted)
    ]


def check(suite: str, expected: dict) -> tuple[str, list[str]]:
    """(the suite's status line, its problems)."""
    timing = LANES / suite
    if not timing.is_file():
        return 'DID NOT RUN', ['it did not run']
    status = timing.read_text().strip()
    if status.startswith('SKIPPED'):
        return status, []
    problems = [] if status.startswith('passed') else ['pytest failed']
    outcomes_path = LANES / f'{suite}.outcomes.json'
    if not outcomes_path.is_file():
        return status, [*problems, f'no record of its tests ({outcomes_path.name})']
    outcomes = json.loads(outcomes_path.read_text())['outcomes']
    passed = [node for node, outcome in outcomes.items() if outcome == 'passed']
    if len(passed) < expected['min_passed']:
        problems.append(
            f'{len(passed)} tests passed, fewer than the {expected["min_passed"]} it must run'
        )
    passed_files = {node.split('::', 1)[0] for node in passed}
    missing = [path for path in test_files(expected['files']) if path not in passed_files]
    problems += [f'{path}: no test passed (not collected?)' for path in missing]
    return status, problems


def main() -> int:
    expected = json.loads(EXPECTED.read_text())
    failed = False
    print('make test: suites')
    for suite, spec in expected.items():
        status, problems = check(suite, spec)
        print(f'  {suite:<10} {status}  ({spec["what"]})')
        for problem in problems:
            print(f'  {"":<10} FAILS: {problem}')
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
