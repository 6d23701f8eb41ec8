"""Metric thresholds: parsing against the schema, TFMA's comparison rules, the decision."""

from __future__ import annotations

import math

import pytest

from savedmodel_estimator_tfx.components.estimator_evaluator import thresholds as th


def test_parses_bounds_and_change() -> None:
    (accuracy, loss) = th.parse_thresholds(
        '{"metrics/accuracy": {"lower_bound": 0.5, "change": {"direction": "higher_is_better",'
        ' "relative": 0.01}}, "loss": {"upper_bound": 2}}'
    )
    assert accuracy == th.MetricThreshold(
        'metrics/accuracy', 0.5, None, th.ChangeThreshold('higher_is_better', None, 0.01)
    )
    assert loss == th.MetricThreshold('loss', None, 2)


@pytest.mark.parametrize(
    ('text', 'match'),
    [
        ('{"loss": ', r'metric_thresholds is not valid JSON'),
        ('[1]', r'invalid at the top level: \[1\] is not of type .object.'),
        ('{"loss": {}}', r'invalid at loss: \{\} should be non-empty'),
        ('{"loss": {"change": {"direction": "lower_is_better"}}}', r'invalid at loss/change'),
        ('{"loss": {"lower_bound": "1"}}', r"invalid at loss/lower_bound: '1' is not of type"),
    ],
)
def test_rejects_malformed_thresholds(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        th.parse_thresholds(text)


def test_change_follows_tfma_rules_in_both_directions() -> None:
    higher = th.MetricThreshold('m', change=th.ChangeThreshold('higher_is_better', 0.0, 0.1))
    lower = th.MetricThreshold('m', change=th.ChangeThreshold('lower_is_better', 0.0, -0.1))
    up = th.check_thresholds([higher, lower], {'m': 1.2}, {'m': 1.0})
    assert [(c.kind, c.passed) for c in up] == [
        ('change_absolute', True),
        ('change_relative', True),
        ('change_absolute', False),
        ('change_relative', False),
    ]
    assert up[1].value == pytest.approx(0.2)


def test_relative_change_against_a_zero_baseline_fails_and_says_why() -> None:
    threshold = th.MetricThreshold('m', change=th.ChangeThreshold('higher_is_better', None, 0.0))
    (check,) = th.check_thresholds([threshold], {'m': 1.0}, {'m': 0.0})
    assert check.passed is False and math.isnan(check.value or 0.0)
    assert 'the baseline is 0, so the relative change is undefined' in check.message


def test_a_nan_metric_fails_its_bounds() -> None:
    (check,) = th.check_thresholds([th.MetricThreshold('m', 0.0)], {'m': math.nan}, None)
    assert check.passed is False


def test_decision_and_reasons() -> None:
    bound = th.MetricThreshold('m', lower_bound=0.5)
    change = th.MetricThreshold('m', change=th.ChangeThreshold('higher_is_better', 0.0))
    assert th.decide([], [])[0] is False
    checks = th.check_thresholds([bound, change], {'m': 0.7}, None)
    assert th.decide(checks, [bound, change]) == (
        True,
        'BLESSED: all 1 checks passed; 1 change checks not run: no baseline_model was given.',
    )
    blessed, reason = th.decide(th.check_thresholds([change], {'m': 0.7}, None), [change])
    assert blessed and reason.startswith('BLESSED (rubber stamp')
    blessed, reason = th.decide(th.check_thresholds([bound], {'m': 0.2}, None), [bound])
    assert not blessed
    assert reason == 'NOT_BLESSED: 1 of 1 checks failed: m = 0.2 is below lower_bound 0.5.'
