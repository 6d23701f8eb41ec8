"""Each golden export replayed with our SavedModelEstimator, against what the original returned.

For every model in tests/data/estimator_exports/ the test repeats, on a fresh model_dir, the calls
that made the model's reference.json (see its `saved_model_estimator` section) and compares every
result. The checks of one model all run, so one failure does not hide the next; the maximum
absolute difference and the pass/fail counts go to tests/.conformance/ for CONFORMANCE.md.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from savedmodel_estimator import SavedModelEstimator
from tests.conformance import fixture_data

pytestmark = pytest.mark.core

SUITE = 'estimator_exports'
# float32 keeps ~7 significant digits; a different kernel or op order (oneDNN, TF 2.16 vs 2.15)
# may change the last one or two after 20 training steps.
RTOL = 1e-5
# Values at or near 0 (a bias no gradient reached, an Adagrad/Adam slot of 1e-5) have no relative
# precision to speak of: they are differences of terms of order 1 to 10, whose float32 rounding
# error is up to ~1e-6 (one ulp at 8 is 9.5e-7).
ATOL = 1e-6
N_PREDICT = 10
TRAIN_STEPS = 20


class Checks:
    """Runs a model's checks one after another and keeps score, so a replay reports every miss."""

    def __init__(self) -> None:
        self.passed = 0
        self.failures: list[str] = []
        self.max_abs_diff = 0.0
        self.max_abs_diff_by_check: dict[str, float] = {}
        self._name = ''

    @contextlib.contextmanager
    def check(self, name: str):
        self._name = name
        try:
            yield
        # A core bug of any kind (pytest.raises' Failed is a BaseException) is one failed check.
        except (Exception, pytest.fail.Exception) as err:
            self.failures.append(f'{name}: {type(err).__name__}: {err}')
        else:
            self.passed += 1

    def close(self, actual: Any, expected: Any, what: str) -> None:
        """Asserts `actual` equals the recorded `expected` (numbers to RTOL/ATOL, text exactly)."""
        actual, expected = np.asarray(actual), np.asarray(expected)
        assert actual.shape == expected.shape, f'{what}: shape {actual.shape} != {expected.shape}'
        if expected.dtype.kind == 'U':
            assert _text(actual) == expected.tolist(), what
            return
        # JSON keeps int and float apart: an int came from an integer tensor (global_step).
        assert actual.dtype.kind in ('iu' if expected.dtype.kind == 'i' else 'f'), (
            f'{what}: dtype {actual.dtype}, the original returned {expected.dtype.kind} kind'
        )
        diff = float(np.max(np.abs(actual.astype(np.float64) - expected), initial=0.0))
        self.max_abs_diff = max(self.max_abs_diff, diff)
        self.max_abs_diff_by_check[self._name] = max(
            self.max_abs_diff_by_check.get(self._name, 0.0), diff
        )
        np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)

    def summary(self) -> dict[str, Any]:
        return {
            'passed': self.passed,
            'failed': len(self.failures),
            'max_abs_diff': self.max_abs_diff,
            'max_abs_diff_by_check': self.max_abs_diff_by_check,
            'failures': self.failures,
        }


def _text(values: np.ndarray) -> list[Any]:
    return np.char.decode(values.astype(bytes), 'utf-8').tolist()


def compare_metrics(checks: Checks, actual: Mapping[str, Any], expected: Mapping[str, Any]):
    assert sorted(actual) == sorted(expected), f'metric keys {sorted(actual)}'
    for key, value in expected.items():
        checks.close(actual[key], value, f'evaluate()[{key!r}]')


def compare_predictions(checks: Checks, rows: list[Mapping[str, Any]], expected: Mapping):
    assert len(rows) == expected['n_rows'], f'{len(rows)} predictions'
    outputs = expected['outputs']
    assert all(sorted(row) == sorted(outputs) for row in rows), f'keys {sorted(rows[0])}'
    for key, values in outputs.items():
        checks.close(np.stack([row[key] for row in rows]), values, f'predict()[{key!r}]')


def expected_variable(model: str, recorded: Mapping[str, Any]) -> np.ndarray:
    if 'npz_key' not in recorded:
        return np.asarray(recorded['value'])
    with np.load(fixture_data.EXPORTS / model / 'variables_after_train.npz') as npz:
        return npz[recorded['npz_key']]


class Replay:
    """One model's reference calls against a fresh SavedModelEstimator."""

    def __init__(self, model: str, tmp_path, checks: Checks) -> None:
        self.model = model
        self.reference = fixture_data.load_reference(model)
        self.recorded = self.reference['saved_model_estimator']
        self.checks = checks
        self.saved_model_dir = fixture_data.copy_saved_model(
            fixture_data.EXPORTS / model / 'saved_model', tmp_path / 'saved_model'
        )
        self.model_dir = str(tmp_path / 'model_dir')
        os.mkdir(self.model_dir)  # the reference ran on an existing, empty model_dir
        self.estimator = SavedModelEstimator(self.saved_model_dir, model_dir=self.model_dir)
        self.train = fixture_data.read_examples(model, 'train')
        self.eval = fixture_data.read_examples(model, 'eval')

    def evaluate(self, name: str, expected: Mapping[str, Any]) -> None:
        with self.checks.check(name):
            results = self.estimator.evaluate(self.eval.supervised_input_fn(repeat=False), steps=1)
            compare_metrics(self.checks, results, expected)

    def predict(self, name: str, expected: Mapping[str, Any]) -> None:
        key = self.reference['export']['serving_input_key']
        with self.checks.check(name):
            rows = list(self.estimator.predict(self.eval.serving_input_fn(key, N_PREDICT)))
            compare_predictions(self.checks, rows, expected)

    def latest_checkpoint(self, base: str, expected: str) -> None:
        with self.checks.check(f'latest_checkpoint() is {expected}'):
            assert os.path.relpath(self.estimator.latest_checkpoint(), base) == expected

    def all_modes(self) -> None:
        recorded, est, check = self.recorded, self.estimator, self.checks.check
        with check('get_variable_names() before train()'):
            fixture_data.raises_like(
                recorded['get_variable_names_before_train'],
                est.get_variable_names,
                substitutions={'<model_dir>': self.model_dir},
            )
        self.latest_checkpoint(self.saved_model_dir, recorded['latest_checkpoint_before_train'])
        self.evaluate('evaluate() before train()', recorded['evaluate_before_train'])
        self.predict('predict() before train()', recorded['predictions_before_train'])
        with check(f'train(steps={TRAIN_STEPS})'):
            assert est.train(self.train.supervised_input_fn(repeat=True), steps=TRAIN_STEPS) is est
        self.latest_checkpoint(self.model_dir, recorded['latest_checkpoint_after_train'])
        with check('get_variable_names() after train()'):
            assert sorted(est.get_variable_names()) == sorted(
                recorded['variable_names_after_train']
            )
        with check('global_step after train()'):
            assert est.get_variable_value('global_step') == recorded['global_step_after_train']
        for name, variable in recorded['variables_after_train'].items():
            # Where the original raised (a slot saved one slice per name: FIXTURES.md), ours
            # returns the whole slot, recorded as the original's checkpoint holds it in slices.
            joined = (
                ' (joined from slices; the original raised)'
                if 'original_raises' in variable
                else ''
            )
            with check(f'variable {name}{joined}'):
                value = np.asarray(est.get_variable_value(name))
                assert str(value.dtype) == variable['dtype'], f'{name}: dtype {value.dtype}'
                self.checks.close(value, expected_variable(self.model, variable), name)
        self.evaluate('evaluate() after train()', recorded['evaluate_after_train'])
        self.predict('predict() after train()', recorded['predictions_after_train'])

    def predict_only(self) -> None:
        recorded, est, check = self.recorded, self.estimator, self.checks.check
        self.latest_checkpoint(self.saved_model_dir, recorded['latest_checkpoint_before_train'])
        self.predict('predict()', recorded['predictions'])
        train_fn = self.train.supervised_input_fn(repeat=True)
        with check('train() raises: no train MetaGraph'):
            fixture_data.raises_like(
                recorded['errors']['train'], est.train, train_fn, steps=TRAIN_STEPS
            )
        eval_fn = self.eval.supervised_input_fn(repeat=False)
        with check('evaluate() raises: no eval MetaGraph'):
            fixture_data.raises_like(recorded['errors']['evaluate'], est.evaluate, eval_fn, steps=1)
        with check('failed calls wrote no checkpoint'):
            written = sorted(
                n for n in os.listdir(self.model_dir) if 'ckpt' in n or n == 'checkpoint'
            )
            assert written == recorded['checkpoints_written_by_failed_calls']
        self.latest_checkpoint(self.saved_model_dir, recorded['latest_checkpoint_before_train'])


@pytest.fixture(scope='module')
def conformance():
    """Collects each model's summary; writes them to tests/.conformance/ when the module ends."""
    results: dict[str, dict[str, Any]] = {}
    yield results
    if results:
        fixture_data.write_conformance(SUITE, results)


@pytest.mark.parametrize('model', fixture_data.model_names())
def test_replays_reference(model, tmp_path, conformance):
    fixture_data.check_signature_inputs(fixture_data.load_reference(model))
    checks = Checks()
    replay = None
    with checks.check('SavedModelEstimator(saved_model_dir, model_dir)'):
        replay = Replay(model, tmp_path, checks)
    if replay is not None and 'train' in replay.recorded['available_modes']:
        replay.all_modes()
    elif replay is not None:
        assert replay.recorded['available_modes'] == ['infer']
        replay.predict_only()
    conformance[model] = checks.summary()
    total = checks.passed + len(checks.failures)
    heading = f'{len(checks.failures)} of {total} checks failed:'
    assert not checks.failures, '\n'.join([heading, *checks.failures])
