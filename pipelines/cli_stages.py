"""`sme import|train|evaluate|predict`: each pipeline stage alone, on plain directories."""

from __future__ import annotations

import json
from typing import Any

import click

from pipelines.cli_common import EXIT_FAILED, console, fail, json_list, parse_thresholds


def _run_stage(name: str, out: str, fn: Any, *args: Any, **kwargs: Any) -> None:
    """Runs one stage with progress lines; prints its outputs' properties as JSON.

    Bad input exits 2 with its message; a full disk exits 1 naming the path.
    """
    from pipelines import failures
    from pipelines.progress import progress_to

    try:
        with progress_to(lambda line: console.print(line)):
            outputs = fn(*args, **kwargs)
    except Exception as err:
        if failures.is_disk_full(err):
            fail(f'{name}: {failures.disk_full_message(err, out, None)}', EXIT_FAILED)
        if isinstance(err, (ValueError, RuntimeError, FileNotFoundError)):
            fail(f'{name}: {err}')
        raise
    click.echo(json.dumps(outputs, indent=2, sort_keys=True, default=str))


@click.command(name='import')
@click.argument('source')
@click.option('--out', required=True, help='Model artifact directory to write (Format-Serving/).')
@click.option(
    '--require-mode', 'modes', multiple=True, type=click.Choice(['train', 'eval', 'infer'])
)
@click.option('--allow-op', 'allowed', multiple=True, help='Op type the scan may let through.')
@click.option('--schema-out', help='Also write a Schema inferred from the signatures here.')
def import_command(
    source: str, out: str, modes: tuple[str, ...], allowed: tuple[str, ...], schema_out: str | None
) -> None:
    """Validate and scan the SavedModel at SOURCE and copy it into a Model artifact at --out."""
    from pipelines import stages

    _run_stage(
        'import',
        out,
        stages.run_import,
        source,
        out,
        required_modes=modes,
        allow_unsafe_ops=allowed,
        emit_schema=schema_out,
    )


@click.command()
@click.option('--model', required=True, help='Model artifact directory or SavedModel directory.')
@click.option('--examples', required=True, help='Directory of Split-<name>/ TFRecord folders.')
@click.option('--out', required=True, help='Model artifact directory to write.')
@click.option('--run-dir', required=True, help='ModelRun directory: checkpoints, TensorBoard logs.')
@click.option('--train-steps', type=int, help="Steps beyond the model's global step.")
@click.option('--max-steps', type=int, help='Train until this global step.')
@click.option('--batch-size', type=int)
@click.option('--shuffle-buffer', type=int)
@click.option('--split', 'splits', multiple=True, help='Split(s) to train on [train].')
@click.option(
    '--checkpoint-dir', help='Where checkpoints survive a crash; a rerun resumes from them.'
)
@click.option('--save-checkpoints-steps', type=int, help='Checkpoint every N steps.')
@click.option('--save-checkpoints-secs', type=int, help='Or every N seconds [600].')
@click.option('--keep-checkpoint-max', type=int, help='Checkpoints to keep [5].')
@click.option(
    '--allow-non-finite', is_flag=True, default=None, help='Train on NaN or infinite values.'
)
def train(
    model: str,
    examples: str,
    out: str,
    run_dir: str,
    splits: tuple[str, ...],
    **options: Any,
) -> None:
    """Continue training a model on tf.Examples; write the trained model and its run."""
    from pipelines import stages

    _run_stage(
        'train',
        out,
        stages.run_train,
        model,
        examples,
        out,
        run_dir,
        train_splits=json_list(splits),
        **options,
    )


@click.command()
@click.option('--model', required=True, help='Model artifact directory or SavedModel directory.')
@click.option('--examples', required=True, help='Directory of Split-<name>/ TFRecord folders.')
@click.option('--out', required=True, help='ModelEvaluation directory to write.')
@click.option('--blessing-out', required=True, help='ModelBlessing directory to write.')
@click.option('--baseline', help='Baseline model to compare with.')
@click.option(
    '--threshold',
    'thresholds',
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
    thresholds: tuple[str, ...],
    splits: tuple[str, ...],
    batch_size: int | None,
    allow_non_finite: bool,
) -> None:
    """Run the model's own eval graph (and the baseline's); write metrics and a blessing."""
    from pipelines import stages

    _run_stage(
        'evaluate',
        out,
        stages.run_evaluate,
        model,
        examples,
        out,
        blessing_out,
        baseline=baseline,
        metric_thresholds=json.dumps(parse_thresholds(thresholds)) if thresholds else None,
        eval_splits=splits or ('eval',),
        batch_size=batch_size,
        allow_non_finite=allow_non_finite,
    )


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
    from pipelines import stages

    _run_stage(
        'predict',
        out,
        stages.run_predict,
        model,
        examples,
        out,
        blessing=blessing,
        beam_pipeline_args=beam_args,
        signature_name=signature_name,
        splits=json_list(splits),
        output_formats=json_list(formats),
        passthrough_features=json_list(passthrough),
        max_batch_size=max_batch_size,
    )


COMMANDS = (import_command, train, evaluate, predict)
