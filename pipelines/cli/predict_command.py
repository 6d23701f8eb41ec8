"""`sme predict`: batch-predict tf.Examples with Beam; PredictionLogs (and rows)."""

from __future__ import annotations

import click

from savedmodel_estimator_tfx.pipelines.cli.common import run_stage


@click.command()
@click.option('--model', required=True, help='Model artifact directory or SavedModel directory.')
@click.option('--examples', required=True, help='Directory of Split-<name>/ TFRecord folders.')
@click.option('--out', required=True, help='InferenceResult directory to write.')
@click.option('--blessing', help='Blessing directory; predictions are skipped if NOT_BLESSED.')
@click.option('--signature', 'signature_name', help='Signature to run [serving_default].')
@click.option('--split', 'splits', multiple=True, help='Split(s) to predict [all].')
@click.option(
    '--format', 'formats', multiple=True, type=click.Choice(['prediction_log', 'jsonl', 'parquet'])
)
@click.option('--passthrough', multiple=True, help='Feature to copy beside each prediction.')
@click.option('--max-batch-size', type=int)
@click.option('--beam-arg', 'beam_args', multiple=True, help='Passed to Beam.')
def predict(
    model: str,
    examples: str,
    out: str,
    blessing: str | None,
    signature_name: str | None,
    splits: tuple[str, ...],
    formats: tuple[str, ...],
    passthrough: tuple[str, ...],
    max_batch_size: int | None,
    beam_args: tuple[str, ...],
) -> None:
    """Batch-predict tf.Examples with Beam; write PredictionLogs (and rows)."""
    from savedmodel_estimator_tfx.components.batch_predictor.options import PredictOptions
    from savedmodel_estimator_tfx.pipelines import stages

    def stage() -> dict:
        # Flags not given keep the options' defaults (the component's).
        given = {
            'signature_name': signature_name or None,
            'splits': splits or None,
            'output_formats': formats or None,
            'passthrough_features': passthrough or None,
            'max_batch_size': max_batch_size,
        }
        options = PredictOptions(**{k: v for k, v in given.items() if v is not None})
        return stages.run_predict(
            options, model, examples, out, blessing=blessing, beam_pipeline_args=beam_args
        )

    run_stage('predict', out, stage)
