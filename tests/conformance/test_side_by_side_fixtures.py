"""Every golden export of tests/data/estimator_exports/ through the original and ours at once.

test_estimator_exports.py compares ours with the recorded reference.json; this compares ours
with the original running live in the same process (.venv-reference only), on the same calls:
evaluate, predict, train 20 steps, variables, evaluate and predict again, and the errors of a
predict-only export. It also checks that the live original still reproduces reference.json.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conformance import fixture_data
from tests.conformance.side_by_side import RTOL, Pair

pytestmark = pytest.mark.reference

# .venv has tensorflow-estimator 2.15 (a TFX dependency) that fails to import on TF 2.16: an
# ImportError, not a missing module, so it must skip too.
pytest.importorskip('tensorflow_estimator', exc_type=ImportError)
Original = pytest.importorskip(
    'tensorflow_estimator.python.estimator.canned.saved_model_estimator'
).SavedModelEstimator

N_PREDICT = 10
TRAIN_STEPS = 20


def assert_matches_reference(metrics, recorded) -> None:
    """The live original's evaluate() against what it returned when the fixture was made."""
    assert sorted(metrics) == sorted(recorded)
    for key, value in recorded.items():
        np.testing.assert_allclose(metrics[key], value, rtol=RTOL, err_msg=key)


@pytest.mark.parametrize('model', fixture_data.model_names())
def test_fixture_side_by_side(model, tmp_path, compare):
    reference = fixture_data.load_reference(model)
    recorded = reference['saved_model_estimator']
    saved_model_dir = fixture_data.copy_saved_model(
        fixture_data.EXPORTS / model / 'saved_model', tmp_path / 'saved_model'
    )
    pair = Pair.create(Original, saved_model_dir, tmp_path / 'model_dirs')
    train, evaluation = (fixture_data.read_examples(model, split) for split in ('train', 'eval'))
    train_fn = train.supervised_input_fn(repeat=True)
    eval_fn = evaluation.supervised_input_fn(repeat=False)
    predict_fn = evaluation.serving_input_fn(reference['export']['serving_input_key'], N_PREDICT)

    def evaluate(est):
        return est.evaluate(eval_fn, steps=1)

    def predict(est):
        return list(est.predict(predict_fn))

    assert pair.ours.available_modes == pair.theirs._available_modes
    compare.errors(pair, lambda est: est.get_variable_names())
    compare.predictions(*pair.both(predict))
    if 'train' not in recorded['available_modes']:
        compare.errors(pair, lambda est: est.train(train_fn, steps=TRAIN_STEPS))
        compare.errors(pair, evaluate)
        return

    metrics = pair.both(evaluate)
    compare.metrics(*metrics)
    assert_matches_reference(metrics[0], recorded['evaluate_before_train'])
    pair.both(lambda est: est.train(train_fn, steps=TRAIN_STEPS))
    compare.global_step(pair, recorded['global_step_after_train'])
    compare.variables(pair)
    metrics = pair.both(evaluate)
    compare.metrics(*metrics)
    assert_matches_reference(metrics[0], recorded['evaluate_after_train'])
    compare.predictions(*pair.both(predict))
