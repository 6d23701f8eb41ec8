"""Metric thresholds: parsed from JSON (checked against a schema), checked, and decided on.

The semantics are TFMA's GenericValueThreshold and GenericChangeThreshold, so a threshold means
here what it means to the TFX Evaluator. No TensorFlow or TFX here.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jsonschema

from savedmodel_estimator_tfx.schemas import load_schema

SCHEMA_NAME = 'metric_thresholds'
HIGHER_IS_BETTER = 'higher_is_better'
LOWER_IS_BETTER = 'lower_is_better'
# What evaluation returns besides the exported `metrics/<name>` values.
ALWAYS_RETURNED = ('loss', 'global_step')
_METRIC_VALUE_SUFFIX = '/value'


@dataclasses.dataclass(frozen=True)
class ChangeThreshold:
    direction: str
    absolute: float | None = None
    relative: float | None = None


@dataclasses.dataclass(frozen=True)
class MetricThreshold:
    metric: str
    lower_bound: float | None = None
    upper_bound: float | None = None
    change: ChangeThreshold | None = None


@dataclasses.dataclass(frozen=True)
class Check:
    """One comparison: a bound on the value, or on the change against the baseline.

    `passed` is None when the check could not run (a change threshold without a baseline).
    `value` is what was compared: the metric, the difference, or the relative difference.
    """

    metric: str
    kind: str  # lower_bound, upper_bound, change_absolute or change_relative
    bound: float
    value: float | None
    passed: bool | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_thresholds(text: str) -> tuple[MetricThreshold, ...]:
    """Parses and validates the `metric_thresholds` JSON.

    Raises:
        ValueError: not JSON, not valid against the schema, or a lower bound above its upper.
    """
    try:
        raw = json.loads(text or '{}')
    except json.JSONDecodeError as err:
        raise ValueError(f'metric_thresholds is not valid JSON ({err}): {text!r}.') from err
    schema = load_schema(SCHEMA_NAME)
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(raw)
    )
    if error is not None:
        where = '/'.join(str(p) for p in error.absolute_path) or 'the top level'
        example = json.dumps(schema['examples'][0])
        raise ValueError(
            f'metric_thresholds is invalid at {where}: {error.message}. Expected a JSON object '
            f'like {example} (see schemas/{SCHEMA_NAME}.schema.json).'
        ) from None
    thresholds = []
    for metric, entry in raw.items():
        change = entry.get('change')
        threshold = MetricThreshold(
            metric,
            entry.get('lower_bound'),
            entry.get('upper_bound'),
            ChangeThreshold(**change) if change else None,
        )
        low, high = threshold.lower_bound, threshold.upper_bound
        if low is not None and high is not None and low > high:
            raise ValueError(
                f'metric_thresholds for {metric!r} has lower_bound {low} above upper_bound {high}.'
            )
        thresholds.append(threshold)
    return tuple(thresholds)


def exported_metric_names(eval_output_keys: Iterable[str]) -> list[str]:
    """The metrics an eval signature with these output keys makes evaluation return.

    `metrics/<name>` for each `metrics/<name>/value` output (as Estimator exports them), plus
    `loss` and `global_step`, which evaluation always returns.
    """
    names = {
        key[: -len(_METRIC_VALUE_SUFFIX)]
        for key in eval_output_keys
        if key.startswith('metrics/') and key.endswith(_METRIC_VALUE_SUFFIX)
    }
    return sorted({*names, *ALWAYS_RETURNED})


def check_metric_names(
    thresholds: Sequence[MetricThreshold], exported: Sequence[str], where: str, baseline: bool
) -> None:
    """Checks that every threshold (or every change threshold, for a baseline) names a metric
    the model exports.

    Raises:
        ValueError: naming the metric and listing the ones the model exports.
    """
    for threshold in thresholds:
        if baseline and threshold.change is None:
            continue
        if threshold.metric not in exported:
            role = 'baseline model' if baseline else 'model'
            close = difflib.get_close_matches(threshold.metric, list(exported), n=1)
            hint = f' Did you mean {close[0]!r}?' if close else ''
            raise ValueError(
                f'metric_thresholds names {threshold.metric!r}, which the {role} at {where!r} '
                f'does not export. Its metrics: {sorted(exported)}.{hint}'
            )


def _scalar(metrics: Mapping[str, Any], name: str, role: str) -> float:
    value = metrics[name]
    try:
        return float(value)
    except TypeError as err:
        raise ValueError(
            f'Metric {name!r} of the {role} is not a number ({value!r}): thresholds apply to '
            'scalar metrics only.'
        ) from err


def _bound_checks(threshold: MetricThreshold, value: float) -> list[Check]:
    checks = []
    name = threshold.metric
    if threshold.lower_bound is not None:
        ok = value >= threshold.lower_bound
        text = 'is at least' if ok else 'is below'
        message = f'{name} = {value:.6g} {text} lower_bound {threshold.lower_bound:g}'
        checks.append(Check(name, 'lower_bound', threshold.lower_bound, value, ok, message))
    if threshold.upper_bound is not None:
        ok = value <= threshold.upper_bound
        text = 'is at most' if ok else 'is above'
        message = f'{name} = {value:.6g} {text} upper_bound {threshold.upper_bound:g}'
        checks.append(Check(name, 'upper_bound', threshold.upper_bound, value, ok, message))
    return checks


def _change_checks(
    change: ChangeThreshold, name: str, current: float, base: float | None
) -> list[Check]:
    higher = change.direction == HIGHER_IS_BETTER
    wanted = '>=' if higher else '<='
    bounds = [('change_absolute', change.absolute), ('change_relative', change.relative)]
    checks = []
    for kind, bound in bounds:
        if bound is None:
            continue
        if base is None:
            message = f'{name} {kind} not checked: no baseline_model was given'
            checks.append(Check(name, kind, bound, None, None, message))
            continue
        diff = current - base
        value = diff if kind == 'change_absolute' else (math.nan if base == 0 else diff / base)
        ok = value >= bound if higher else value <= bound
        what = 'changed by' if kind == 'change_absolute' else 'changed relatively by'
        message = (
            f'{name} {what} {value:.6g} against the baseline ({base:.6g} -> {current:.6g}); '
            f'{change.direction} needs {wanted} {bound:g}'
        )
        if kind == 'change_relative' and base == 0:
            message += ' (the baseline is 0, so the relative change is undefined)'
        checks.append(Check(name, kind, bound, value, ok, message))
    return checks


def check_thresholds(
    thresholds: Sequence[MetricThreshold],
    current: Mapping[str, Any],
    baseline: Mapping[str, Any] | None,
) -> list[Check]:
    """Every comparison the thresholds ask for, in order."""
    checks: list[Check] = []
    for threshold in thresholds:
        value = _scalar(current, threshold.metric, 'model')
        checks.extend(_bound_checks(threshold, value))
        if threshold.change is not None:
            base = None if baseline is None else _scalar(baseline, threshold.metric, 'baseline')
            checks.extend(_change_checks(threshold.change, threshold.metric, value, base))
    return checks


def decide(checks: Sequence[Check], thresholds: Sequence[MetricThreshold]) -> tuple[bool, str]:
    """Whether the model is blessed, and why, in a sentence a person reads."""
    if not thresholds:
        return False, (
            'NOT_BLESSED: no metric_thresholds were given, and a model is blessed only against '
            'thresholds (set metric_thresholds to bless models).'
        )
    failed = [c for c in checks if c.passed is False]
    run = [c for c in checks if c.passed is not None]
    skipped = len(checks) - len(run)
    note = f'; {skipped} change checks not run: no baseline_model was given' if skipped else ''
    if failed:
        details = '; '.join(c.message for c in failed)
        return False, f'NOT_BLESSED: {len(failed)} of {len(run)} checks failed: {details}{note}.'
    if not run:
        return True, f'BLESSED (rubber stamp, as the TFX Evaluator does){note}.'
    return True, f'BLESSED: all {len(run)} checks passed{note}.'
