"""`sme train`: continue training a Model artifact on Split-<name>/ examples."""

from __future__ import annotations

from typing import Any

import click

from savedmodel_estimator_tfx.pipelines.cli.common import run_stage


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
    from savedmodel_estimator_tfx.components.continue_trainer.options import TrainOptions
    from savedmodel_estimator_tfx.pipelines import stages

    def stage() -> dict:
        # Flags not given keep the options' defaults (the component's).
        given = {name: value for name, value in options.items() if value is not None}
        if splits:
            given['train_splits'] = splits
        return stages.run_train(TrainOptions(**given), model, examples, out, run_dir)

    run_stage('train', out, stage)
