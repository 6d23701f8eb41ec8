"""Lightweight Python components that show the stages' results in kfp's own artifact types.

The evaluator writes `metrics.json` and a `BLESSED` / `NOT_BLESSED` file; kfp's UI and its
`dsl.If` need `dsl.Metrics`, `dsl.ClassificationMetrics` and output parameters. These components
translate, with the standard library only: kfp copies each function's source into the container
and runs it there, so a function cannot use anything else from this module.

They run in the sme image, which already has kfp (2.16 in the latest lane's image, 2.5 in the
legacy one), so nothing is installed at run time.
The return annotation stays kfp's functional `NamedTuple('Outputs', [...])`: a class defined in
this module would not exist in the container's copy of the function.
"""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, ClassificationMetrics, Dataset, Input, Metrics, Output

from savedmodel_estimator_tfx.pipelines.kfp_native.components import SME_IMAGE


@dsl.component(base_image=SME_IMAGE, install_kfp_package=False)
def log_evaluation_metrics(
    evaluation: Input[Artifact], blessing: Input[Artifact], metrics: Output[Metrics]
) -> NamedTuple('Outputs', [('blessed', bool), ('reason', str)]):  # type: ignore[valid-type]
    """Logs the evaluator's scalar metrics into kfp Metrics; returns the blessing's verdict.

    Args:
        evaluation: The evaluator's output, with `metrics.json`.
        blessing: The evaluator's blessing, with a `BLESSED` or `NOT_BLESSED` file.
        metrics: The model's metrics by their names, the baseline's as `baseline/<name>`.
    """
    import collections
    import json
    import os

    report_path = os.path.join(evaluation.path, 'metrics.json')
    if not os.path.isfile(report_path):
        raise FileNotFoundError(
            f'Evaluation {evaluation.uri!r} has no metrics.json (found: '
            f'{sorted(os.listdir(evaluation.path)) if os.path.isdir(evaluation.path) else []}). '
            'Pass the evaluation output of evaluate_model.'
        )
    with open(report_path) as f:
        report = json.load(f)
    for prefix, key in (('', 'metrics'), ('baseline/', 'baseline_metrics')):
        for name, value in sorted(report.get(key, {}).items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                metrics.log_metric(prefix + name, value)

    verdicts = [
        name
        for name in ('BLESSED', 'NOT_BLESSED')
        if os.path.isfile(os.path.join(blessing.path, name))
    ]
    if len(verdicts) != 1:
        raise FileNotFoundError(
            f'Blessing {blessing.uri!r} should hold exactly one of BLESSED and NOT_BLESSED '
            f'(found: {verdicts or "neither"}). Pass the blessing output of evaluate_model.'
        )
    Outputs = collections.namedtuple('Outputs', ['blessed', 'reason'])
    return Outputs(verdicts == ['BLESSED'], str(report.get('reason', '')))


@dsl.component(base_image=SME_IMAGE, install_kfp_package=False)
def log_confusion_matrix(
    predictions: Input[Dataset], label_feature: str, metrics: Output[ClassificationMetrics]
):
    """Logs the confusion matrix of a classifier's prediction rows.

    Args:
        predictions: batch_predict's JSON-lines rows, with `label_feature` passed through.
        label_feature: The label's feature name.
        metrics: Rows: the label; columns: the class with the highest score.
    """
    import glob
    import json
    import os

    paths = sorted(glob.glob(os.path.join(predictions.path, 'rows', 'Split-*', '*.jsonl')))
    if not paths:
        raise FileNotFoundError(
            f'Predictions {predictions.uri!r} have no rows/Split-*/*.jsonl files. '
            "Run batch_predict with output_format='jsonl'."
        )
    categories: list = []
    counts: dict = {}
    for path in paths:
        with open(path) as f:
            for number, line in enumerate(f, 1):
                row = json.loads(line)
                missing = [k for k in (label_feature, 'classes', 'scores') if k not in row]
                if missing:
                    raise ValueError(
                        f'Prediction row {number} of {path!r} has no {missing} (found: '
                        f"{sorted(row)}). A confusion matrix needs a classifier's 'classes' and "
                        f"'scores' and the label: run batch_predict with passthrough={label_feature!r}."
                    )
                classes = [str(c) for c in row['classes']]
                categories = categories or classes
                predicted = classes[max(range(len(classes)), key=row['scores'].__getitem__)]
                label = row[label_feature]
                label = label[0] if isinstance(label, list) and len(label) == 1 else label
                label = int(label) if isinstance(label, float) and label.is_integer() else label
                if str(label) not in categories:
                    raise ValueError(
                        f'Label {label_feature}={label!r} in row {number} of {path!r} is not one '
                        f"of the model's classes {categories}."
                    )
                counts[str(label), predicted] = counts.get((str(label), predicted), 0) + 1
    metrics.log_confusion_matrix(
        categories, [[counts.get((a, p), 0) for p in categories] for a in categories]
    )
