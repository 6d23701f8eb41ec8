"""What each environment collects, and the outcomes a `make test` suite records."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

from tests.support.paths import REPO

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')


def _missing(module: str) -> bool:
    return importlib.util.find_spec(module) is None


# The core's tests run in all three environments; the rest need the main stack (.venv). Files
# whose imports an environment lacks are not collected there, rather than failing to import.
collect_ignore_glob = []
if _missing('tfx'):
    collect_ignore_glob += ['integration/*', 'e2e/*', 'unit/test_constants_agree.py']
if _missing('apache_beam'):
    collect_ignore_glob += ['unit/test_beam_*']


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:  # tensorflow-estimator is installed beside TF 2.16 by TFX, but breaks
        return False
    return True


if not _importable('tensorflow_estimator'):  # the reference suite runs in .venv-reference
    collect_ignore_glob += ['conformance/test_side_by_side*.py', 'conformance/*_vs_original.py']
if _missing('jsonschema'):
    collect_ignore_glob += ['unit/test_metric_thresholds.py']

# What a `make test` suite ran, for tools/suite_report.py: every test's outcome, written to
# tests/.lanes/<suite>.outcomes.json when SME_SUITE names the suite (tools/timed sets it). The
# report compares it with tests/suites.json, so a suite whose files stop being collected fails.
_OUTCOMES: dict[str, str] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == 'call' or (report.when == 'setup' and not report.passed):
        outcome = 'error' if report.when == 'setup' and report.failed else report.outcome
        _OUTCOMES[report.nodeid] = outcome
    elif report.when == 'teardown' and report.failed:
        _OUTCOMES[report.nodeid] = 'error'


def pytest_sessionfinish(session: pytest.Session) -> None:
    suite = os.environ.get('SME_SUITE')
    if not suite or hasattr(session.config, 'workerinput'):
        return
    lanes = REPO / 'tests' / '.lanes'
    lanes.mkdir(parents=True, exist_ok=True)
    record = {'markexpr': session.config.option.markexpr, 'outcomes': _OUTCOMES}
    (lanes / f'{suite}.outcomes.json').write_text(json.dumps(record, indent=1, sort_keys=True))
