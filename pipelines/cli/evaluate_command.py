"""`sme evaluate`: the model's own eval graph (and the baseline's); metrics and a blessing."""

from __future__ import annotations

import json

import click

from savedmodel_estimator_tfx.pipelines.cli.common import parse_thresholds, run_stage


@click.command()
@click.option('--model', required=True, help='Model artifact directory or SavedModel directory.')
@click.option('--examples', required=True, help='Directory of Split-<name>/ TFRecord folders.')
@click.option('--out', required=True, help='ModelEvaluation directory to write.')
@click.option('--blessing-out', required=True, help='ModelBlessing directory to write.')
@click.option('--baseline', help='Baseline model to compare with.')
@click.option(
    '--threshold',
    'threshold_flags',
    multiple=True,
    help='e.g. metrics/accuracy>=0.6, loss<=1, loss:change<=0.',
)
@click.option('--split', 'splits', multiple=True, help='Split(s) to evaluate on [eval].')
@click.option('--batch-size', type=int)
@click.option('--allow-non-finite', is_flag=True, help='Evaluate on NaN or infinite values.')
def evaluate(
    model: str,
    examples: str,
    out: str,
    blessing_out: str,
    baseline: str | None,
    threshold_flags: tuple[str, ...],
    splits: tuple[str, ...],
    batch_size: int | None,
    allow_non_finite: bool,
) -> None:
    """Run the model's own eval graph (and the baseline's); write metrics and a blessing."""
    from savedmodel_estimator_tfx.components.estimator_evaluator import options, thresholds
    from savedmodel_estimator_tfx.pipelines import stages

    given = parse_thresholds(threshold_flags) if threshold_flags else {}

    def stage() -> dict:
        eval_options = options.EvalOptions(
            eval_splits=splits or options.EvalOptions.eval_splits,
            thresholds=thresholds.parse_thresholds(json.dumps(given)),
            # A batch size of 0 (or none) is the component's default, as in the pipeline.
            batch_size=batch_size or options.EvalOptions.batch_size,
        )
        return stages.run_evaluate(
            eval_options,
            model,
            examples,
            out,
            blessing_out,
            baseline=baseline,
            allow_non_finite=allow_non_finite,
        )

    run_stage('evaluate', out, stage)
