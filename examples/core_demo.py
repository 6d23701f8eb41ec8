"""The core on a bundled Estimator export: evaluate, continue training, evaluate, predict, re-export.

The export is the DNNClassifier of the SavedModelEstimator documentation, exported by the real
tf.estimator (TensorFlow 2.15) with all three modes. Run: `make demo-core` (or
`.venv-legacy/bin/python examples/core_demo.py [OUTPUT_DIR]`, or any lane's environment).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import tensorflow as tf

from savedmodel_estimator import SavedModelEstimator
from savedmodel_estimator.export import (
    build_raw_serving_input_receiver_fn,
    build_raw_supervised_input_receiver_fn,
)

EXPORT = pathlib.Path(__file__).resolve().parent.parent / (
    'tests/data/estimator_exports/dnn_classifier_seed'
)
FEATURES = {
    'feature1': tf.io.FixedLenFeature([], tf.string),
    'feature2': tf.io.FixedLenFeature([], tf.float32),
}
LABEL = {'label': tf.io.FixedLenFeature([], tf.float32)}


def supervised_input_fn(split: str, repeat: bool):
    """All rows of a split as one batch of (features, label)."""

    def input_fn():
        records = tf.data.TFRecordDataset(str(EXPORT / 'data' / f'{split}.tfrecord'))
        dataset = records.batch(1_000_000).map(
            lambda r: tf.io.parse_example(r, {**FEATURES, **LABEL})
        )
        dataset = dataset.map(lambda row: ({k: row[k] for k in FEATURES}, row['label']))
        return dataset.repeat() if repeat else dataset

    return input_fn


def predict_input_fn():
    """The first three eval records, serialized, under the serving input key 'inputs'."""
    records = tf.data.TFRecordDataset(str(EXPORT / 'data' / 'eval.tfrecord')).take(3)
    return records.batch(3).map(lambda r: {'inputs': r})


def show_metrics(title: str, metrics: dict) -> None:
    print(f'\n{title}')
    for key in sorted(metrics):
        print(f'  {key:<32} {float(metrics[key]):.6f}')


def main(out_dir: str) -> None:
    started = time.monotonic()
    out = pathlib.Path(out_dir)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    print(f'TensorFlow {tf.__version__}; SavedModel: {EXPORT / "saved_model"}')

    est = SavedModelEstimator(str(EXPORT / 'saved_model'), model_dir=str(out / 'model_dir'))
    print(f'Modes in the export: {", ".join(est.available_modes)}')
    show_metrics(
        'Evaluate (the export as it came):', est.evaluate(supervised_input_fn('eval', False))
    )

    est.train(supervised_input_fn('train', True), steps=20)
    print(f'\nContinued training 20 steps; checkpoint: {est.latest_checkpoint()}')
    show_metrics('Evaluate (after training):', est.evaluate(supervised_input_fn('eval', False)))

    print('\nPredict (first 3 eval rows):')
    for i, prediction in enumerate(est.predict(predict_input_fn)):
        scores = ', '.join(f'{s:.4f}' for s in prediction['scores'])
        print(f'  row {i}: classes {[c.decode() for c in prediction["classes"]]} scores [{scores}]')

    supervised = build_raw_supervised_input_receiver_fn(
        {
            'feature1': tf.TensorSpec([None], tf.string),
            'feature2': tf.TensorSpec([None], tf.float32),
        },
        tf.TensorSpec([None], tf.float32),
    )
    export_dir = est.experimental_export_all_saved_models(
        str(out / 'export'),
        {
            'train': supervised,
            'eval': supervised,
            # The serving graph takes serialized tf.Examples under 'inputs', as exported.
            'infer': build_raw_serving_input_receiver_fn(
                {'inputs': tf.TensorSpec([None], tf.string)}
            ),
        },
    )
    reloaded = SavedModelEstimator(export_dir, model_dir=str(out / 'reloaded_model_dir'))
    again = reloaded.evaluate(supervised_input_fn('eval', False))
    first = next(reloaded.predict(predict_input_fn))
    print(f'\nRe-exported all modes to {export_dir.decode()}')
    print(
        f'  reloaded: modes {", ".join(reloaded.available_modes)}, '
        f'global_step {int(again["global_step"])}, loss {float(again["loss"]):.6f}, '
        f'row 0 scores {[round(float(s), 4) for s in first["scores"]]}'
    )
    print(f'\nDone in {time.monotonic() - started:.1f} s. Outputs under {out}/')


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'demo-output')
