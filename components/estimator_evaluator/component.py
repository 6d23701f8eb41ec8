"""EstimatorEvaluator: evaluate an Estimator export with its own eval graph, and bless it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts

from savedmodel_estimator_tfx.components.common.parameters import json_list
from savedmodel_estimator_tfx.components.estimator_evaluator import executor, spec
from savedmodel_estimator_tfx.components.estimator_evaluator.options import EvalOptions


class EstimatorEvaluator(base_component.BaseComponent):
    """Evaluates a model with the eval graph it was exported with, against thresholds.

    TFMA no longer runs an Estimator's eval graph (EvalSavedModel support was removed in 0.47),
    so this component runs it with the SavedModelEstimator core, over the eval split(s) to their
    end, for the model and for the baseline on the same data, then checks the thresholds with
    TFMA's semantics.

    Example:
        evaluator = EstimatorEvaluator(
            model=trainer.outputs['model'],
            examples=example_gen.outputs['examples'],
            baseline_model=importer.outputs['model'],
            metric_thresholds={
                'metrics/accuracy': {'lower_bound': 0.5,
                                     'change': {'direction': 'higher_is_better', 'absolute': 0}},
                'loss': {'upper_bound': 2.0},
            },
        )

    Outputs:
        evaluation: ModelEvaluation that `tfma.load_metrics(uri)`, `tfma.load_validation_result`
            and `tfma.load_eval_result` read (metrics named as the eval graph exports them),
            plus `metrics.json`: both models' metrics, every check, the blessing and why.
        blessing: ModelBlessing with the TFX Evaluator's contract (a `BLESSED` or
            `NOT_BLESSED` file; custom properties `blessed`, `current_model`,
            `current_model_id`, `baseline_model`, `baseline_model_id`), so the stock Pusher
            honours it. Unlike the TFX Evaluator, a blessing is always written, with
            `blessing_reason`; without any threshold the model is NOT_BLESSED, and change
            thresholds without a baseline are not checked (a rubber stamp, as in TFX).
    """

    SPEC_CLASS = spec.EstimatorEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        model: types.BaseChannel,
        examples: types.BaseChannel,
        baseline_model: types.BaseChannel | None = None,
        *,
        eval_splits: Sequence[str] = spec.DEFAULT_EVAL_SPLITS,
        metric_thresholds: Mapping[str, Any] | str | None = None,
        batch_size: int = spec.DEFAULT_BATCH_SIZE,
        steps: int | None = None,
    ) -> None:
        """Builds the component.

        Args:
            model: Model channel to evaluate (its SavedModel needs an eval MetaGraph).
            examples: Examples channel: gzip TFRecords of tf.Example under `Split-<name>/`.
            baseline_model: Optional Model channel to compare with on the same data.
            eval_splits: The splits to evaluate on, together.
            metric_thresholds: Per metric name, `lower_bound`, `upper_bound` and `change`
                (`direction`, `absolute`, `relative`): a dict or its JSON; see
                schemas/metric_thresholds.schema.json.
            batch_size: Examples per evaluation batch. Streaming metrics do not depend on it;
                `loss` (a mean of batch losses) does when the last batch is partial.
            steps: Evaluate only this many batches (default: to the end of the splits).
        """
        if metric_thresholds is None or isinstance(metric_thresholds, str):
            thresholds_json = metric_thresholds or '{}'
        else:
            thresholds_json = json.dumps(dict(metric_thresholds), sort_keys=True)
        parameters: dict[str, Any] = {
            spec.EVAL_SPLITS_KEY: json_list(eval_splits),
            spec.METRIC_THRESHOLDS_KEY: thresholds_json,
            spec.BATCH_SIZE_KEY: batch_size,
            spec.STEPS_KEY: steps,
        }
        given = {key: value for key, value in parameters.items() if value is not None}
        # Fail at pipeline construction, not in the executor (runtime parameters and
        # placeholders are checked when they have values, in the executor).
        if all(isinstance(value, int | str) for value in given.values()):
            EvalOptions.from_exec_properties(given)
        super().__init__(
            spec=spec.EstimatorEvaluatorSpec(
                model=model,
                examples=examples,
                baseline_model=baseline_model,
                evaluation=types.Channel(type=standard_artifacts.ModelEvaluation),
                blessing=types.Channel(type=standard_artifacts.ModelBlessing),
                **given,
            )
        )
