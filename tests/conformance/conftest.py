"""Fixtures of the side-by-side tests (the original and ours in one process)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance import fixture_data

pytest.register_assert_rewrite('tests.conformance.side_by_side')
from tests.conformance.side_by_side import Compare  # noqa: E402


@pytest.fixture(scope='session')
def side_by_side_log():
    """Each test's largest difference; written to tests/.conformance/ when the session ends."""
    results: dict[str, dict[str, Any]] = {}
    yield results
    if results:
        fixture_data.write_conformance('side_by_side', results)


@pytest.fixture
def compare(request, side_by_side_log) -> Compare:
    """A `Compare` whose largest difference is logged under the test's name if it passes."""
    comparison = Compare()
    yield comparison
    report = getattr(request.node, 'rep_call', None)
    side_by_side_log[request.node.name] = {
        'passed': bool(report and report.passed),
        'max_abs_diff': comparison.max_abs_diff,
    }


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == 'call':
        item.rep_call = report
    return report


@pytest.fixture(scope='session', autouse=True)
def outcomes_log():
    """Every conformance test's outcome, by test id; CONFORMANCE.md counts scenarios from it."""
    outcomes: dict[str, dict[str, Any]] = {}
    yield outcomes
    if outcomes:
        fixture_data.write_conformance('outcomes', outcomes)


@pytest.fixture(autouse=True)
def _record_outcome(request, outcomes_log):
    yield
    report = getattr(request.node, 'rep_call', None)
    if report is not None:
        outcomes_log[request.node.nodeid] = {'outcome': report.outcome}
