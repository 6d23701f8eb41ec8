"""tools/suite_report.py: a suite that ran too little fails `make test`, whatever pytest said."""

from __future__ import annotations

import importlib.util
import json
import pathlib

import pytest

pytestmark = pytest.mark.core

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def report(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location(
        'suite_report', ROOT / 'tools' / 'suite_report.py'
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, 'LANES', tmp_path)
    return module


def record(lanes: pathlib.Path, suite: str, status: str, outcomes: dict[str, str]) -> None:
    (lanes / suite).write_text(status + '\n')
    (lanes / f'{suite}.outcomes.json').write_text(json.dumps({'outcomes': outcomes}))


EXPECTED = {'what': 'x', 'min_passed': 2, 'files': ['tests/unit/test_suite_report.py']}
THIS = 'tests/unit/test_suite_report.py'


def test_a_suite_that_ran_what_it_must_passes(report, tmp_path):
    record(tmp_path, 's', 'passed in 3 s', {f'{THIS}::a': 'passed', f'{THIS}::b': 'passed'})
    assert report.check('s', EXPECTED) == ('passed in 3 s', [])


def test_fewer_passes_than_the_minimum_fail_even_when_pytest_passed(report, tmp_path):
    record(tmp_path, 's', 'passed in 3 s', {f'{THIS}::a': 'passed', f'{THIS}::b': 'skipped'})
    _, problems = report.check('s', EXPECTED)
    assert problems == ['1 tests passed, fewer than the 2 it must run']


def test_a_required_file_without_a_pass_fails(report, tmp_path):
    outcomes = {'tests/unit/other.py::a': 'passed', 'tests/unit/other.py::b': 'passed'}
    record(tmp_path, 's', 'passed in 3 s', outcomes)
    _, problems = report.check('s', EXPECTED)
    assert problems == [f'{THIS}: no test passed (not collected?)']


def test_a_suite_that_did_not_run_fails_and_one_skipped_on_request_does_not(report, tmp_path):
    assert report.check('s', EXPECTED) == ('DID NOT RUN', ['it did not run'])
    (tmp_path / 's').write_text('SKIPPED on request: SKIP_LANES=latest\n')
    assert report.check('s', EXPECTED) == ('SKIPPED on request: SKIP_LANES=latest', [])


def test_reference_only_files_are_left_out_of_the_lanes_by_their_module_mark(report):
    lanes = report.test_files(['tests/*/test_*.py', '!@module-marked:reference'])
    assert 'tests/conformance/test_side_by_side.py' not in lanes
    assert 'tests/conformance/test_estimator_exports.py' in lanes
    assert THIS in report.test_files(['@marked:core'])
