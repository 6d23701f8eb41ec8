"""EstimatorEvaluator's parameters as one typed value, checked once: from the component, the
executor's exec properties, or `sme evaluate`. Defaults are the spec's."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from savedmodel_estimator_tfx.components.common import parameters
from savedmodel_estimator_tfx.components.estimator_evaluator import spec, thresholds
from savedmodel_estimator_tfx.components.estimator_evaluator.thresholds import MetricThreshold

COMPONENT = 'EstimatorEvaluator'


@dataclasses.dataclass(frozen=True)
class EvalOptions:
    """How EstimatorEvaluator evaluates; see `EstimatorEvaluator` for each field."""

    eval_splits: tuple[str, ...] = spec.DEFAULT_EVAL_SPLITS
    thresholds: tuple[MetricThreshold, ...] = ()
    batch_size: int = spec.DEFAULT_BATCH_SIZE
    steps: int | None = None

    def __post_init__(self) -> None:
        if not self.eval_splits:
            raise ValueError('EstimatorEvaluator() eval_splits must name at least one split.')
        if self.batch_size <= 0:
            raise ValueError(f'EstimatorEvaluator() batch_size must be > 0: {self.batch_size}.')
        if self.steps is not None and self.steps <= 0:
            raise ValueError(f'EstimatorEvaluator() steps must be > 0 when given: {self.steps}.')
        object.__setattr__(self, 'eval_splits', tuple(self.eval_splits))
        object.__setattr__(self, 'thresholds', tuple(self.thresholds))

    @classmethod
    def from_exec_properties(cls, props: Mapping[str, Any]) -> EvalOptions:
        """The typed options from the execution properties (ints may arrive as floats from kfp).

        Raises:
            UnknownParameterError: (a TypeError) a key the evaluator does not take.
            ValueError: a parameter is malformed, naming it and what was expected.
        """
        parameters.check_known(COMPONENT, props, spec.EstimatorEvaluatorSpec.PARAMETERS)
        splits = parameters.split_names(
            COMPONENT, props, spec.EVAL_SPLITS_KEY, spec.DEFAULT_EVAL_SPLITS
        )
        batch_size = parameters.optional_int(props.get(spec.BATCH_SIZE_KEY))
        return cls(
            eval_splits=splits,
            thresholds=thresholds.parse_thresholds(props.get(spec.METRIC_THRESHOLDS_KEY) or '{}'),
            batch_size=spec.DEFAULT_BATCH_SIZE if batch_size is None else batch_size,
            steps=parameters.optional_int(props.get(spec.STEPS_KEY)),
        )
