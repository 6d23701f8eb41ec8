"""The native kfp pipeline: import -> train -> evaluate -> (if blessed) predict, and compile().

ExampleGen is not part of it: the examples come in through `dsl.importer` from `examples_uri`,
a directory of `Split-<name>/` folders of gzip TFRecords of tf.Example (what TFX's ExampleGen
writes), and the Estimator export through another from `saved_model_uri`.

    SME_IMAGE=REGION-docker.pkg.dev/PROJECT/REPO/sme:TAG \\
        python -m savedmodel_estimator_tfx.pipelines.kfp_native.pipeline --out pipeline.yaml

Golden copies beside this module, one per kfp release line the project tests (kfp renders the same
pipeline differently across releases), are compiled with the default image:

    env -u SME_IMAGE python -m savedmodel_estimator_tfx.pipelines.kfp_native.pipeline --golden
"""

import argparse
import pathlib

import kfp
from kfp import compiler, dsl

from savedmodel_estimator_tfx.pipelines.kfp_native import components
from savedmodel_estimator_tfx.pipelines.kfp_native.components import (
    batch_predict,
    continue_training,
    evaluate_model,
    import_model,
)
from savedmodel_estimator_tfx.pipelines.kfp_native.metrics import (
    log_confusion_matrix,
    log_evaluation_metrics,
)

PIPELINE_NAME = 'savedmodel-estimator'
GOLDEN_DIR = pathlib.Path(__file__).resolve().parent / 'golden'


def golden_path(kfp_version: str = kfp.__version__) -> pathlib.Path:
    """Where the golden copy for a kfp release line lives: `pipeline.kfp-<major>.<minor>.yaml`.

    The same pipeline compiles to a different spec across kfp releases: kfp 2.10 stopped copying
    Metrics and ClassificationMetrics outputs up to the pipeline's outputs
    (kubeflow/pipelines#11362), which kfp 2.5 does. Tasks, commands and images are the same.
    """
    major, minor = kfp_version.split('.')[:2]
    return GOLDEN_DIR / f'pipeline.kfp-{major}.{minor}.yaml'


@dsl.pipeline(name=PIPELINE_NAME)
def savedmodel_estimator_pipeline(
    saved_model_uri: str,
    examples_uri: str,
    train_steps: int = 100,
    batch_size: int = 32,
    threshold: str = 'loss:change<=0',
    predict_split: str = 'eval',
    label_feature: str = 'label',
    classifier: bool = True,
):
    """Continues training a tf.estimator export, evaluates it against itself, predicts if blessed.

    Args:
        saved_model_uri: The Estimator export (a SavedModel directory with a train MetaGraph).
        examples_uri: A directory of `Split-train/`, `Split-eval/` folders of gzip TFRecords.
        train_steps: Steps to train beyond the export's global step.
        batch_size: Training batch size.
        threshold: The blessing's condition on the evaluation, e.g. `metrics/accuracy>=0.7`.
        predict_split: The split to batch-predict.
        label_feature: The label, copied beside each prediction.
        classifier: Whether to log a confusion matrix of the predictions.
    """
    saved_model = dsl.importer(
        artifact_uri=saved_model_uri, artifact_class=dsl.Model, reimport=False
    ).set_display_name('saved-model')
    examples = dsl.importer(
        artifact_uri=examples_uri, artifact_class=dsl.Dataset, reimport=False
    ).set_display_name('examples')

    imported = import_model(saved_model=saved_model.output)
    trained = continue_training(
        base_model=imported.outputs['model'],
        examples=examples.output,
        train_steps=train_steps,
        batch_size=batch_size,
    )
    evaluated = evaluate_model(
        model=trained.outputs['model'],
        baseline_model=imported.outputs['model'],
        examples=examples.output,
        threshold=threshold,
    )
    summary = log_evaluation_metrics(
        evaluation=evaluated.outputs['evaluation'], blessing=evaluated.outputs['blessing']
    )
    with dsl.If(summary.outputs['blessed'] == True, name='blessed'):  # noqa: E712
        predicted = batch_predict(
            model=trained.outputs['model'],
            examples=examples.output,
            blessing=evaluated.outputs['blessing'],
            split=predict_split,
            passthrough=label_feature,
        )
        with dsl.If(classifier == True, name='classifier'):  # noqa: E712
            log_confusion_matrix(
                predictions=predicted.outputs['predictions'], label_feature=label_feature
            )


def compile(out: str | pathlib.Path) -> pathlib.Path:
    """Compiles the pipeline to a kfp v2 PipelineSpec at `out`; returns its path.

    YAML, or JSON if `out` ends in `.json`. The containers' image is `components.SME_IMAGE` (from
    the SME_IMAGE environment variable when the components were imported).
    """
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(savedmodel_estimator_pipeline, str(out))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog='python -m savedmodel_estimator_tfx.pipelines.kfp_native.pipeline',
        description='Compile the native kfp pipeline. The image comes from SME_IMAGE.',
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument('--out', help='Where to write the pipeline YAML (or JSON, by its suffix).')
    where.add_argument(
        '--golden',
        action='store_true',
        help=f'Write the golden copy for the installed kfp {kfp.__version__} (default image).',
    )
    args = parser.parse_args(argv)
    image, default = components.SME_IMAGE, components.DEFAULT_IMAGE
    if args.golden and image != default:
        parser.error(f'--golden uses the image {default!r}; unset SME_IMAGE (now {image!r}).')
    path = compile(golden_path() if args.golden else args.out)
    print(f'{path} (image: {components.SME_IMAGE}, kfp {kfp.__version__})')


if __name__ == '__main__':
    main()
