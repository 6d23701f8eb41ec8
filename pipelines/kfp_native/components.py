"""Container components over the `sme` stage commands: one stage each, on the artifacts' paths.

Each component is a declarative spec: the image, `sme <stage>` and its arguments, with kfp
placeholders where the launcher puts the artifacts' local paths (`/gcs/...` for `gs://` URIs)
and the parameters' values. The stage then runs exactly as `sme` runs it on plain directories.

On-disk layouts, as the stages read and write them:

- `dsl.Model`: a SavedModel at `<path>/Format-Serving/` (a bare SavedModel directory is read too).
- `dsl.Dataset` of examples: `<path>/Split-<name>/*.gz`, gzip TFRecords of tf.Example, as TFX's
  ExampleGen writes them.
- evaluation (`dsl.Artifact`): `metrics.json` plus TFMA-readable metrics and validations.
- blessing (`dsl.Artifact`): an empty `BLESSED` or `NOT_BLESSED` file.
- predictions (`dsl.Dataset`): `rows/Split-<name>/*.jsonl` (one JSON object per example) or
  `*.parquet`, and/or PredictionLog TFRecords, by `output_format`.
"""

import os
from typing import Optional

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Model, Output

# The image the repository's Dockerfile builds, pushed where the cluster can pull it. Read when
# this module is imported: set SME_IMAGE before compiling.
DEFAULT_IMAGE = 'savedmodel-estimator:0.1.0'
SME_IMAGE = os.environ.get('SME_IMAGE', DEFAULT_IMAGE)

# Optional inputs are `Optional[...]`: kfp 2.5 reads annotations at runtime and rejects `X | None`
# (TypeError: Artifacts must have both a schema_title and a schema_version ... Got: int | None).
# ruff: noqa: UP045


@dsl.container_component
def import_model(saved_model: Input[Model], model: Output[Model], require_mode: str = 'train'):
    """Validates and scans an Estimator export and copies it into a Model artifact.

    Args:
        saved_model: The SavedModel directory exported by tf.estimator.
        model: The imported model, at `Format-Serving/`.
        require_mode: A MetaGraph the export must have: train, eval or infer.
    """
    return dsl.ContainerSpec(
        image=SME_IMAGE,
        command=['sme', 'import'],
        args=[saved_model.path, '--out', model.path, '--require-mode', require_mode],
    )


@dsl.container_component
def continue_training(
    base_model: Input[Model],
    examples: Input[Dataset],
    model: Output[Model],
    model_run: Output[Artifact],
    train_steps: int,
    batch_size: Optional[int] = None,
    split: str = 'train',
):
    """Continues training a model on tf.Examples with its own train graph.

    Args:
        base_model: The model to train further (exported with a train MetaGraph).
        examples: `Split-<name>/` folders of gzip TFRecords of tf.Example.
        model: The original export with the trained variables, every signature kept.
        model_run: Checkpoints and TensorBoard logs.
        train_steps: Steps beyond the base model's global step.
        batch_size: Examples per step (the trainer's default: 32).
        split: The split to train on.
    """
    return dsl.ContainerSpec(
        image=SME_IMAGE,
        command=['sme', 'train'],
        args=[
            '--model',
            base_model.path,
            '--examples',
            examples.path,
            '--out',
            model.path,
            '--run-dir',
            model_run.path,
            '--train-steps',
            train_steps,
            '--split',
            split,
            dsl.IfPresentPlaceholder(input_name='batch_size', then=['--batch-size', batch_size]),
        ],
    )


@dsl.container_component
def evaluate_model(
    model: Input[Model],
    examples: Input[Dataset],
    evaluation: Output[Artifact],
    blessing: Output[Artifact],
    baseline_model: Optional[Input[Model]] = None,
    threshold: Optional[str] = None,
    split: str = 'eval',
):
    """Runs the model's own eval graph (and the baseline's); writes metrics and a blessing.

    Args:
        model: The model to evaluate.
        examples: `Split-<name>/` folders of gzip TFRecords of tf.Example.
        evaluation: `metrics.json` and TFMA-readable metrics.
        blessing: `BLESSED` or `NOT_BLESSED`.
        baseline_model: A model to compare with, for `:change` thresholds.
        threshold: e.g. `metrics/accuracy>=0.6`, `loss<=1`, `loss:change<=0`.
        split: The split to evaluate on.
    """
    return dsl.ContainerSpec(
        image=SME_IMAGE,
        command=['sme', 'evaluate'],
        args=[
            '--model',
            model.path,
            '--examples',
            examples.path,
            '--out',
            evaluation.path,
            '--blessing-out',
            blessing.path,
            '--split',
            split,
            dsl.IfPresentPlaceholder(
                # At compile time an optional input is a placeholder, never None.
                input_name='baseline_model',
                then=['--baseline', baseline_model.path],  # type: ignore[union-attr]
            ),
            dsl.IfPresentPlaceholder(input_name='threshold', then=['--threshold', threshold]),
        ],
    )


@dsl.container_component
def batch_predict(
    model: Input[Model],
    examples: Input[Dataset],
    predictions: Output[Dataset],
    blessing: Optional[Input[Artifact]] = None,
    split: Optional[str] = None,
    output_format: str = 'jsonl',
    passthrough: Optional[str] = None,
):
    """Batch-predicts tf.Examples with the serving signature (Apache Beam, in the container).

    Args:
        model: The model to predict with.
        examples: `Split-<name>/` folders of gzip TFRecords of tf.Example.
        predictions: Rows under `rows/Split-<name>/`, or PredictionLog TFRecords.
        blessing: If given and `NOT_BLESSED`, nothing is predicted (the reason is recorded).
        split: The split to predict (default: all).
        output_format: jsonl, parquet or prediction_log.
        passthrough: A feature copied beside each prediction row (e.g. an id or the label).
    """
    return dsl.ContainerSpec(
        image=SME_IMAGE,
        command=['sme', 'predict'],
        args=[
            '--model',
            model.path,
            '--examples',
            examples.path,
            '--out',
            predictions.path,
            '--format',
            output_format,
            dsl.IfPresentPlaceholder(
                input_name='blessing',
                then=['--blessing', blessing.path],  # type: ignore[union-attr]
            ),
            dsl.IfPresentPlaceholder(input_name='split', then=['--split', split]),
            dsl.IfPresentPlaceholder(input_name='passthrough', then=['--passthrough', passthrough]),
        ],
    )
